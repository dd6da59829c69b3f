"""``markdown-include``: insert Markdown files (e.g. benchmark results) into a page.

The benchmark scripts write their reports in Markdown.  This small directive
renders the Markdown that such reports use -- headings, paragraphs, bullet and
numbered lists, pipe tables, fenced code, block quotes, images, inline code,
emphasis and links -- directly as docutils nodes, without going through
reStructuredText, so that no character of a report can trigger a Sphinx
warning.  Files that do not exist are skipped silently: the page says so with
the ``:missing:`` text instead.

Usage::

    .. markdown-include:: ../benchmarks/results/*.md
       :missing: No results have been recorded yet.
       :heading-offset: 1
       :caption-files:

``image-glob`` shows the images matching glob patterns, each captioned with
its path, e.g. the plots a report wrote next to its tables.

Paths and glob patterns are relative to the document; several may be given,
separated by spaces, and are included in that order (each pattern's matches
sorted by name).  Headings become rubrics (``#`` -> the largest);
``:heading-offset:`` shifts their level.  ``:caption-files:`` puts the
file's path above its content.  ``:exclude:`` lists file names to leave out.
"""

import glob
import os
import re
from typing import ClassVar

from docutils import nodes
from docutils.parsers.rst import Directive, directives

__all__ = ["ImageGlob", "MarkdownInclude", "markdown_to_nodes", "setup"]

_INLINE = re.compile(
    r"(?P<code>`+)(?P<code_text>.+?)(?P=code)"
    r"|!\[(?P<img_alt>[^\]]*)\]\((?P<img_src>[^)\s]+)(?:\s+\"[^\"]*\")?\)"
    r"|\[(?P<link_text>[^\]]+)\]\((?P<link_url>[^)\s]+)(?:\s+\"[^\"]*\")?\)"
    r"|<(?P<auto>https?://[^>\s]+)>"
    r"|(?P<bare>https?://[^\s<>()\]]+[^\s<>()\].,;:!?'\"])"
    r"|\*\*(?P<strong>[^*\s](?:.*?[^*\s])?)\*\*"
    r"|__(?P<strong2>[^_\s](?:.*?[^_\s])?)__"
    r"|(?<![\w*])\*(?P<em>[^*\s](?:[^*]*?[^*\s])?)\*(?![\w*])"
    r"|(?<![\w_])_(?P<em2>[^_\s](?:[^_]*?[^_\s])?)_(?![\w_])"
)
_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
_FENCE = re.compile(r"^(\s*)(`{3,}|~{3,})\s*([\w+-]*)")
_BULLET = re.compile(r"^(\s*)[-*+]\s+(.*)$")
_ORDERED = re.compile(r"^(\s*)\d+[.)]\s+(.*)$")
_TABLE_SEP = re.compile(r"^\s*\|?\s*:?-{2,}:?\s*(\|\s*:?-{2,}:?\s*)*\|?\s*$")
_RULE = re.compile(r"^\s*([-*_])(\s*\1){2,}\s*$")
_COMMENT = re.compile(r"<!--.*?-->", re.DOTALL)


def _inline(text, image_uri):
    """Docutils inline nodes of one Markdown paragraph / cell."""
    out, pos = [], 0
    for m in _INLINE.finditer(text):
        if m.start() > pos:
            out.append(nodes.Text(text[pos : m.start()]))
        pos = m.end()
        if m.group("code"):
            out.append(nodes.literal(text=m.group("code_text").strip()))
        elif m.group("img_src") is not None:
            out.append(
                nodes.image(
                    uri=image_uri(m.group("img_src")), alt=m.group("img_alt") or ""
                )
            )
        elif m.group("link_text") is not None:
            url = m.group("link_url")
            ref = nodes.reference("", "", refuri=url)
            ref.extend(_inline(m.group("link_text"), image_uri))
            out.append(ref)
        elif m.group("auto") or m.group("bare"):
            url = m.group("auto") or m.group("bare")
            out.append(nodes.reference(url, url, refuri=url))
        elif m.group("strong") or m.group("strong2"):
            node = nodes.strong()
            node.extend(_inline(m.group("strong") or m.group("strong2"), image_uri))
            out.append(node)
        else:
            node = nodes.emphasis()
            node.extend(_inline(m.group("em") or m.group("em2"), image_uri))
            out.append(node)
    if pos < len(text):
        out.append(nodes.Text(text[pos:]))
    return out


