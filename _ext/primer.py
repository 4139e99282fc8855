"""The book's own Sphinx extension: guards that configuration alone cannot give.

- A chapter with code cells but no jupytext notebook header would silently not be executed:
  it is an error here, naming the file.
- ``{youtube}``: a video that loads nothing from YouTube until the reader clicks (a local
  placeholder, then a privacy-enhanced youtube-nocookie.com player); in the PDF, a link.
- Math is rendered to MathML when the book is built (latex2mathml), so pages need no MathJax
  and fetch nothing from a CDN; browsers render MathML natively.
- Each chapter says which PyTorch version it was executed with, and can be downloaded as a
  Jupyter notebook (generated with jupytext when the site is built; all of them, with the data
  files they read, also as one zip). When the PDF has been built, every page links to it.
- A chapter whose outputs tools/execute.py replaced because a file it reads changed (its code
  did not, so its source is unchanged) is re-read, so the page shows the new outputs.
- In the PDF, cells tagged ``hide-input`` (code that draws a figure the lesson is not about)
  print their output only: paper cannot fold code away, as the web page does.
- MyST-NB writes execution tracebacks to <outdir>/reports/; they hold local paths and must
  never be published, so they are moved out of the HTML output.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

from docutils import nodes
from docutils.parsers.rst import directives
from sphinx.application import Sphinx
from sphinx.transforms.post_transforms import SphinxPostTransform
from sphinx.util import logging
from sphinx.util.docutils import SphinxDirective

NOTEBOOKS = "notebooks"  # folder of the site that holds the downloadable notebooks
PDF_NAME = "pytorch-primer.pdf"

logger = logging.getLogger(__name__)

CODE_CELL = re.compile(r"^[`:]{3,}\s*\{code-cell\}", re.MULTILINE)
FRONT_MATTER = re.compile(r"\A---\n(.*?)\n---\n", re.DOTALL)


def kernel_environment(root: Path, threads: int | None = None) -> dict[str, str]:
    """Environment for the kernels that execute the book (set by conf.py and tools/execute.py)."""
    env = {
        "IPYTHONDIR": str(root / "_ext" / "ipython"),  # figure formats (profile_default)
        "SOURCE_DATE_EPOCH": "0",  # no dates inside figures
        "PYTHONHASHSEED": "0",
    }
    if threads:  # two kernels on two cores: one thread each, not two each
        env.update(OMP_NUM_THREADS=str(threads), MKL_NUM_THREADS=str(threads))
    return env


def missing_notebook_header(text: str) -> bool:
    """True when a MyST file has code cells but no jupytext `format_name: myst` header."""
    if not CODE_CELL.search(text):
        return False
    front = FRONT_MATTER.match(text)
    if front is None:
        return True
    head = front.group(1)
    return not (re.search(r"format_name:\s*myst", head) and "kernelspec:" in head)


def check_notebook_header(app: Sphinx, docname: str, source: list[str]) -> None:
    if missing_notebook_header(source[0]):
        logger.warning(
            "this page has {code-cell} cells but no jupytext front matter "
            "(jupytext.text_representation.format_name: myst and a kernelspec), so its cells "
            "would not be executed; copy the header from chapters/_template.md",
            location=docname,
            type="primer",
            subtype="header",
        )


def tidy_output(app: Sphinx, exception: Exception | None) -> None:
    """Keep only what readers need in the HTML output."""
    if app.builder.format != "html":
        return
    # The themes copy Jinja partials into _static/; they are not pages.
    for partial in Path(app.outdir, "_static").glob("*webpack-macros.html"):
        partial.unlink()
    # Not loaded by any page: the theme's CSS draws the icons (see primer_icons.py).
    for script in Path(app.outdir, "_static", "scripts").glob("fontawesome.js*"):
        script.unlink()
    if app.config.primer_pdf:  # the book as a PDF, linked from every page
        shutil.copyfile(app.config.primer_pdf, Path(app.outdir, PDF_NAME))
    sources = Path(app.outdir, "_sources")  # left empty by html_copy_source = False
    if sources.is_dir() and not any(sources.iterdir()):
        sources.rmdir()
    reports = Path(app.outdir) / "reports"
    if reports.is_dir():
        target = Path(app.outdir).parent / "reports"
        shutil.rmtree(target, ignore_errors=True)
        shutil.move(str(reports), str(target))
        logger.info(f"execution reports moved out of the site, to {target}")


class youtube(nodes.General, nodes.Element):
    """A YouTube video; its children are the fallback (a link) used by non-HTML builders."""


class YouTube(SphinxDirective):
    """``{youtube} VIDEO_ID`` with a required ``:title:`` (read by screen readers)."""

    required_arguments = 1
    option_spec = {"title": directives.unchanged_required}

    def run(self) -> list[nodes.Node]:
        video_id = self.arguments[0]
        if not re.fullmatch(r"[A-Za-z0-9_-]{11}", video_id):
            raise self.error(f"not a YouTube video id: {video_id!r}")
        if "title" not in self.options:
            raise self.error("a {youtube} video needs a :title: for screen readers")
        title = self.options["title"]
        url = f"https://www.youtube.com/watch?v={video_id}"
        link = nodes.paragraph(
            "",
            "",
            nodes.Text("Video: "),
            nodes.reference("", title, refuri=url),
        )
        node = youtube("", link, video_id=video_id, title=title, url=url)
        self.set_source_info(node)
        return [node]


def visit_youtube_html(self, node: youtube) -> None:
    from html import escape

    vid, title, url = node["video_id"], escape(node["title"]), escape(node["url"])
    self.body.append(
        f'<div class="video-facade" data-video-id="{vid}" data-title="{title}">'
        f'<button type="button" class="video-facade-play">'
        f'<span class="video-facade-icon" aria-hidden="true"></span>'
        f'<span class="video-facade-text">Play video: {title}</span>'
        f'<span class="video-facade-note">Nothing loads from YouTube until you press play; '
        f"then the privacy-enhanced player (youtube-nocookie.com) starts.</span>"
        f"</button>"
        f'<p class="video-facade-link"><a href="{url}">Watch on YouTube instead</a></p>'
        f"</div>"
    )
    raise nodes.SkipNode


def visit_youtube_other(self, node: youtube) -> None:
    pass  # the children (a paragraph with the link) are rendered


def depart_youtube_other(self, node: youtube) -> None:
    pass


def _mathml(self, node: nodes.Element, display: str) -> str:
    from latex2mathml.converter import convert

    latex = node.astext()
    try:
        return convert(latex, display=display)
    except Exception as error:  # latex2mathml raises its own exception types
        logger.warning(f"cannot render this math as MathML ({error}): {latex}", location=node,
                       type="primer", subtype="math")
        return f"<code>{self.encode(latex)}</code>"


def visit_math_mathml(self, node: nodes.math) -> None:
    self.body.append(f'<span class="math">{_mathml(self, node, "inline")}</span>')
    raise nodes.SkipNode


def visit_displaymath_mathml(self, node: nodes.math_block) -> None:
    from sphinx.util.math import get_node_equation_number

    self.body.append(self.starttag(node, "div", CLASS="math"))
    if node["number"]:
        self.body.append(f'<span class="eqno">({get_node_equation_number(self, node)})')
        self.add_permalink_ref(node, "Link to this equation")
        self.body.append("</span>")
    self.body.append(_mathml(self, node, "block"))
    self.body.append("</div>\n")
    raise nodes.SkipNode


def is_chapter(docname: str) -> bool:
    return docname.startswith("chapters/") and not docname.split("/")[-1].startswith("_")


def add_verified_note(app: Sphinx, doctree: nodes.document) -> None:
    """Under each chapter's title: the PyTorch version its cells were executed with."""
    if not is_chapter(app.env.docname):
        return
    section = next(iter(doctree.findall(nodes.section)), None)
    if section is None:
        return
    note = nodes.paragraph(
        "",
        f"Verified with PyTorch {app.config.torch_version}: every code cell on this page was "
        f"executed when this edition was built ({app.config.today}).",
        classes=["primer-verified"],
    )
    section.insert(1, note)


