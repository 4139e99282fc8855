"""Sphinx configuration for The PyTorch Primer.

Grouped by concern. Build commands live in the Makefile; `make help` lists them.
"""

import hashlib
import os
import sys
from datetime import date
from importlib.metadata import version as package_version
from pathlib import Path

ROOT = Path(__file__).parent.resolve()
BUILDDIR = Path(os.environ.get("BOOK_BUILDDIR", ROOT / "_build"))  # set by the Makefile
sys.path.insert(0, str(ROOT / "_ext"))

from primer import kernel_environment  # noqa: E402

# -- Project -------------------------------------------------------------------
project = "The PyTorch Primer"
author = "The PyTorch Primer contributors"
copyright = "2026, The PyTorch Primer contributors. Text CC BY 4.0, code MIT"
release = "2026.11"
today = date.today().strftime("%B %Y")  # explicit: the kernels' SOURCE_DATE_EPOCH=0 would say 1970
# The PyTorch the chapters are executed with (read without importing torch, which takes seconds).
torch_version = package_version("torch").split("+")[0]

# -- Sources -------------------------------------------------------------------
# Only the book itself: README, CONTRIBUTING, tests and the chapter template are not pages.
include_patterns = ["index.md", "chapters/*.md", "setup.md", "errata.md", "reports.md", "glossary.md"]
exclude_patterns = ["_build", ".venv", "chapters/_*.md"]
root_doc = "index"

extensions = [
    "myst_nb",  # also registers myst_parser: do not list both
    "sphinx_design",
    "sphinx_copybutton",
    "sphinxcontrib.bibtex",
    "primer",  # _ext/primer.py: the book's own guards and helpers
    "primer_parts",  # _ext/primer_parts.py: chapter numbers count on across the parts
    "primer_overview",  # _ext/primer_overview.py: the landing page's chapters, lines and run times
    "primer_notebooks",  # _ext/primer_notebooks.py: the readers' notebooks, the Colab button
    "primer_demo",  # _ext/primer_demo.py: the digits model in the browser (ONNX Runtime Web, tools/demo)
]
# Sphinx notices a changed conf.py but not a changed extension: a new digest rewrites every page.
primer_ext_digest = hashlib.sha256(b"".join(p.read_bytes() for p in sorted((ROOT / "_ext").glob("*.py")))).hexdigest()

# -- MyST ----------------------------------------------------------------------
# Setting this list replaces MyST's defaults, so every extension used is named here.
myst_enable_extensions = [
    "colon_fence",  # ::: fences for directives that hold Markdown
    "dollarmath",  # $x^2$ and $$...$$
    "amsmath",
    "deflist",
    "substitution",  # {{ torch_version }}
    "attrs_inline",
]
myst_heading_anchors = 3
myst_substitutions = {"torch_version": torch_version}
myst_footnote_transition = False

# -- Notebook execution (MyST-NB) ------------------------------------------------
# `make html` first runs tools/execute.py, which executes changed chapters in parallel
# into this same cache; Sphinx then only reads the cache. A plain sphinx-build still
# executes what is missing, one chapter at a time.
nb_execution_mode = "cache"
nb_execution_cache_path = str(BUILDDIR / ".jupyter_cache")
nb_execution_timeout = 120  # seconds per cell
nb_execution_show_tb = True  # print the traceback (raise_on_error would hide it: MyST-NB#616)
nb_execution_raise_on_error = False  # the warning fails the build under -W instead
nb_execution_allow_errors = False
nb_merge_streams = True
nb_output_stderr = "warn"  # anything a cell prints to stderr fails the build
nb_execution_excludepatterns = []
# Figures: PNG on the web, vector PDF in the PDF (the kernel emits both; see _ext/ipython).
nb_mime_priority_overrides = [
    ("latex", "application/pdf", 5),
    ("latex", "image/png", 10),
]
os.environ.update(kernel_environment(ROOT, threads=1))  # as tools/execute.py: outputs don't depend on cores

# -- Citations -----------------------------------------------------------------
# One shared file, plus one file per chapter (keys prefixed with the chapter slug).
bibtex_bibfiles = ["references.bib"] + sorted(
    str(p.relative_to(ROOT)) for p in (ROOT / "chapters" / "references").glob("*.bib")
)
bibtex_default_style = "plain"
bibtex_reference_style = "author_year"
bibtex_foot_reference_style = "foot"

# -- Cross-references ----------------------------------------------------------
nitpicky = True  # also set by `make html` (-n); broken references are errors under -W

