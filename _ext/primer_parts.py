"""A book in parts: chapters numbered on across the captioned toctrees of the root page.

Sphinx numbers each ``:numbered:`` toctree from 1, so a book whose parts are separate toctrees
(one caption each) would restart its chapter numbers in every part, while the PDF counts on
(sphinx-doc/sphinx#3357, #8128; the fix proposed in #4733 was not merged). Here the k-th
numbered chapter of the root page is chapter k on the web too, as in the PDF. The package
sphinx-multitoc-numbering (last release 2021) does this by replacing Sphinx's
TocTreeCollector.assign_section_numbers with a copy of Sphinx 3's; this hook only shifts the
numbers Sphinx assigned, through the environment's public attributes.
"""

from __future__ import annotations

from docutils import nodes
from sphinx.application import Sphinx


def number_chapters_across_parts(app: Sphinx, env) -> list[str]:
    root = app.config.root_doc
    changed = []
    chapter = 0
    for docname in env.toctree_includes.get(root, []):
        numbers = env.toc_secnumbers.get(docname)
        if not numbers:
            continue  # an unnumbered toctree (the appendices)
        chapter += 1
        def on(number, chapter=chapter):
            return (chapter, *number[1:]) if number else number

        renumbered = {anchor: on(number) for anchor, number in numbers.items()}
        if renumbered == numbers:
            continue
        # Sphinx keeps the numbers in three places: the page's table, its toc's references
        # (the navigation) and its title (next/previous links).
        env.toc_secnumbers[docname] = renumbered
        for reference in env.tocs[docname].findall(nodes.reference):
            if reference.get("secnumber"):
                reference["secnumber"] = on(reference["secnumber"])
        title = env.titles.get(docname)
        if title is not None and title.get("secnumber"):
            title["secnumber"] = on(title["secnumber"])
        changed.append(docname)
    return changed


def setup(app: Sphinx) -> dict:
    app.connect("env-get-updated", number_chapters_across_parts, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True, "version": "1"}