def _paragraph(lines, image_uri):
    text = " ".join(line.strip() for line in lines)
    para = nodes.paragraph()
    para.extend(_inline(text, image_uri))
    # A paragraph made of one image only: a figure-like block image.
    if len(para.children) == 1 and isinstance(para.children[0], nodes.image):
        return para.children[0].deepcopy()
    return para


def _split_row(line):
    line = line.strip().removeprefix("|")
    if line.endswith("|") and not line.endswith("\\|"):
        line = line[:-1]
    cells = re.split(r"(?<!\\)\|", line)
    return [cell.strip().replace("\\|", "|") for cell in cells]


def _table(header, rows, image_uri):
    n_cols = max(len(header), *(len(r) for r in rows)) if rows else len(header)
    table = nodes.table(classes=["markdown-table"])
    group = nodes.tgroup(cols=n_cols)
    table += group
    for _ in range(n_cols):
        group += nodes.colspec(colwidth=1)

    def make_row(cells):
        row = nodes.row()
        for i in range(n_cols):
            entry = nodes.entry()
            para = nodes.paragraph()
            para.extend(_inline(cells[i] if i < len(cells) else "", image_uri))
            entry += para
            row += entry
        return row

    head = nodes.thead()
    head += make_row(header)
    group += head
    body = nodes.tbody()
    for cells in rows:
        body += make_row(cells)
    group += body
    return table


def markdown_to_nodes(text, image_uri=lambda uri: uri, heading_offset=0):
    """Parse a Markdown document into a list of docutils block nodes.

    Parameters
    ----------
    text : str
        Markdown source.
    image_uri : callable
        Maps an image path as written in the Markdown to the URI to use.
    heading_offset : int
        Added to the heading level (``#`` is level 1).

    Returns
    -------
    list of docutils.nodes.Node
    """
    lines = _COMMENT.sub("", text).splitlines()
    result, i, n = [], 0, len(lines)
    while i < n:
        line = lines[i]
        if not line.strip() or (_RULE.match(line) and "|" not in line):  # blank / rule
            i += 1
            continue
        fence = _FENCE.match(line)
        if fence:
            marker, language = fence.group(2), fence.group(3)
            body, i = [], i + 1
            while i < n and not lines[i].strip().startswith(marker[0] * len(marker)):
                body.append(lines[i])
                i += 1
            i += 1  # closing fence
            code = "\n".join(body)
            block = nodes.literal_block(code, code)
            if language:
                block["language"] = language
            result.append(block)
            continue
        heading = _HEADING.match(line)
        if heading:
            level = min(6, len(heading.group(1)) + heading_offset)
            rubric = nodes.rubric(classes=[f"markdown-h{level}"])
            rubric.extend(_inline(heading.group(2), image_uri))
            result.append(rubric)
            i += 1
            continue
        if "|" in line and i + 1 < n and _TABLE_SEP.match(lines[i + 1]):
            header, rows, i = _split_row(line), [], i + 2
            while i < n and lines[i].strip() and "|" in lines[i]:
                rows.append(_split_row(lines[i]))
                i += 1
            result.append(_table(header, rows, image_uri))
            continue
        if line.lstrip().startswith(">"):
            quoted = []
            while i < n and lines[i].lstrip().startswith(">"):
                quoted.append(lines[i].lstrip()[1:].removeprefix(" "))
                i += 1
            quote = nodes.block_quote()
            quote.extend(
                markdown_to_nodes("\n".join(quoted), image_uri, heading_offset)
            )
            result.append(quote)
            continue
        bullet, ordered = _BULLET.match(line), _ORDERED.match(line)
        if bullet or ordered:
            pattern = _BULLET if bullet else _ORDERED
            lst = nodes.bullet_list(bullet="-") if bullet else nodes.enumerated_list()
            if ordered:
                lst["enumtype"] = "arabic"
                lst["prefix"] = ""
                lst["suffix"] = "."
            items = []
            while i < n and lines[i].strip():
                m = pattern.match(lines[i])
                if m:
                    items.append([m.group(2)])
                elif items and (
                    lines[i].startswith((" ", "\t")) or not _starts_block(lines[i])
                ):
                    items[-1].append(lines[i])
                else:
                    break
                i += 1
            for item_lines in items:
                item = nodes.list_item()
                item += _paragraph(item_lines, image_uri)
                lst += item
            result.append(lst)
            continue
        para_lines = []
        while i < n and lines[i].strip() and not _starts_block(lines[i]):
            if (
                para_lines
                and "|" in lines[i]
                and i + 1 < n
                and _TABLE_SEP.match(lines[i + 1])
            ):
                break
            para_lines.append(lines[i])
            i += 1
        if not para_lines:  # a line that looks like a block start but is not one
            para_lines, i = [lines[i]], i + 1
        result.append(_paragraph(para_lines, image_uri))
    return result


