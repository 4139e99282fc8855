"""The book's own Sphinx extension: guards that configuration alone cannot give.

- A chapter with code cells but no jupytext notebook header would silently not be executed:
  it is an error here, naming the file.
- ``{youtube}``: a video that loads nothing from YouTube until the reader clicks (a local
  placeholder, then a privacy-enhanced youtube-nocookie.com player); in the PDF and the EPUB,
  a link.
- Math is rendered to MathML when the book is built (latex2mathml), so pages need no MathJax
  and fetch nothing from a CDN; browsers render MathML natively.
- Each chapter says which PyTorch version it was executed with, and has a button that downloads
  it as a Jupyter notebook (primer_notebooks.py writes the notebooks, and the zip of them all).
  When the PDF or the EPUB has been built, every page links to it.
- A chapter whose outputs tools/execute.py replaced because a file it reads changed (its code
  did not, so its source is unchanged) is re-read, so the page shows the new outputs.
- In the PDF and the EPUB, cells tagged ``hide-input`` (code that draws a figure the lesson is
  not about) print their output only: paper cannot fold code away, as the web page does.
- The EPUB (`make epub`): Sphinx's EPUB 3 builder, less the site's templates and scripts, plus
  what EPUB 3 requires and Sphinx leaves out (PrimerEpubBuilder), so that EPUBCheck passes.
- MyST-NB writes execution tracebacks to <outdir>/reports/; they hold local paths and must
  never be published, so they are moved out of the HTML output.
- Where the theme's or an extension's markup is wrong, it is fixed where it is made (a node's
  HTML visitor, a template block), each next to the upstream issue it works around; the
  versions they were written against are checked by primer_guard.py. What makes pages light
  and cannot be done while Sphinx writes them (one stylesheet, icon fonts cut down) is
  tools/postbuild.py, run on the copy of the site about to be published.
"""

from __future__ import annotations

import functools
import re
import shutil
from pathlib import Path

from docutils import nodes
from docutils.parsers.rst import directives
from markupsafe import Markup
from sphinx.application import Sphinx
from sphinx.builders.epub3 import Epub3Builder
from sphinx.transforms.post_transforms import SphinxPostTransform
from sphinx.util import logging
from sphinx.util.docutils import SphinxDirective

NOTEBOOKS = "notebooks"  # folder of the site that holds the downloadable notebooks
PDF_NAME = "pytorch-primer.pdf"
EPUB_NAME = "pytorch-primer.epub"

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


def finish_output(app: Sphinx, exception: Exception | None) -> None:
    """The PDF into the site; MyST-NB's execution reports out of it. (What is published is
    chosen by tools/publish.py.)"""
    if app.builder.format != "html" or app.builder.name == "epub":  # the site only
        return
    if app.config.primer_pdf:  # the book as a PDF, linked from every page
        shutil.copyfile(app.config.primer_pdf, Path(app.outdir, PDF_NAME))
    if app.config.primer_epub:  # and as an EPUB
        shutil.copyfile(app.config.primer_epub, Path(app.outdir, EPUB_NAME))
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

    if self.builder.name == "epub":
        return  # the link, as in the PDF: an e-reader plays no video
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


def drop_index_pages_from_latex_toctrees(app: Sphinx, doctree: nodes.document) -> None:
    """The web's navigation lists the index page (`genindex` in index.md's appendix toctree,
    inside `only html`); the PDF prints its own index. Sphinx's LaTeX builder inlines every
    toctree before it drops `only` blocks, and warns that `genindex` is no file
    (sphinx-doc/sphinx#13733): for LaTeX the entry is taken out when the page is read."""
    if app.builder.format != "latex":
        return
    from sphinx import addnodes

    virtual = {"genindex", "modindex", "search"}  # the pages Sphinx makes, which a toctree may list
    for toctree in doctree.findall(addnodes.toctree):
        toctree["entries"] = [(title, ref) for title, ref in toctree["entries"] if ref not in virtual]
        toctree["includefiles"] = [name for name in toctree["includefiles"] if name not in virtual]


SEARCH_PAGE = "search"  # its template's inline scripts call doctools.js at once: left as it is


