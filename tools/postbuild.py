"""The one post-build step: the copy of the site about to be published, made light.

    python tools/postbuild.py SITE

tools/publish.py runs it on the copy it is about to publish, never on Sphinx's output folder
(which the next build reuses). It reads each page once and writes it at most once, and it is
idempotent: over its own output it changes nothing.

Every page links the same eleven stylesheets from Sphinx, the themes and the extensions: about
450 KB that block the first paint, most of it for classes the book never writes. Here they
become one, _static/primer-bundle.css, which every page links instead:
- the stylesheets concatenated in the pages' order, @imports inlined, url()s rebased;
- less Font Awesome's rules for icons no page shows, and the rules no page or script can use
  (primer_css.py);
- Font Awesome's webfonts, found through the theme's @font-face rules, cut down to the glyphs
  the bundle still draws (a few KB instead of about 240 KB), and those rules pointed at them.
The bundle opens with a comment listing the stylesheets it was made from.

Everything else that makes pages light happens while Sphinx writes them (_ext/primer.py,
_templates/layout.html): deferred scripts, no Font Awesome script, sized figures.
"""

from __future__ import annotations

import hashlib
import posixpath
import re
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from primer_css import purge, used_names  # noqa: E402

BUNDLE = "_static/primer-bundle.css"
ICON_FONT = "_static/primer-icons-{stem}.woff2"

STYLESHEET = re.compile(r'<link (?=[^>]*rel="stylesheet")[^>]*href="([^"?]+)(?:\?[^"]*)?"[^>]*/?>\n?')
CSS_IMPORT = re.compile(r"""@import\s+(?:url\()?(['"])([^'"]+)\1\)?\s*;""")
CSS_URL = re.compile(r"""url\((['"]?)(?![a-z]+:|/|#)([^)'"]+)\1\)""")
SOURCES = re.compile(r"\A/\*! tools/postbuild\.py bundled: (.*?) \*/")
ICON_RULE = re.compile(r'((?:\.fa-[a-z0-9-]+,?)+)\{--fa:"[^"]*"\}')
FONT_FACE = re.compile(r"@font-face\s*\{[^{}]*\}")
FONT_SRC = re.compile(r"""url\((['"]?)([^)'"]*webfonts/([\w.-]+)\.woff2)\1\)""")
CSS_ESCAPE = re.compile(r"\\([0-9a-fA-F]{4,6})")
PRIVATE_USE = re.compile(r"[\ue000-\uf8ff]")
ICON_MODIFIERS = {"solid", "regular", "brands", "classic", "lg", "fw", "xs", "sm", "xl", "1x", "2x", "3x"}


class PostBuildError(Exception):
    """The site is not what this step was written for (a theme changed): it says what to re-check."""


def site_pages(site: Path) -> list[Path]:
    """The HTML pages (anything under _static/ is not a page)."""
    return sorted(p for p in site.rglob("*.html") if "_static" not in p.relative_to(site).parts)


def page_stylesheets(site: Path, page: Path, html: str) -> list[str]:
    """The stylesheets a page links, as paths from the site's root, in order."""
    base = page.parent.relative_to(site).as_posix()
    return [posixpath.normpath(posixpath.join(base, href)) for href in STYLESHEET.findall(html)]


def concatenate(site: Path, order: list[str]) -> str:
    """The stylesheets in ORDER as one, their @imports inlined and url()s relative to _static/."""
    def stylesheet(name: str) -> str:
        folder = posixpath.dirname(name)

        def rebase(m: re.Match) -> str:
            target = posixpath.normpath(posixpath.join(folder, m.group(2)))
            return f"url({m.group(1)}{posixpath.relpath(target, '_static')}{m.group(1)})"

        def inline(m: re.Match) -> str:
            return stylesheet(posixpath.normpath(posixpath.join(folder, m.group(2))))

        css = (site / name).read_text(encoding="utf8")
        return f"/* {name} */\n" + CSS_URL.sub(rebase, CSS_IMPORT.sub(inline, css))

    return "\n".join(stylesheet(name) for name in order)


def bundle_sources(bundle_css: str) -> list[str]:
    """The stylesheets a bundle was made from, read from its opening comment."""
    m = SOURCES.match(bundle_css)
    return m.group(1).split() if m else []


def used_icons(pages: list[str]) -> set[str]:
    """The Font Awesome icons the pages show (`fa-sun` in a class gives `sun`)."""
    names = set()
    for html in pages:
        for classes in re.findall(r'class="([^"]*)"', html):
            names |= {c[3:] for c in classes.split() if c.startswith("fa-") and c[3:] not in ICON_MODIFIERS}
    return names