def _starts_block(line):
    return bool(
        _FENCE.match(line)
        or _HEADING.match(line)
        or _BULLET.match(line)
        or _ORDERED.match(line)
        or line.lstrip().startswith(">")
    )


class MarkdownInclude(Directive):
    """Include the Markdown files matching one or more glob patterns."""

    required_arguments = 1
    optional_arguments = 20
    final_argument_whitespace = False
    option_spec: ClassVar[dict] = {
        "missing": directives.unchanged,
        "heading-offset": directives.nonnegative_int,
        "caption-files": directives.flag,
        "exclude": directives.unchanged,
    }
    has_content = False

    def run(self):
        env = self.state.document.settings.env
        doc_dir = os.path.dirname(env.doc2path(env.docname))
        excluded = set((self.options.get("exclude") or "").split())
        files = []
        for pattern in self.arguments:
            for path in sorted(glob.glob(os.path.join(doc_dir, pattern))):
                keep = os.path.isfile(path) and os.path.basename(path) not in excluded
                if keep and path not in files:
                    files.append(path)
        if not files:
            text = self.options.get("missing")
            if not text:
                return []
            para = nodes.paragraph()
            para.extend(_inline(text, lambda uri: uri))
            return [nodes.note("", para)]

        result = []
        for path in files:
            env.note_dependency(path)
            with open(path, encoding="utf-8") as fh:
                source = fh.read()
            base = os.path.dirname(path)

            def image_uri(uri, base=base):
                if re.match(r"^[a-z]+://", uri):
                    return uri
                return os.path.relpath(os.path.join(base, uri), doc_dir)

            if "caption-files" in self.options:
                caption = nodes.paragraph(classes=["markdown-source"])
                caption += nodes.Text("From ")
                caption += nodes.literal(
                    text=os.path.relpath(path, os.path.dirname(doc_dir))
                )
                caption += nodes.Text(":")
                result.append(caption)
            result.extend(
                markdown_to_nodes(
                    source, image_uri, self.options.get("heading-offset", 0)
                )
            )
        return result


class ImageGlob(Directive):
    """Show every image matching glob patterns (e.g. plots written by a script).

    Each image gets its file name as caption.  Nothing is shown, and nothing
    is reported, when no file matches.
    """

    required_arguments = 1
    optional_arguments = 20
    option_spec: ClassVar[dict] = {"width": directives.unchanged}
    has_content = False

    def run(self):
        env = self.state.document.settings.env
        doc_dir = os.path.dirname(env.doc2path(env.docname))
        result = []
        for pattern in self.arguments:
            for path in sorted(glob.glob(os.path.join(doc_dir, pattern))):
                if not os.path.isfile(path):
                    continue
                env.note_dependency(path)
                figure = nodes.figure()
                image = nodes.image(
                    uri=os.path.relpath(path, doc_dir), alt=os.path.basename(path)
                )
                if "width" in self.options:
                    image["width"] = self.options["width"]
                figure += image
                figure += nodes.caption(
                    text=os.path.relpath(path, os.path.dirname(doc_dir))
                )
                result.append(figure)
        return result


def setup(app):
    app.add_directive("markdown-include", MarkdownInclude)
    app.add_directive("image-glob", ImageGlob)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