def write_notebooks(app: Sphinx, exception: Exception | None) -> None:
    """Every chapter as a Jupyter notebook, plus one zip with the files the notebooks read."""
    if exception is not None or app.builder.format != "html":
        return
    import zipfile

    import jupytext

    srcdir, outdir = Path(app.srcdir), Path(app.outdir) / NOTEBOOKS
    outdir.mkdir(parents=True, exist_ok=True)
    chapters_dir = srcdir / "chapters"
    chapters = sorted(d for d in app.env.found_docs if is_chapter(d))
    extras = sorted([*chapters_dir.glob("*.py"), *(chapters_dir / "data").glob("*")])
    bundle_path = outdir / "pytorch-primer-notebooks.zip"
    changed = False
    for docname in chapters:  # only what changed since the last build
        source, target = srcdir / f"{docname}.md", outdir / (docname.split("/")[-1] + ".ipynb")
        if not target.exists() or target.stat().st_mtime_ns < source.stat().st_mtime_ns:
            notebook = jupytext.read(source)
            notebook.metadata.pop("jupytext", None)  # a plain notebook, not a paired one
            jupytext.write(notebook, target, fmt="ipynb")
            changed = True
    newest = max((p.stat().st_mtime_ns for p in extras), default=0)
    if changed or not bundle_path.exists() or bundle_path.stat().st_mtime_ns < newest:
        with zipfile.ZipFile(bundle_path, "w", zipfile.ZIP_DEFLATED) as bundle:
            for docname in chapters:
                name = docname.split("/")[-1] + ".ipynb"
                bundle.write(outdir / name, name)
            for extra in extras:
                bundle.write(extra, str(extra.relative_to(chapters_dir)))


