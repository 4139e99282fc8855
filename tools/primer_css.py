"""Drop the CSS rules no page can use (tools/postbuild.py, over the copy of the site to publish).

The themes ship all of Bootstrap and every component's styles: about 450 KB of CSS that blocks
the first paint, most of it for classes the book never writes. A rule is kept when each class
and id its selector names occurs in a page (a `class` or `id` attribute) or as a word in one of
the site's scripts (which add classes such as `show` or `tooltip` at run time). Selectors inside
:not(), :is(), :where() and :has(), and attribute selectors, are not checked: they are kept.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

# Classes the scripts build from parts (Bootstrap's `bs-${name}-${placement}`)
SAFE_PREFIXES = ("bs-tooltip-", "bs-popover-")
GROUPING = {"media", "supports", "layer", "container", "document", "scope", "starting-style"}

CLASS_ATTR = re.compile(r'\sclass="([^"]*)"')
ID_ATTR = re.compile(r'\sid="([^"]*)"')
WORD = re.compile(r"[A-Za-z_][\w-]*")
FUNCTIONAL = re.compile(r":(?:not|is|where|has|matches|-webkit-any|-moz-any)\([^()]*\)")
ATTRIBUTE = re.compile(r"\[[^\]]*\]")
NAME = r"((?:\\.|[\w-])+)"
CLASS = re.compile(r"\." + NAME)
ID = re.compile(r"#" + NAME)


def used_names(pages: Iterable[str], scripts: Iterable[str]) -> set[str]:
    """Every class and id the pages (their HTML) write, and every word in the site's scripts."""
    names: set[str] = set()
    for html in pages:
        for value in CLASS_ATTR.findall(html):
            names.update(value.split())
        names.update(ID_ATTR.findall(html))
    for script in scripts:
        names.update(WORD.findall(script))
    return names


def selector_used(selector: str, names: set[str]) -> bool:
    previous = None
    while previous != selector:  # innermost first, for nested :not(:is(...))
        previous, selector = selector, FUNCTIONAL.sub("", selector)
    selector = ATTRIBUTE.sub("", selector)
    for pattern in (CLASS, ID):
        for raw in pattern.findall(selector):
            name = raw.replace("\\", "")
            if name not in names and not name.startswith(SAFE_PREFIXES):
                return False
    return True


def split_selectors(prelude: str) -> list[str]:
    """Split a selector list at its top-level commas."""
    parts, depth, start = [], 0, 0
    for i, ch in enumerate(prelude):
        if ch in "([":
            depth += 1
        elif ch in ")]":
            depth -= 1
        elif ch == "," and depth == 0:
            parts.append(prelude[start:i])
            start = i + 1
    parts.append(prelude[start:])
    return [p.strip() for p in parts if p.strip()]


def end_of_string(css: str, i: int) -> int:
    quote, i = css[i], i + 1
    while i < len(css) and css[i] != quote:
        i += 2 if css[i] == "\\" else 1
    return i + 1


def end_of_comment(css: str, i: int) -> int:
    j = css.find("*/", i + 2)
    return len(css) if j < 0 else j + 2


def blocks(css: str):
    """The top-level statements of a stylesheet, as written: (prelude, body) for a rule or a
    block at-rule, (statement, None) for `@import ...;`, (comment, None) for a /*! notice */."""
    i, start, n = 0, 0, len(css)
    while i < n:
        c = css[i]
        if css.startswith("/*", i):
            j = end_of_comment(css, i)
            if css.startswith("/*!", i) and not css[start:i].strip():  # licence notices stay
                yield css[i:j], None
                start = j
            i = j
        elif c in "\"'":
            i = end_of_string(css, i)
        elif c == ";":
            yield css[start:i + 1].strip(), None
            i = start = i + 1
        elif c == "{":
            depth, j = 1, i + 1
            while j < n and depth:
                if css.startswith("/*", j):
                    j = end_of_comment(css, j)
                    continue
                if css[j] in "\"'":
                    j = end_of_string(css, j)
                    continue
                depth += {"{": 1, "}": -1}.get(css[j], 0)
                j += 1
            prelude = re.sub(r"/\*.*?\*/", "", css[start:i], flags=re.S).strip()
            yield prelude, css[i + 1:j - 1]
            i = start = j
        else:
            i += 1


def purge(css: str, names: set[str]) -> str:
    """The stylesheet less the rules no page can use. What is kept is kept as written."""
    out = []
    for prelude, body in blocks(css):
        if body is None:
            if prelude:
                out.append(prelude)
        elif prelude.startswith("@"):
            keyword = re.match(r"@([\w-]+)", prelude).group(1).lower()
            if keyword in GROUPING:
                inner = purge(body, names)
                if inner:
                    out.append(f"{prelude}{{{inner}}}")
            else:  # @font-face, @keyframes, @page, @property ...
                out.append(f"{prelude}{{{body}}}")
        else:
            kept = [s for s in split_selectors(prelude) if selector_used(s, names)]
            if kept:
                out.append(f"{','.join(kept)}{{{body}}}")
    return "\n".join(out)


def style_rules(css: str, context: str = ""):
    """Every style rule, as (the grouping at-rules around it, one selector, its declarations),
    one per selector of its selector list; for checking what purge() kept and dropped."""
    for prelude, body in blocks(css):
        if body is None:
            continue
        if prelude.startswith("@"):
            keyword = re.match(r"@([\w-]+)", prelude).group(1).lower()
            if keyword in GROUPING:
                yield from style_rules(body, f"{context}{prelude} ")
        else:
            for selector in split_selectors(prelude):
                yield context.strip(), selector, body.strip()