def defer_scripts(app: Sphinx, pagename: str, templatename: str, context: dict, doctree) -> None:
    """No script blocks the first paint: files load with `defer`, and inline snippets (which
    use what documentation_options.js defines) become module scripts, which are deferred too.
    Deferred and module scripts run in document order once the page is parsed. Pages without
    tabs do not load sphinx-design's tab script.

    Works around: Sphinx has no setting to defer its own scripts (documentation_options.js,
    doctools.js, sphinx_highlight.js), and sphinx-design adds design-tabs.js to every page
    (docs/upstream-reports.md; related: sphinx-doc/sphinx#13917, executablebooks/meta#119).
    Only public API: the page's `script_files`, and app.add_js_file, which Sphinx documents
    as adding a script to the one page when called from html-page-context."""
    if pagename == SEARCH_PAGE:
        return
    scripts = context.get("script_files", [])
    has_tabs = "sd-tab-set" in context.get("body", "")
    # Each script is taken out and added again, changed or not, so that their order stays.
    for js in list(scripts):
        filename = str(js.filename or "")
        if filename and not (filename.startswith("_static/") or "://" in filename):
            continue  # add_js_file could not give it back under the same name
        scripts.remove(js)
        if filename.endswith("design-tabs.js") and not has_tabs:
            continue
        attributes = dict(js.attributes)
        if not ({"async", "defer"} & set(attributes) or attributes.get("type") == "module"):
            if filename:
                attributes["defer"] = "defer"
            elif attributes.get("body"):
                attributes["type"] = "module"
        app.add_js_file(filename.removeprefix("_static/") or None, priority=js.priority, **attributes)


# Pygments wraps every token of a code block in a <span>, also those its style draws in the
# block's own colour (pygments/pygments#1226, open): names and punctuation are half the spans of
# a chapter and about a third of its elements, which the phone's first load must style and lay
# out. The HTML pages leave out the spans of the token classes that both of the theme's styles
# (pygments_light_style, pygments_dark_style) draw exactly as plain text; primer.css gives a
# code block's <pre> the style's text colour, as those spans had. Python blocks only; cell
# outputs and other languages are left as they are.
PYTHON_BLOCK = re.compile(
    r'(<div class="highlight-(?:ipython3|python|default)\b[^"]*"><div class="highlight"><pre>)(.*?)(</pre>)', re.S
)


@functools.cache
def plain_token_span(light: str, dark: str) -> re.Pattern | None:
    """A pattern for the spans of token classes that LIGHT and DARK both draw as plain text."""
    from pygments.styles import get_style_by_name
    from pygments.token import STANDARD_TYPES, Text

    styles = [get_style_by_name(light), get_style_by_name(dark)]
    plain = sorted(
        short
        for token, short in STANDARD_TYPES.items()
        if short and all(style.style_for_token(token) == style.style_for_token(Text) for style in styles)
    )
    return re.compile(rf'<span class="(?:{"|".join(map(re.escape, plain))})">([^<]*)</span>') if plain else None


def unwrap_plain_tokens(app: Sphinx, pagename: str, templatename: str, context: dict, doctree) -> None:
    light, dark = context.get("theme_pygments_light_style"), context.get("theme_pygments_dark_style")
    body = context.get("body")
    if not (light and dark and body):
        return  # not the theme's pages (the EPUB has its own styles)
    span = plain_token_span(light, dark)
    if span:
        context["body"] = PYTHON_BLOCK.sub(lambda m: m.group(1) + span.sub(r"\1", m.group(2)) + m.group(3), body)


ASSET_TAG = r'[ \t]*<(?:script|link)\b[^>]*?\b(?:src|href)="(?:[^"]*/)?{name}(?:\?[^"]*)?"[^>]*>(?:</script>)?[ \t]*\n?'


class ThemeChanged(Exception):
    """A template block no longer holds what _templates/layout.html removes from it."""


def without_assets(html: str, *names: str) -> Markup:
    """A template block's markup less the <script> and <link> tags that load NAMES (file
    names). For _templates/layout.html, which calls super() and removes only what must go; a
    name not found means the theme changed, and the build stops saying so."""
    html = str(html)
    for name in names:
        html, count = re.subn(ASSET_TAG.format(name=re.escape(name)), "", html)
        if not count:
            raise ThemeChanged(
                f"_templates/layout.html removes {name} from a block of the theme's layout, but the "
                f"block no longer loads it: the theme changed; re-check the workaround "
                f"(_ext/primer_guard.py lists them)"
            )
    return Markup(html)


