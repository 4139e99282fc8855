"""Publish a finished build: copy the staging folder, make the copy light, swap it in.

    python tools/publish.py STAGING SITE

Only a build that succeeded gets here, so a reader never sees a half-written or broken site.
STAGING is Sphinx's own output folder, which the next build reuses: it is only read. Its copy,
SITE.new, goes through the post-build step (tools/postbuild.py) and then replaces SITE in one
swap. Not published:
- MyST-NB's execution reports (tracebacks with local paths; _ext/primer.py moves them out);
- _static/webpack-macros.html and sbt-webpack-macros.html, Jinja partials the themes keep in
  their static folders, so that Sphinx copies them into every site
  (pydata/pydata-sphinx-theme#1122, closed in 2024 but still so in 0.20.0; the same in
  sphinx-book-theme: docs/upstream-reports.md);
- Font Awesome's script, which no page loads (_templates/layout.html);
- _sources/, which html_copy_source = False leaves empty.
"""

import shutil
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import postbuild  # noqa: E402


def unpublished(folder: str, names: list[str]) -> set[str]:
    here = Path(folder)
    skip = {"reports", ".buildinfo.bak"}
    if here.name == "_static":
        skip |= {n for n in names if n.endswith("webpack-macros.html")}
    if here.name == "scripts" and here.parent.name == "_static":
        skip |= {n for n in names if n.startswith("fontawesome.js")}
    if "_sources" in names and not any((here / "_sources").iterdir()):
        skip.add("_sources")
    return skip & set(names)


def main(staging: Path, site: Path) -> int:
    new, old = site.with_name(site.name + ".new"), site.with_name(site.name + ".old")
    shutil.rmtree(new, ignore_errors=True)
    shutil.copytree(staging, new, ignore=unpublished)
    if postbuild.main([str(new)]):
        shutil.rmtree(new, ignore_errors=True)
        print(f"publish: {site} still holds the last good build.", file=sys.stderr)
        return 1
    shutil.rmtree(old, ignore_errors=True)
    if site.exists():
        site.rename(old)
    new.rename(site)
    shutil.rmtree(old, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(*(Path(a) for a in sys.argv[1:3])))
