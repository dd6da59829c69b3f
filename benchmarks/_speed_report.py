"""The report of ``bench_speed.py``: summary per method, ratio rows, targets, text."""

import json
import statistics

#: Targets (upper bounds on ratios).
TARGETS = {
    "fit_vs_plain": 0.6,
    "fit_vs_notebook": 0.5,
    "fit_vs_torch": 0.8,
    "fit_vs_floor": 1.3,
    "predict_vs_one_model": 2.1,
}


def median(xs):
    return statistics.median(xs) if xs else float("nan")


def steady_epoch_time(epochs_list, n_epochs):
    """Mean time of epochs 2..E of one fit (all sub-fits summed); None if E == 1."""
    if n_epochs < 2:
        return None
    return sum(sum(d[1:]) for d in epochs_list) / (n_epochs - 1)


def summarise(results, s):
    """Per-case summary and the ratio rows."""
    cases = results["cases"]
    summary = {}
    for n, r in cases.items():
        E = r["spec"]["epochs"]
        steady = [steady_epoch_time(e, E) for e in r["epochs_warm"]]
        steady = [x for x in steady if x is not None]
        summary[n] = {
            "median": median(r["warm"]) if r["warm"] else r["cold"],
            "min": min(r["warm"]) if r["warm"] else r["cold"],
            "cold": r["cold"],
            "n": len(r["warm"]),
            "steady_epoch": median(steady) if steady else None,
            "accuracy": r.get("accuracy"),
        }
    rows = []

    def row(key, label, num, den, target=None, unit="s", note=""):
        ratio = num / den if (num is not None and den) else None
        status = "info"
        if target is not None and ratio is not None:
            status = "PASS" if ratio <= target else "FAIL"
        rows.append({"id": key, "label": label, "library": num, "baseline": den,
                     "ratio": ratio, "target": target, "status": status, "unit": unit,
                     "note": note})

    def has(n):
        return n in summary

    lib_names = {tag: [n for n in cases if n.startswith(tag + ".lib16")] for tag in ("mlp", "cnn")}
    for tag, label in (("mlp", "MLP 60k"), ("cnn", "CNN 1k")):
        if s["quick"]:
            label = {"mlp": f"MLP {s['mlp_n_train']}", "cnn": f"CNN {s['cnn_n_train']}"}[tag]
        sec = "1a" if tag == "mlp" else "1b"
        for lib in lib_names[tag]:
            st = lib[len(tag) + 6:] or ""
            if has(f"{tag}.plain"):
                row(f"{sec}.fit_vs_plain{st}", f"{label} fit {lib[len(tag)+1:]} / 2 plain fits",
                    summary[lib]["median"], summary[f"{tag}.plain"]["median"],
                    TARGETS["fit_vs_plain"])
        if has(f"{tag}.lib1") and has(f"{tag}.plain"):
            row(f"{sec}.spe1_vs_plain", f"{label} fit lib1 / 2 plain fits",
                summary[f"{tag}.lib1"]["median"], summary[f"{tag}.plain"]["median"])
        if has(f"{tag}.lib1") and has(f"{tag}.lib16"):
            row(f"{sec}.spe16_vs_spe1", f"{label} fit lib16 / lib1 (steps_per_execution)",
                summary[f"{tag}.lib16"]["median"], summary[f"{tag}.lib1"]["median"])
        if has(f"{tag}.lib16") and has(f"{tag}.plain"):
            row(f"{sec}.cold_vs_plain", f"{label} COLD fit lib16 / plain (1st in process)",
                summary[f"{tag}.lib16"]["cold"], summary[f"{tag}.plain"]["cold"])
            a, b = summary[f"{tag}.lib16"]["steady_epoch"], summary[f"{tag}.plain"]["steady_epoch"]
            if a and b:
                row(f"{sec}.steady_vs_plain", f"{label} epochs>=2 lib16 / plain (per epoch)", a, b)
    for tag, label in (("mlp", "MLP"), ("cnn", "CNN")):
        for lib in lib_names[tag]:
            st = lib[len(tag) + 6:] or ""
            if has(f"{tag}.notebook"):
                first = summary[f"{tag}.notebook"]["n"] == 0 and s["repeats"] > 0
                row(f"2.{tag}_fit_vs_notebook{st}", f"{label} fit {lib[len(tag)+1:]} / notebook loop",
                    summary[lib]["median"], summary[f"{tag}.notebook"]["median"],
                    TARGETS["fit_vs_notebook"],
                    note="notebook timed by its first fit only" if first else "")
        a = summary.get(f"{tag}.lib16", {}).get("steady_epoch")
        b = summary.get(f"{tag}.notebook", {}).get("steady_epoch")
        if a and b:
            row(f"2.{tag}_steady_vs_notebook", f"{label} epochs>=2 lib16 / notebook", a, b)
    for lib in lib_names["mlp"]:
        st = lib[9:] or ""
        if has("mlp.torch"):
            row(f"3.fit_vs_torch{st}", f"MLP fit {lib[4:]} / PyTorch loop",
                summary[lib]["median"], summary["mlp.torch"]["median"], TARGETS["fit_vs_torch"])
    a = summary.get("mlp.lib16", {}).get("steady_epoch")
    b = summary.get("mlp.torch", {}).get("steady_epoch")
    if a and b:
        row("3.steady_vs_torch", "MLP epochs>=2 lib16 / PyTorch loop", a, b)
    p = results.get("predict")
    if p and p.get("lib"):
        row("4.predict", f"predict_proba / 1 peer predict ({p['n']} rows)",
            median(p["lib"]), median(p["one_model"]), TARGETS["predict_vs_one_model"])
    rss = results.get("rss")
    if rss:
        def kb(k):
            return rss[k]["wait4_kb"] or rss[k]["self_kb"]

        row("5.rss_peak", "peak RSS lib fit / plain fits (MiB)", kb("lib") / 1024,
            kb("plain") / 1024, unit="MiB")
        row("5.rss_increment", "RSS above import+data baseline (MiB)",
            (kb("lib") - kb("baseline")) / 1024, (kb("plain") - kb("baseline")) / 1024, unit="MiB",
            note=f"baseline {kb('baseline') / 1024:.0f} MiB")
    imp = results.get("imports")
    if imp:
        tf_loaded = any(r["tensorflow"] or r["keras"] for r in imp["skcoteach"])
        row("6.import", "import skcoteach / import sklearn",
            median([r["s"] for r in imp["skcoteach"]]), median([r["s"] for r in imp["sklearn"]]),
            note="TensorFlow/Keras imported: " + ("YES (FAIL)" if tf_loaded else "no (PASS)"))
        rows[-1]["status"] = "FAIL" if tf_loaded else "info"
    mm = results.get("matmul")
    if mm and has("mlp.lib16"):
        rate = median([r for m in mm for r in m["rates"]])
        n, E = s["mlp_n_train"], s["mlp_epochs"]
        from _speed_baselines import mlp_forward_flops, mlp_training_flops

        flops = 2 * n * E * mlp_training_flops()
        floor = flops / rate
        flops_3x = 3 * 2 * n * E * mlp_forward_flops()  # the "3 x forward" convention
        results["floor"] = {"flops": flops, "rate_median": rate,
                            "rate_max": max(r for m in mm for r in m["rates"]),
                            "floor_s": floor, "flops_3x_forward": flops_3x}
        for lib in lib_names["mlp"]:
            st = lib[9:] or ""
            row(f"7.fit_vs_floor{st}", f"MLP fit {lib[4:]} / compute floor",
                summary[lib]["median"], floor, TARGETS["fit_vs_floor"],
                note=f"{flops / 1e9:.0f} GFLOP at {rate / 1e9:.1f} GFLOP/s")
        row("7.fit_vs_floor_3xfwd", "MLP fit lib16 / floor with 3 x forward FLOPs",
            summary["mlp.lib16"]["median"], flops_3x / rate,
            note=f"{flops_3x / 1e9:.0f} GFLOP: counts the input gradient, never computed")
        a = summary["mlp.lib16"]["steady_epoch"]
        if a:
            row("7.steady_vs_floor", "MLP epochs>=2 lib16 / floor per epoch", a, floor / E)
        lib = cases["mlp.lib16"]
        fixed = (  # set-up of each warm fit: the fit minus E steady epochs
            [t - E * steady_epoch_time(e, E) for t, e in zip(lib["warm"], lib["epochs_warm"])]
            if E > 1 else []
        )
        if fixed:
            row("7.setup_share", "MLP lib16: set-up (fit - E x epoch>=2) / fit",
                median(fixed), summary["mlp.lib16"]["median"],
                note="building, data copy, tracing; the floor ratio without it = steady_vs_floor")
        for base in ("mlp.tfloop", "mlp.plain", "mlp.torch"):
            if has(base):
                row(f"7.{base[4:]}_vs_floor", f"MLP fit {base[4:]} / compute floor",
                    summary[base]["median"], floor)
        t = summary.get("mlp.tfloop", {}).get("steady_epoch")
        if t:
            row("7.tfloop_steady_vs_floor", "MLP epochs>=2 tfloop / floor per epoch", t,
                floor / E)
        if has("mlp.tfloop"):
            row("7.fit_vs_tfloop", "MLP fit lib16 / plain-TensorFlow loop",
                summary["mlp.lib16"]["median"], summary["mlp.tfloop"]["median"],
                note="what the library adds to the bare training")
            if a and t:
                row("7.steady_vs_tfloop", "MLP epochs>=2 lib16 / plain-TensorFlow loop", a, t)
    return summary, rows