def template_helpers(app: Sphinx, pagename: str, templatename: str, context: dict, doctree) -> None:
    context["without_assets"] = without_assets


def visit_hide_cell(self, node: nodes.Element) -> None:
    """The toggle of a hidden cell (MyST-NB's HideCodeCellNode): MyST-NB's own markup less two
    faults. Its two labels were <p> elements, which a <summary> may not hold (phrasing content
    only; the W3C checker's only errors on these pages), so here they are <span>s (primer.css
    styles them as MyST-NB styled the <p>s). And an aria-label "Toggle hidden content" hid the
    visible label ("Show the solution ...") from screen readers (WCAG 2.5.3, label in name);
    without it the summary is named by what it shows. Report: docs/upstream-reports.md.
    In the EPUB, as in the PDF, the content without the toggle."""
    from html import escape

    if self.builder.name == "epub":
        return
    classes = " ".join(node["classes"])
    self.body.append(f'<details class="admonition hide {classes}">\n<summary>\n')
    self.body.append(f'<span class="collapsed admonition-title">{escape(node["prompt_show"])}</span>\n')
    self.body.append(f'<span class="expanded admonition-title">{escape(node["prompt_hide"])}</span>\n')
    self.body.append("</summary>\n")


def depart_hide_cell(self, node: nodes.Element) -> None:
    if self.builder.name != "epub":
        self.body.append("</details>\n")


def image_size(path: Path) -> tuple[int, int] | None:
    """Width and height of a PNG or JPEG (Pillow reads the header only)."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as image:
            return image.size if image.format in ("PNG", "JPEG") else None
    except (OSError, UnidentifiedImageError):
        return None


class SizeImages(SphinxPostTransform):
    """Figures (the outputs of code cells, PNG or JPEG) carry their pixel size as width and
    height, so the page does not move while they load (primer.css keeps them fluid), and load
    lazily: a figure further down the page is fetched as the reader scrolls to it."""

    default_priority = 900  # after MyST-NB picks one image from each output's formats
    formats = ("html",)

    def run(self, **kwargs) -> None:
        for image in self.document.findall(nodes.image):
            uri = image.get("uri", "")
            if {"width", "height", "scale"} & set(image.attributes) or "://" in uri:
                continue
            if uri.lower().endswith((".png", ".jpg", ".jpeg")) and (size := image_size(Path(self.env.srcdir, uri))):
                image["width"], image["height"] = (str(n) for n in size)
                image["loading"] = "lazy"


def add_download_buttons(app: Sphinx, pagename: str, templatename: str, context: dict, doctree) -> None:
    """Header buttons: this chapter as a notebook; the whole book as a PDF and as an EPUB when
    they exist."""
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
    if app.config.primer_epub:
        buttons.append({
            "type": "link",
            "url": pathto(EPUB_NAME, 1),
            "tooltip": "Download the whole book as an EPUB, for e-readers",
            "icon": "fas fa-book",
            "label": "download-book-epub-button",
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
    """The PDF and the EPUB show a ``hide-input`` cell's figure without its code (the web folds
    the code). Before MyST-NB's HideInputCells (199), which wraps that code for folding."""

    default_priority = 198
    builders = ("latex", "epub")

    def run(self, **kwargs) -> None:
        for cell in list(self.document.findall(nodes.container)):
            if cell.get("nb_element") == "cell_code" and cell.get("hide_mode") == "input":
                for child in list(cell.children):
                    if isinstance(child, nodes.container) and child.get("nb_element") == "cell_code_source":
                        cell.remove(child)


# -- EPUB ----------------------------------------------------------------------------------------
# `make epub`: Sphinx's EPUB 3 builder, which writes the pages with the HTML translator, so what
# serves only the site is kept out here, and the e-book gets what EPUB 3 requires.

