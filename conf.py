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
include_patterns = ["index.md", "chapters/*.md", "setup.md", "errata.md", "reports.md"]
exclude_patterns = ["_build", ".venv", "chapters/_*.md"]
root_doc = "index"

extensions = [
    "myst_nb",  # also registers myst_parser: do not list both
    "sphinx_design",
    "sphinx_copybutton",
    "sphinxcontrib.bibtex",
    "primer",  # _ext/primer.py: the book's own guards and helpers
    "primer_parts",  # _ext/primer_parts.py: chapter numbers count on across the parts
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
html_math_renderer = "mathml"  # _ext/primer.py: MathML at build time, no MathJax, no CDN
html_last_updated_fmt = None
html_copy_source = False
html_show_sourcelink = False
html_context = {"default_mode": "auto"}  # follow the reader's system; unset, the theme logs an error
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
}

# -- LaTeX / PDF ---------------------------------------------------------------
latex_engine = "xelatex"
latex_documents = [(root_doc, "pytorch-primer.tex", project, author, "manual")]
latex_appendices = ["setup", "errata", "reports"]  # index.md lists them for the web only
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
    "printindex": "",
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