def fmt_val(v, unit):
    if v is None:
        return "-"
    if unit == "s":
        return f"{v:.3f} s" if v < 10 else f"{v:.2f} s"
    return f"{v:.0f} {unit}"


def format_report(results, s, summary, rows):
    lines = []
    m = results["machine"]
    lines.append(
        f"Machine: {m['usable_cpus']} CPUs ({m['cpu_model']}), {m['tensorflow']}, keras "
        f"{m['keras']}, torch {m['torch']}, numpy {m['numpy']}, scikit-learn "
        f"{m['scikit-learn']}; load average at start "
        f"{', '.join(f'{x:.1f}' for x in m['loadavg_start'])}, end "
        f"{', '.join(f'{x:.1f}' for x in results['loadavg_end'])}"
    )
    lines.append(
        f"MLP: {s['mlp_n_train']} samples, batch {s['mlp_batch']}, {s['mlp_epochs']} epochs; "
        f"CNN (notebook's): {s['cnn_n_train']} samples, batch {s['cnn_batch']}, "
        f"{s['cnn_epochs']} epochs; tau={s['tau']}, Tk={s['Tk']}, c={s['c']}; "
        f"{s['repeats']} warm fits per method (median), torch threads {s['threads']} "
        f"(OMP_WAIT_POLICY {s['torch_omp_wait_policy']})"
    )
    env = m.get("tf_threads_env") or {}
    lines.append(
        "TensorFlow threads: "
        + ", ".join(f"{k}={v}" for k, v in env.items() if v is not None)
        if any(v is not None for v in env.values())
        else "TensorFlow threads: TensorFlow's defaults (TF_NUM_INTRAOP_THREADS / "
        "TF_NUM_INTEROP_THREADS unset)"
    )
    if not s["repeats"]:
        lines.append("No warm fits (--repeats 0): every ratio below uses the first fit of each "
                     "method, tracing included.")
    lines.append("")
    lines.append(f"{'method':<26} {'warm median':>12} {'warm min':>10} {'n':>2} {'cold':>10} "
                 f"{'epoch>=2':>10} {'test acc':>9}")
    for n, v in summary.items():
        lines.append(
            f"{n:<26} {fmt_val(v['median'], 's'):>12} {fmt_val(v['min'], 's'):>10} {v['n']:>2} "
            f"{fmt_val(v['cold'], 's'):>10} {fmt_val(v['steady_epoch'], 's'):>10} "
            f"{'-' if v['accuracy'] is None else format(v['accuracy'], '.3f'):>9}"
        )
    lines.append("")
    lines.append("(n = warm fits; with n = 0 the median and min are the cold first fit)")
    lines.append("")
    header = (f"{'#':<22} {'measurement':<48} {'library':>10} {'baseline':>10} "
              f"{'ratio':>7} {'target':>8} {'status':>6}")
    lines.append(header)
    lines.append("-" * len(header))
    for r in rows:
        tgt = f"<={r['target']:.2f}x" if r["target"] is not None else ""
        ratio = f"{r['ratio']:.2f}x" if r["ratio"] is not None else "-"
        lines.append(
            f"{r['id']:<22} {r['label']:<48} {fmt_val(r['library'], r['unit']):>10} "
            f"{fmt_val(r['baseline'], r['unit']):>10} {ratio:>7} {tgt:>8} {r['status']:>6}"
            + (f"  ({r['note']})" if r["note"] else "")
        )
    for msg in results["skipped"]:
        lines.append(f"SKIPPED: {msg}")
    for name, msg in results["failed"].items():
        lines.append(f"FAILED: {name}: {msg.strip().splitlines()[-1] if msg.strip() else msg}")
    return "\n".join(lines)



def report_again(path):
    """Summarise a saved run again (e.g. after a new derived row) and print its report."""
    results = json.loads(path.read_text())
    s = results["settings"]
    summary, rows = summarise(results, s)
    results["summary"], results["ratios"] = summary, rows
    results["report"] = format_report(results, s, summary, rows)
    path.write_text(json.dumps(results, indent=1, default=str))
    print(results["report"])
    return 0