MYSTNB_CSS = re.compile(r"mystnb\.\w+\.css")
EPUB_CSS_NAME = "primer-epub.css"
EPUB_CSS = """/* The EPUB's own rules (_ext/primer.py): on a small screen, code wraps rather than
   running off the page, and figures keep their proportions when they are scaled down. */
pre { white-space: pre-wrap; overflow-wrap: anywhere; }
img { height: auto; }
"""
EPUB_PROPERTIES = (("mathml", "math"), ("svg", "svg"))  # manifest property, element it declares
MANIFEST_XHTML = re.compile(r'<item id="[^"]*" href="(?P<href>[^"]*)" media-type="application/xhtml\+xml" />')


class Spine(list):
    """The reading order, each page once (EPUB 3.2 requires it; EPUBCheck RSC-005): Sphinx lists
    the index twice when a toctree names genindex, once from the toctree and once for
    epub_use_index (no upstream issue found: docs/upstream-reports.md)."""

    def append(self, item) -> None:
        if item not in self:
            super().append(item)


class PrimerEpubBuilder(Epub3Builder):
    """Sphinx's EPUB 3 builder (still named "epub"), less what serves only the site, plus what
    EPUB 3 requires and Sphinx or an extension leaves out.

    - Sphinx's epub theme alone: _templates/ adapts sphinx-book-theme's layout (its blocks take
      that theme's assets out, and stop the build when they are not there), and Sphinx applies
      templates_path to every builder, with no setting per builder.
    - No scripts: the page scripts (Sphinx's, the extensions', primer.js) serve the site, and an
      EPUB page with a script needs the manifest property "scripted", which Sphinx never writes.
    - A stylesheet of its own (EPUB_CSS): code wraps on a small screen.
    - No MyST-NB stylesheet: its CSS is valid, but EPUBCheck 4.2 (Debian's) reports its custom
      properties set to nothing, :is() and :has() as errors (w3c/epubcheck#1538, #1289, #1605;
      fixed in EPUBCheck 5). The epub theme styles code cells and outputs plainly.
    - content.opf declares the pages that hold MathML or inline SVG with the properties
      "mathml" and "svg", as EPUB 3 requires (EPUBCheck OPF-014). Sphinx writes no properties
      (no upstream issue found; docs/upstream-reports.md), and renders content.opf from its own
      package folder, so no template can add them (as sphinx-doc/sphinx#11184 notes): they are
      added to the file it wrote, before it is packed.
    - toc.ncx names the book by its identifier, as content.opf does (sphinx-doc/sphinx#11184:
      Sphinx writes epub_uid, the name of the identifier's element, which EPUBCheck rejects).
    - The reading order lists each page once (Spine).
    - The date is the build's: conf.py sets SOURCE_DATE_EPOCH=0 for the kernels (no dates inside
      figures), which Sphinx would print as the e-book's date, 1970-01-01.
    """

    def init_templates(self) -> None:
        book_templates = self.config.templates_path
        self.config.templates_path = []
        try:
            super().init_templates()
        finally:
            self.config.templates_path = book_templates

    def add_js_file(self, filename: str, **kwargs) -> None:
        pass  # every script, from init_js_files and from the extensions, stays out

    def add_css_file(self, filename: str, **kwargs) -> None:
        if not MYSTNB_CSS.fullmatch(filename):
            super().add_css_file(filename, **kwargs)

    def init_css_files(self) -> None:
        super().init_css_files()
        self.add_css_file(EPUB_CSS_NAME, priority=900)

    def copy_static_files(self) -> None:
        super().copy_static_files()
        Path(self.outdir, "_static", EPUB_CSS_NAME).write_text(EPUB_CSS, encoding="utf-8")
        # MyST-NB copies its stylesheet in at build-finished, for the next build to pack: not here.
        for stylesheet in Path(self.outdir, "_static").glob("mystnb.*.css"):
            stylesheet.unlink()

    def content_metadata(self) -> dict:
        import time

        metadata = super().content_metadata()
        metadata["date"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        metadata["spines"] = Spine()
        return metadata

    def toc_metadata(self, level: int, navpoints: list) -> dict:
        from html import escape

        return {**super().toc_metadata(level, navpoints), "uid": escape(self.config.epub_identifier)}

    def build_content(self) -> None:
        super().build_content()
        opf = Path(self.outdir, "content.opf")

        def declare(item: re.Match) -> str:
            from html import unescape
            from urllib.parse import unquote

            page = Path(self.outdir, unquote(unescape(item["href"]))).read_text(encoding="utf-8")
            found = [name for name, tag in EPUB_PROPERTIES if re.search(rf"<{tag}[\s>]", page)]
            return item[0].removesuffix(" />") + f' properties="{" ".join(found)}" />' if found else item[0]

        opf.write_text(MANIFEST_XHTML.sub(declare, opf.read_text(encoding="utf-8")), encoding="utf-8")


class OpenDropdownsInEpub(SphinxPostTransform):
    """In the EPUB, sphinx-design's dropdowns (the exercises' solutions) are open, and without
    their chevron: an e-reader that folds <details> draws its own marker and lets the reader
    close one; one that cannot shows it whole. The chevron is an inline SVG without the SVG
    namespace, fine in HTML and invalid in an EPUB's XHTML (EPUBCheck RSC-005; sphinx-design's
    get_octicon; no upstream issue found: docs/upstream-reports.md)."""

    default_priority = 200  # after sphinx-design's DropdownHtmlTransform (199) made the <details>
    builders = ("epub",)

    def run(self, **kwargs) -> None:
        from sphinx_design.dropdown import dropdown_main

        for dropdown in self.document.findall(dropdown_main):
            dropdown["opened"] = True
        for marker in list(self.document.findall(nodes.inline)):
            if "sd-summary-state-marker" in marker["classes"]:
                marker.parent.remove(marker)


def cache_plugin_lookups() -> None:
    """pybtex finds its plugins (styles, backends) with ``importlib.metadata.entry_points(group=,
    name=)`` every time a citation is formatted, and each call reads the entry points of every
    installed distribution: about 1,900 calls, two thirds of the time Sphinx spent reading the book.
    The installed distributions do not change during a build, so each lookup is made once.
    Upstream: pybtex has no cache (docs/upstream-reports.md §10)."""
    import pybtex.plugin

    lookup = pybtex.plugin.entry_points
    if getattr(lookup, "cache_info", None) is None:  # not already wrapped (a second app)
        pybtex.plugin.entry_points = functools.cache(lambda *, group, name: tuple(lookup(group=group, name=name)))


def setup(app: Sphinx) -> dict:
    from myst_nb.sphinx_ import HideCodeCellNode

    app.setup_extension("primer_guard")  # the versions the workarounds were written against
    cache_plugin_lookups()
    app.add_config_value("torch_version", "", "env")
    app.add_config_value("primer_ext_digest", "", "env")  # conf.py: a digest of _ext/*.py
    app.add_config_value("primer_pdf", None, "html")  # path of the built PDF, if there is one
    app.add_config_value("primer_epub", None, "html")  # path of the built EPUB, if there is one
    app.connect("env-get-outdated", outdated_by_execution)
    app.add_post_transform(DropHiddenInputsInPrint)
    app.add_post_transform(SizeImages)
    app.connect("doctree-read", add_verified_note)
    app.connect("doctree-read", drop_index_pages_from_latex_toctrees)
    app.connect("html-page-context", add_download_buttons, priority=600)
    app.connect("html-page-context", template_helpers)
    app.connect("html-page-context", defer_scripts, priority=900)
    app.connect("html-page-context", unwrap_plain_tokens)
    app.add_html_math_renderer("mathml", (visit_math_mathml, None), (visit_displaymath_mathml, None))
    app.add_node(HideCodeCellNode, override=True, html=(visit_hide_cell, depart_hide_cell))
    app.add_node(
        youtube,
        html=(visit_youtube_html, depart_youtube_other),
        latex=(visit_youtube_other, depart_youtube_other),
        text=(visit_youtube_other, depart_youtube_other),
    )
    app.add_builder(PrimerEpubBuilder, override=True)
    app.add_post_transform(OpenDropdownsInEpub)
    app.add_directive("youtube", YouTube)
    app.add_js_file("primer.js", loading_method="defer")
    app.connect("source-read", check_notebook_header)
    app.connect("build-finished", finish_output)
    return {"parallel_read_safe": True, "parallel_write_safe": True, "version": "1"}