def defer_scripts(app: Sphinx, pagename: str, templatename: str, context: dict, doctree) -> None:
    """No script blocks the first paint: files load with `defer`, and inline snippets (which
    use what documentation_options.js defines) become module scripts, which are deferred too.
    Deferred and module scripts run in document order once the page is parsed. Pages without
    tabs do not load sphinx-design's tab script."""
    from sphinx.builders.html._assets import _JavaScript

    if pagename == "search":  # its template's inline scripts call doctools.js right away
        return
    scripts = context.get("script_files", [])
    if "sd-tab-set" not in context.get("body", ""):  # sphinx-design's tab script, on pages with no tabs
        scripts[:] = [js for js in scripts if not (js.filename or "").endswith("design-tabs.js")]
    for i, js in enumerate(scripts):
        attributes = dict(js.attributes)
        if "async" in attributes or "defer" in attributes or attributes.get("type") == "module":
            continue
        if js.filename:
            attributes["defer"] = "defer"
        elif attributes.get("body"):
            attributes["type"] = "module"
        scripts[i] = _JavaScript(js.filename, priority=js.priority, **attributes)


STYLESHEET = re.compile(r'<link (?=[^>]*rel="stylesheet")[^>]*href="([^"?]+)(?:\?[^"]*)?"[^>]*/>\n?')
CSS_IMPORT = re.compile(r"""@import\s+(?:url\()?(['"])([^'"]+)\1\)?\s*;""")
CSS_URL = re.compile(r"""url\((['"]?)(?![a-z]+:|/|#)([^)'"]+)\1\)""")
BUNDLE = "_static/primer-bundle.css"


def site_pages(outdir: Path) -> list[Path]:
    """The HTML pages (not the theme's Jinja partials that land in _static/)."""
    return sorted(p for p in outdir.rglob("*.html") if "_static" not in p.relative_to(outdir).parts)


