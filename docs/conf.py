"""Sphinx configuration of the skcoteach documentation.

Build (warnings are errors, the gallery examples are executed)::

    python -m sphinx -W --keep-going -b html docs docs/_build/html

Set ``SKCOTEACH_GALLERY=0`` to build without running the examples (the
gallery pages then show code only), e.g. while writing prose.
"""

import os
import sys
from pathlib import Path

# Before anything imports TensorFlow: silence its C++ start-up chatter, and run
# the examples on the CPU-only TensorFlow backend of Keras.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")

import matplotlib

matplotlib.use("Agg")

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE / "_ext"))
sys.path.insert(0, str(ROOT))
# The user guide draws a figure from recorded results with experiments/defaults.py.
sys.path.append(str(ROOT / "experiments"))

import sg_utils

import skcoteach

# The examples run inside this process: keep TensorFlow's "N out of the last M
# calls ... triggered tf.function retracing" notes (one per new model after the
# fifth fit, e.g. in a grid search) out of their rendered output.  Nothing else
# is filtered.
sg_utils.quiet_tensorflow_retracing()

# -- Project -----------------------------------------------------------------
project = "skcoteach"
author = "The skcoteach developers"
copyright = "The skcoteach developers"
release = skcoteach.__version__
version = ".".join(release.split(".")[:2])

# -- General -----------------------------------------------------------------
extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
    "matplotlib.sphinxext.plot_directive",
    "myst_parser",  # Markdown pages and includes: the recorded results of experiments/
]
templates_path = ["_templates"]
exclude_patterns = ["_build", "**.ipynb_checkpoints", "README.md"]
root_doc = "index"
default_role = "literal"  # `x` renders as code, never as a broken reference
# Without intersphinx (offline builds) keras/numpy names stay unresolved.
nitpicky = False
# No intersphinx: builds must work offline.

# -- autodoc / autosummary / numpydoc ------------------------------------------
autosummary_generate = True
autosummary_imported_members = False
autosummary_ignore_module_all = False  # module pages list exactly __all__
autodoc_typehints = "none"
autodoc_member_order = "bysource"
numpydoc_show_class_members = False  # the class template lists the methods
numpydoc_show_inherited_class_members = False
numpydoc_class_members_toctree = False
numpydoc_attributes_as_param_list = True
numpydoc_xref_param_type = False

# Workarounds for two docstring problems of the library, reported upstream;
# both become no-ops once the docstrings are fixed.
#
# 1. skcoteach/noise.py (module docstring, lines 20-25) defines the citations
#    ``.. [1]`` and ``.. [2]`` but never cites them, so docutils reports
#    "Citation [R...-1] is not referenced" (ref.citation).  Only that warning
#    type is silenced.
suppress_warnings = ["ref.citation"]


# 2. skcoteach/schedules.py:81, the summary line of forget_rate_schedule,
#    "Forget rate of every epoch ``0 .. n_epochs - 1``.": autosummary cuts the
#    summary at the first ". ", inside the literal, which leaves an unclosed
#    ``...`` in the API table ("Inline literal start-string without
#    end-string").  The literal is rewritten without the ". ".
def _fix_summary_lines(app, what, name, obj, options, lines):
    if name.endswith("forget_rate_schedule"):
        lines[:] = [
            line.replace("``0 .. n_epochs - 1``", "0 to ``n_epochs - 1``")
            for line in lines
        ]


def setup(app):
    app.connect("autodoc-process-docstring", _fix_summary_lines)


# -- Matplotlib plot directive -----------------------------------------------
plot_include_source = True
plot_html_show_source_link = False
plot_html_show_formats = False
plot_formats = [("png", 110)]
plot_pre_code = "import numpy as np\nimport matplotlib.pyplot as plt\n"

# -- Gallery -----------------------------------------------------------------
run_gallery = os.environ.get("SKCOTEACH_GALLERY", "1").lower() not in (
    "0",
    "false",
    "no",
)
sphinx_gallery_conf = {
    "examples_dirs": ["../examples"],
    "gallery_dirs": ["auto_examples"],
    "filename_pattern": r"/plot_",
    "plot_gallery": "True" if run_gallery else "False",
    "within_subsection_order": "sg_utils.ExampleOrder",
    "backreferences_dir": "gen_modules/backreferences",
    "doc_module": ("skcoteach",),
    # Each example starts from fresh matplotlib settings and an empty Keras
    # session (names of functions, not functions: the config must pickle).
    "reset_modules": ("matplotlib", "sg_utils.reset_keras"),
    "remove_config_comments": True,
    "min_reported_time": 0,
    "show_memory": False,
    "download_all_examples": False,
    "matplotlib_animations": False,
    "image_srcset": [],
    "capture_repr": ("_repr_html_", "__repr__"),
}

# -- HTML --------------------------------------------------------------------
html_theme = "pydata_sphinx_theme"
html_title = f"skcoteach {release}"
html_static_path = ["_static"]
html_css_files = ["custom.css"]
html_theme_options = {
    "navbar_align": "left",
    "show_toc_level": 2,
    "navigation_with_keys": False,
    "secondary_sidebar_items": ["page-toc", "sourcelink"],
    "footer_start": ["copyright"],
    "footer_end": ["sphinx-version"],
}
html_sidebars = {"index": [], "benchmarks": [], "getting_started": []}
html_show_sourcelink = True
html_copy_source = True
