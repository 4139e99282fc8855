"""The version guard: the book's workarounds for upstream bugs, and the versions they were written against.

Each workaround below works around something in a theme or an extension (the upstream issue is
named next to it, and in docs/upstream-reports.md when no issue exists yet). They depend on
markup, file names and scripts that can change in any release, silently. So the build stops,
at builder-inited, when an installed version differs from the one in WRITTEN_AGAINST, and
names the workarounds to re-check. Once they are re-checked (still needed? still working?
removable because upstream fixed it?), update WRITTEN_AGAINST.
"""

from __future__ import annotations

from collections.abc import Mapping
from importlib.metadata import PackageNotFoundError, version

from sphinx.application import Sphinx
from sphinx.util import logging

logger = logging.getLogger(__name__)

WRITTEN_AGAINST = {
    "sphinx": "9.0.4",
    "pydata-sphinx-theme": "0.20.0",
    "sphinx-book-theme": "1.4.0",
    "myst-nb": "1.4.0",
    "sphinx-design": "0.8.0",
    "sphinxext-opengraph": "0.13.0",
    "pybtex": "0.26.1",
}

# package -> the workarounds that depend on it: where, what, and the upstream issue.
WORKAROUNDS = {
    "sphinx": [
        "_ext/primer.py defer_scripts: Sphinx's own scripts load with `defer` (no setting for it; "
        "docs/upstream-reports.md, related sphinx-doc/sphinx#13917)",
        "_ext/primer.py PrimerEpubBuilder: the EPUB without templates_path and scripts; content.opf "
        "declares MathML and SVG pages (docs/upstream-reports.md); toc.ncx names the identifier "
        "(sphinx-doc/sphinx#11184); the spine lists genindex once (docs/upstream-reports.md)",
        "_ext/primer.py, _ext/primer_demo.py: no add_node(epub=...), which would hide every HTML "
        "handler from the EPUB builder (sphinx-doc/sphinx#14587)",
        "_ext/primer.py drop_index_pages_from_latex_toctrees: no `genindex` in the LaTeX build's "
        "toctrees, which it inlines before dropping `only` blocks (sphinx-doc/sphinx#13733)",
    ],
    "pydata-sphinx-theme": [
        "_templates/layout.html, block extrahead: no search scripts and index on every page "
        "(docs/upstream-reports.md)",
        "_ext/primer.py unwrap_plain_tokens: Python blocks without spans for tokens the theme's two "
        "Pygments styles draw as plain text, and primer.css gives their <pre> the style's colour "
        "(pygments/pygments#1226)",
        "_templates/search.html, block scripts: the search index loads with `defer`, as on "
        "Sphinx's own search page (sphinx-doc/sphinx#6091; docs/upstream-reports.md)",
        "_templates/layout.html, block css: no fontawesome.js "
        "(pydata/pydata-sphinx-theme#2379)",
        "_templates/layout.html, block css: light or dark picked before the first paint "
        "(pydata/pydata-sphinx-theme#1857)",
        "tools/postbuild.py: Font Awesome webfonts found through the theme's @font-face rules and "
        "subset (pydata/pydata-sphinx-theme#2379)",
        "tools/publish.py: the theme's static/webpack-macros.html is not published "
        "(pydata/pydata-sphinx-theme#1122)",
    ],
    "sphinx-book-theme": [
        "conf.py, html_theme_options navbar_persistent = []: no header with a second search field "
        "and the sidebar buttons the theme wires instead of the visible ones "
        "(executablebooks/sphinx-book-theme#986, executablebooks/sphinx-book-theme#999)",
        "_templates/navbar-logo.html: the logo inside a navigation landmark (docs/upstream-reports.md)",
        "tools/publish.py: the theme's static/sbt-webpack-macros.html is not published "
        "(docs/upstream-reports.md, as pydata/pydata-sphinx-theme#1122)",
    ],
    "myst-nb": [
        "_ext/primer.py visit_hide_cell, with its CSS in _static/primer.css: hidden cells' toggles "
        "without <p> in <summary> and without an aria-label that hides their visible label "
        "(docs/upstream-reports.md)",
        "_ext/primer.py PrimerEpubBuilder: no mystnb.css in the EPUB, whose custom properties set to "
        "nothing, :is() and :has() EPUBCheck 4.2 rejects (w3c/epubcheck#1538, #1289, #1605); "
        "MyST-NB copies it at build-finished, after the EPUB is packed",
    ],
    "sphinx-design": [
        "_ext/primer.py defer_scripts: design-tabs.js only on pages with tabs "
        "(docs/upstream-reports.md, related executablebooks/meta#119)",
        "_ext/primer.py OpenDropdownsInEpub: dropdowns open in the EPUB, their chevron (an SVG "
        "without the SVG namespace, invalid XHTML) left out (docs/upstream-reports.md)",
    ],
    "sphinxext-opengraph": [
        "_ext/primer_overview.py describe_for_previews: og:description is the page's front-matter "
        "description, not its first lines (sphinx-doc/sphinxext-opengraph#41, proposed in #147)",
    ],
    "pybtex": [
        "_ext/primer.py cache_plugin_lookups: pybtex.plugin.entry_points wrapped in a cache, so that "
        "each citation does not read every installed distribution's entry points again "
        "(docs/upstream-reports.md)",
    ],
}


def installed_versions() -> dict[str, str | None]:
    found: dict[str, str | None] = {}
    for package in WRITTEN_AGAINST:
        try:
            found[package] = version(package)
        except PackageNotFoundError:
            found[package] = None
    return found


def version_mismatches(installed: Mapping[str, str | None]) -> list[str]:
    """One message per package whose installed version is not the one the workarounds were
    written against: the package, both versions, and the workarounds to re-check."""
    messages = []
    for package, expected in WRITTEN_AGAINST.items():
        found = installed.get(package)
        if found == expected:
            continue
        checks = "\n".join(f"    - {w}" for w in WORKAROUNDS[package])
        messages.append(
            f"{package} is {found or 'not installed'}, but the book's workarounds were written "
            f"against {package} {expected}. Re-check these, then set {package!r} to "
            f"{found!r} in WRITTEN_AGAINST (_ext/primer_guard.py):\n{checks}"
        )
    return messages


def check_versions(app: Sphinx) -> None:
    """Stop the build, before anything is read, when a version differs: each message as an
    ERROR line, then the exit (Sphinx would wrap an exception in a crash report)."""
    messages = version_mismatches(installed_versions())
    if messages:
        for message in messages:
            logger.error(message, type="primer", subtype="versions")
        raise SystemExit("The book's version guard (_ext/primer_guard.py) stops the build.")


def setup(app: Sphinx) -> dict:
    app.connect("builder-inited", check_versions, priority=100)
    return {"parallel_read_safe": True, "parallel_write_safe": True, "version": "1"}