def bundle_stylesheets(outdir: Path, icons: set[str] | None) -> None:
    """One stylesheet instead of eleven: every page links _static/primer-bundle.css, the
    concatenation (in the same order) of the stylesheets Sphinx and the themes link, less the
    rules no page can use (primer_css). Each request for a render-blocking file costs a round
    trip before the first paint, and every byte of it delays that paint."""
    import hashlib
    import json
    import posixpath

    listing = outdir.parent / "primer-bundle.json"  # the order, for builds that write no page
    pages = site_pages(outdir)
    order = json.loads(listing.read_text()) if listing.exists() else []
    for page in pages:  # pages written by this build still link the original files
        hrefs = STYLESHEET.findall(page.read_text(encoding="utf8"))
        if len(hrefs) > 1:
            base = page.parent.relative_to(outdir).as_posix()
            order = [posixpath.normpath(posixpath.join(base, h)) for h in hrefs]
            break
    if not order:
        return
    listing.write_text(json.dumps(order))
    def stylesheet(name: str) -> str:
        """A stylesheet with its @imports inlined and its url()s relative to _static/."""
        folder = posixpath.dirname(name)

        def rebase(m: re.Match) -> str:
            target = posixpath.normpath(posixpath.join(folder, m.group(2)))
            return f"url({m.group(1)}{posixpath.relpath(target, '_static')}{m.group(1)})"

        def inline(m: re.Match) -> str:
            return stylesheet(posixpath.normpath(posixpath.join(folder, m.group(2))))

        css = (outdir / name).read_text(encoding="utf8")
        return f"/* {name} */\n" + CSS_URL.sub(rebase, CSS_IMPORT.sub(inline, css))

    bundle = "\n".join(stylesheet(name) for name in order)
    if icons is not None:
        from primer_icons import drop_unused_icon_rules

        bundle = drop_unused_icon_rules(bundle, icons)
    from primer_css import purge, used_names

    (outdir.parent / "primer-bundle.full.css").write_text(bundle, encoding="utf8")  # for the tests
    bundle = purge(bundle, used_names(outdir, pages))
    (outdir / BUNDLE).write_text(bundle, encoding="utf8")
    version = hashlib.sha256(bundle.encode()).hexdigest()[:10]
    for page in pages:
        html = page.read_text(encoding="utf8")
        links = list(STYLESHEET.finditer(html))
        if not links:
            continue
        href = posixpath.relpath(BUNDLE, page.parent.relative_to(outdir).as_posix() or ".")
        tag = f'<link rel="stylesheet" href="{href}?v={version}" />\n'
        new = html[: links[0].start()] + tag + STYLESHEET.sub("", html[links[0].start():])
        if new != html:
            page.write_text(new, encoding="utf8")


IMG_TAG = re.compile(r'<img ([^>]*?)src="([^"]*_images/[^"]+\.png)"([^>]*?)\s*/?>')


def polish_html(app: Sphinx, exception: Exception | None) -> None:
    """Small fixes to the written pages that no setting offers:
    - figures drawn by cells get their intrinsic width and height, so the page does not jump
      while they load (CSS keeps them responsive);
    - MyST-NB's "Toggle hidden content" label on hidden cells is dropped: it hid the visible
      "Show the solution ..." text from screen readers (WCAG 2.5.3, label in name).
    """
    if exception is not None or app.builder.format != "html":
        return
    import functools
    import struct

    outdir = Path(app.outdir)

    def sized(page: Path, match: re.Match) -> str:
        before, src, after = match.groups()
        if " width=" in before + after:
            return match.group(0)
        try:
            width, height = struct.unpack(">II", (page.parent / src).read_bytes()[16:24])  # PNG IHDR
        except (OSError, struct.error):
            return match.group(0)
        return f'<img {before}src="{src}" width="{width}" height="{height}"{after} />'

    bundle_stylesheets(outdir, getattr(app, "primer_icon_names", None))
    for page in site_pages(outdir):
        html = page.read_text(encoding="utf8")
        new = IMG_TAG.sub(functools.partial(sized, page), html).replace('<summary aria-label="Toggle hidden content">', "<summary>")
        if new != html:
            page.write_text(new, encoding="utf8")