# -- HTML ----------------------------------------------------------------------
html_theme = "sphinx_book_theme"
html_title = project
html_favicon = "_static/favicon.svg"
html_static_path = ["_static"]
templates_path = ["_templates"]  # the theme's layout, less what must go (each names its upstream issue)
html_css_files = ["primer.css"]
# The PDF, when `make pdf` has built it, is copied into the site and linked from every page.
_pdf = BUILDDIR / "latex" / "pytorch-primer.pdf"
primer_pdf = str(_pdf) if _pdf.is_file() else None  # _ext/primer.py copies it into the site
_epub = BUILDDIR / "epub" / "pytorch-primer.epub"  # the EPUB likewise, when `make epub` has built it
primer_epub = str(_epub) if _epub.is_file() else None
html_math_renderer = "mathml"  # _ext/primer.py: MathML at build time, no MathJax, no CDN
html_last_updated_fmt = None
html_copy_source = False
html_show_sourcelink = False
html_context = {
    "default_mode": "auto",  # follow the reader's system; unset, the theme logs an error
    # Search engines' description of the pages Sphinx generates (the others: their front matter)
    "generated_descriptions": {
        "genindex": "The index of The PyTorch Primer: its ideas, terms and PyTorch APIs, "
                    "each linked to where the book explains it.",
        "search": "Search The PyTorch Primer, a free book that teaches PyTorch to programmers "
                  "with every example executed.",
    },
}
# The repository, from one place: BOOK_REPOSITORY_URL (e.g. https://github.com/OWNER/REPO).
# Set, the theme shows repository, edit and issue buttons; unset, it shows none (no dead links).
repository_url = os.environ.get("BOOK_REPOSITORY_URL", "").rstrip("/")
html_theme_options = {
    "repository_url": repository_url,
    "repository_branch": "main",
    "path_to_docs": "",
    "use_repository_button": bool(repository_url),
    "use_edit_page_button": bool(repository_url),
    "use_issues_button": bool(repository_url),
    "home_page_in_toc": True,
    "show_toc_level": 2,
    "use_download_button": False,
    "use_fullscreen_button": False,
    "navigation_with_keys": False,
    # One search field on a wide screen, the sidebar's: pydata-sphinx-theme 0.20 adds a header
    # with a second one unless this is set (executablebooks/sphinx-book-theme#986). Phones keep
    # the article header's search button.
    "navbar_persistent": [],
}

# -- The hosted site: social preview cards and a sitemap -------------------------
# Only when the site's address is known: BOOK_SITE_URL (e.g. https://OWNER.github.io/REPO/;
# the Pages workflow sets it). Set, every page has a canonical link and Open Graph tags, and the
# site a sitemap.xml; unset, neither extension is loaded and none of them is written.
book_site_url = os.environ.get("BOOK_SITE_URL", "").strip().rstrip("/")
if book_site_url:
    html_baseurl = book_site_url + "/"  # sphinx-sitemap joins page names to it as they are
    extensions += ["sphinxext.opengraph", "sphinx_sitemap"]
    ogp_site_url = html_baseurl
    ogp_social_cards = {"enable": False}  # no per-page PNGs drawn with matplotlib; no image of the book's yet
    # og:description: each page's front-matter description (_ext/primer_overview.py)
    # sphinx-sitemap lists the pages written in this build (jdillard/sphinx-sitemap#13): the sitemap
    # is whole after a full build, as the Pages workflow makes, not after an incremental one.
    sitemap_url_scheme = "{link}"
    sitemap_excludes = ["search.html", "genindex.html"]

# -- LaTeX / PDF ---------------------------------------------------------------
latex_engine = "xelatex"
latex_documents = [(root_doc, "pytorch-primer.tex", project, author, "manual")]
latex_appendices = ["setup", "errata", "reports", "glossary"]  # index.md lists them for the web only
latex_use_xindy = True  # the printed index, sorted by xindy (Sphinx's default for xelatex; UTF-8 safe)
latex_show_urls = "footnote"
latex_elements = {
    "papersize": "a4paper",
    "pointsize": "11pt",
    "fontpkg": r"""
\setmainfont{TeX Gyre Pagella}
\setsansfont{TeX Gyre Heros}
\setmonofont{FreeMono}
""",
    "sphinxsetup": "verbatimwrapslines=true, verbatimforcewraps=true",
    # Glyphs TeX Gyre Pagella lacks (superscript digits in outputs, status marks) come from FreeSerif.
    "preamble": r"""
\setlength{\headheight}{14pt}
\usepackage{xurl}  % long URLs in footnotes break anywhere rather than run into the margin
\usepackage{newunicodechar}
\newfontfamily\fallbackfont{FreeSerif}
\newunicodechar{⁰}{{\fallbackfont ⁰}}\newunicodechar{¹}{{\fallbackfont ¹}}
\newunicodechar{²}{{\fallbackfont ²}}\newunicodechar{³}{{\fallbackfont ³}}
\newunicodechar{⁴}{{\fallbackfont ⁴}}\newunicodechar{⁵}{{\fallbackfont ⁵}}
\newunicodechar{⁶}{{\fallbackfont ⁶}}\newunicodechar{⁷}{{\fallbackfont ⁷}}
\newunicodechar{⁸}{{\fallbackfont ⁸}}\newunicodechar{⁹}{{\fallbackfont ⁹}}
\newunicodechar{⁻}{{\fallbackfont ⁻}}\newunicodechar{⚠}{{\fallbackfont ⚠}}
\newunicodechar{✅}{{\fallbackfont ✓}}\newunicodechar{^^^^fe0f}{}
""",
}

# -- EPUB ----------------------------------------------------------------------
# `make epub`: Sphinx's EPUB 3 builder with its own epub theme; _ext/primer.py (PrimerEpubBuilder)
# keeps the site's templates and scripts out. Math is MathML, figures PNG or JPEG, as on the web.
epub_basename = "pytorch-primer"
epub_title = project
epub_author = author
epub_contributor = author
epub_publisher = author
epub_copyright = copyright
epub_description = (
    "A free book that teaches PyTorch to programmers, "
    "with every code example executed when the book is built."
)
epub_identifier = "urn:uuid:1d0604ce-e351-4d2a-8c01-fb7d66c50224"  # the same for every edition
epub_uid = "bookid"  # the id of that identifier in content.opf (an XML name)
version = release  # the EPUB's version (Sphinx warns when it is empty)
epub_show_urls = "footnote"  # an e-reader may not follow a link out: the address is printed
# Not in the e-book: the site's icon, and the copy of .buildinfo that Sphinx keeps when the
# configuration changed (Sphinx leaves out .buildinfo, not it, and warns: "unknown mimetype").
epub_exclude_files = ["_static/favicon.svg", ".buildinfo.bak"]