def drop_unused_icon_rules(css: str, used: set[str]) -> str:
    """Font Awesome's CSS names ~2,000 icons (about 19 KB gzipped); keep the rules of those used."""
    drawn = set()

    def keep(m: re.Match) -> str:
        icons = set(re.findall(r"\.fa-([a-z0-9-]+)", m.group(1)))
        drawn.update(icons)
        return m.group(0) if icons & used else ""

    css = ICON_RULE.sub(keep, css)
    if missing := used - drawn:
        raise PostBuildError(f"pages show icons the theme's CSS has no glyph for: {sorted(missing)}")
    return css


def glyphs(css: str) -> set[int]:
    """The private-use code points (icon glyphs) a stylesheet draws: escaped or literal."""
    found = {int(code, 16) for code in CSS_ESCAPE.findall(css)}
    found |= {ord(c) for c in PRIVATE_USE.findall(css)}
    return {c for c in found if 0xE000 <= c <= 0xF8FF}


def subset_icon_fonts(site: Path, css: str) -> str:
    """Font Awesome's webfonts cut down to the glyphs CSS draws; its @font-face rules (found
    by their webfonts/*.woff2 source, so no font file is named here) point at the subsets, or go
    when a font has no glyph left to draw."""
    from fontTools import subset
    from fontTools.ttLib import TTFont

    __import__("logging").getLogger("fontTools").setLevel("WARNING")  # its INFO lines are noise
    wanted = glyphs(css)
    faces = 0

    def cut(m: re.Match) -> str:
        nonlocal faces
        rule = m.group(0)
        src = FONT_SRC.search(rule)
        if src is None or "Font Awesome" not in rule:
            return rule
        faces += 1
        font = TTFont(site / "_static" / src.group(2), recalcTimestamp=False)  # the same bytes every run
        keep = sorted(wanted & set(font.getBestCmap()))
        if not keep:
            return ""
        subsetter = subset.Subsetter(subset.Options(layout_features=[], name_IDs=[], notdef_outline=True))
        subsetter.populate(unicodes=keep)
        subsetter.subset(font)
        font.flavor = "woff2"
        target = ICON_FONT.format(stem=src.group(3))
        font.save(site / target)
        return rule.replace(src.group(0), f"url({posixpath.relpath(target, '_static')})")

    css = FONT_FACE.sub(cut, css)
    if not faces and wanted:
        raise PostBuildError("the stylesheets draw icons but no @font-face rule loads Font Awesome's "
                             "webfonts/*.woff2: the theme changed how it ships its icons; re-check "
                             "subset_icon_fonts in tools/postbuild.py")
    return css


def make_bundle(site: Path, order: list[str], pages: list[str]) -> str:
    """The one stylesheet: ORDER's stylesheets, less what no page can use."""
    scripts = [p.read_text(encoding="utf8", errors="replace") for p in sorted((site / "_static").rglob("*.js"))]
    css = drop_unused_icon_rules(concatenate(site, order), used_icons(pages))
    css = subset_icon_fonts(site, purge(css, used_names(pages, scripts)))
    return f"/*! tools/postbuild.py bundled: {' '.join(order)} */\n{css}\n"


def run(site: Path) -> dict:
    """Make the site at SITE light, in place. Returns what it did, for the log."""
    pages = site_pages(site)
    texts = {page: page.read_text(encoding="utf8") for page in pages}
    links = {page: page_stylesheets(site, page, html) for page, html in texts.items()}
    to_bundle = {page: order for page, order in links.items() if order and order != [BUNDLE]}
    if not to_bundle:  # nothing links anything but the bundle: done already
        return {"pages": len(pages), "rewritten": 0}
    orders = {tuple(order) for order in to_bundle.values()}
    if len(orders) > 1:
        raise PostBuildError("the pages link different stylesheets, and this step makes one bundle for "
                             f"all: {sorted(orders)}")
    order = list(orders.pop())
    bundle = make_bundle(site, order, list(texts.values()))
    (site / BUNDLE).write_text(bundle, encoding="utf8")
    version = hashlib.sha256(bundle.encode()).hexdigest()[:10]
    for page in to_bundle:
        html = texts[page]
        first = STYLESHEET.search(html)
        href = posixpath.relpath(BUNDLE, page.parent.relative_to(site).as_posix() or ".")
        tag = f'<link rel="stylesheet" href="{href}?v={version}" />\n'
        page.write_text(html[: first.start()] + tag + STYLESHEET.sub("", html[first.start():]), encoding="utf8")
    full = sum((site / name).stat().st_size for name in order)
    return {"pages": len(pages), "rewritten": len(to_bundle), "stylesheets": len(order),
            "css_bytes": (full, len(bundle.encode()))}


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print(__doc__.split("\n\n")[1], file=sys.stderr)
        return 2
    try:
        done = run(Path(argv[0]))
    except PostBuildError as error:
        print(f"tools/postbuild.py: {error}", file=sys.stderr)
        return 1
    if done["rewritten"]:
        full, bundled = done["css_bytes"]
        print(f"postbuild: {done['stylesheets']} stylesheets ({full // 1024} KB) became one of {bundled // 1024} KB, "
              f"linked from {done['rewritten']} pages")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