def add_download_buttons(app: Sphinx, pagename: str, templatename: str, context: dict, doctree) -> None:
    """Header buttons: this chapter as a notebook; the whole book as a PDF when it exists."""
    buttons = context.get("header_buttons")
    if buttons is None:
        return
    pathto = context["pathto"]
    if is_chapter(pagename):
        slug = pagename.split("/")[-1]
        buttons.append({
            "type": "link",
            "url": pathto(f"{NOTEBOOKS}/{slug}.ipynb", 1),
            "tooltip": "Download this chapter as a Jupyter notebook",
            "icon": "fas fa-download",
            "label": "download-notebook-button",
        })
    if app.config.primer_pdf:
        buttons.append({
            "type": "link",
            "url": pathto(PDF_NAME, 1),
            "tooltip": "Download the whole book as a PDF",
            "icon": "fas fa-file-pdf",
            "label": "download-book-pdf-button",
        })


def outdated_by_execution(app: Sphinx, env, added, changed, removed) -> list[str]:
    """Pages whose cached outputs are newer than the outputs Sphinx last read for them.

    Sphinx re-reads a page when its source changes; tools/execute.py also re-executes a chapter
    when a helper module, data file or the lock changes, which leaves the source untouched.
    MyST-NB records the cache record's time with each page it reads (exec_data["mtime"]).
    """
    if app.config.nb_execution_mode != "cache" or not getattr(env, "nb_metadata", None):
        return []
    from jupyter_cache import get_cache

    newest: dict[str, float] = {}
    for record in get_cache(app.config.nb_execution_cache_path).list_cache_records():
        newest[record.uri] = max(newest.get(record.uri, 0.0), record.created.timestamp())
    stale = []
    for docname, meta in env.nb_metadata.items():
        read = (meta.get("exec_data") or {}).get("mtime")
        if read is not None and docname in env.found_docs and newest.get(str(env.doc2path(docname)), 0.0) > read:
            stale.append(docname)
    return stale


class DropHiddenInputsInPrint(SphinxPostTransform):
    """The PDF shows a ``hide-input`` cell's figure without its code (the web folds the code)."""

    default_priority = 200
    formats = ("latex",)

    def run(self, **kwargs) -> None:
        for cell in list(self.document.findall(nodes.container)):
            if cell.get("nb_element") == "cell_code" and cell.get("hide_mode") == "input":
                for child in list(cell.children):
                    if isinstance(child, nodes.container) and child.get("nb_element") == "cell_code_source":
                        cell.remove(child)


def setup(app: Sphinx) -> dict:
    app.setup_extension("primer_icons")
    app.add_config_value("torch_version", "", "env")
    app.add_config_value("primer_ext_digest", "", "env")  # conf.py: a digest of _ext/*.py
    app.add_config_value("primer_pdf", None, "html")  # path of the built PDF, if there is one
    app.connect("env-get-outdated", outdated_by_execution)
    app.add_post_transform(DropHiddenInputsInPrint)
    app.connect("doctree-read", add_verified_note)
    app.connect("build-finished", write_notebooks)
    app.connect("html-page-context", add_download_buttons, priority=600)
    app.connect("html-page-context", defer_scripts, priority=900)
    app.connect("build-finished", polish_html, priority=900)  # after the themes write their CSS
    app.add_html_math_renderer("mathml", (visit_math_mathml, None), (visit_displaymath_mathml, None))
    app.add_node(
        youtube,
        html=(visit_youtube_html, None),
        latex=(visit_youtube_other, depart_youtube_other),
        text=(visit_youtube_other, depart_youtube_other),
    )
    app.add_directive("youtube", YouTube)
    app.add_js_file("primer.js", loading_method="defer")
    app.connect("source-read", check_notebook_header)
    app.connect("build-finished", tidy_output)
    return {"parallel_read_safe": True, "parallel_write_safe": True, "version": "1"}
