"""The landing page's list of chapters: ```{chapter-overview}```.

For each part (each numbered toctree of the page, under its caption): every chapter's number,
its title as a link, its one-line description (the chapter's front matter,
``myst.html_meta.description``, which is also its search-engine description) and how long its
code ran when this edition was built. The run time is the one tools/execute.py stored with the
chapter's jupyter-cache record (``execution_seconds``), as MyST-NB copied it when it read the
page from the cache (the execution report, reports.md, shows the same numbers). Nothing is typed
by hand, so the page cannot fall behind the chapters.

The list depends on other pages (their titles, numbers, descriptions and cache records), so the
page that holds it is read again in every build (``env-get-outdated``) and the list is made when
the page is written (a post-transform), from the environment once every page has been read. On
the web it is one table per part; in the PDF the same tables.
"""

from __future__ import annotations

import copy
import html

from docutils import nodes
from sphinx import addnodes
from sphinx.application import Sphinx
from sphinx.environment.collectors import EnvironmentCollector
from sphinx.transforms.post_transforms import SphinxPostTransform
from sphinx.util import logging
from sphinx.util.docutils import SphinxDirective
from sphinx.util.nodes import make_refnode

logger = logging.getLogger(__name__)


class chapter_overview(nodes.General, nodes.Element):
    """Placeholder, replaced when the page is written; ``parts``: [(caption, [docname, ...])]."""


class ChapterOverview(SphinxDirective):
    """``{chapter-overview}``: the parts of this page's numbered toctrees, chapter by chapter."""

    def run(self) -> list[nodes.Node]:
        node = chapter_overview(parts=[])
        self.set_source_info(node)
        return [node]


class OverviewCollector(EnvironmentCollector):
    """What the overview needs from each page as it is read, kept in the environment (and
    merged back from the processes of a parallel read): every page's description; which pages
    hold an overview, and the parts of their numbered toctrees (which the page lists after the
    directive, so they are known only once the whole page is parsed)."""

    def clear_doc(self, app: Sphinx, env, docname: str) -> None:
        env.primer_descriptions.pop(docname, None)
        env.primer_overview_pages.discard(docname)

    def merge_other(self, app: Sphinx, env, docnames: set[str], other) -> None:
        for docname in docnames:
            if docname in other.primer_descriptions:
                env.primer_descriptions[docname] = other.primer_descriptions[docname]
        env.primer_overview_pages |= other.primer_overview_pages & set(docnames)

    def process_doc(self, app: Sphinx, doctree: nodes.document) -> None:
        env = app.env
        for meta in doctree.findall(nodes.meta):
            if meta.get("name") == "description":
                env.primer_descriptions[env.docname] = meta["content"]
        overviews = list(doctree.findall(chapter_overview))
        if not overviews:
            return
        env.primer_overview_pages.add(env.docname)
        parts = [
            (toctree.get("caption") or "", [docname for _title, docname in toctree["entries"]])
            for toctree in doctree.findall(addnodes.toctree)
            if toctree.get("numbered")
        ]
        for node in overviews:
            node["parts"] = parts

    def get_outdated_docs(self, app: Sphinx, env, added, changed, removed) -> list[str]:
        """The pages with an overview are read again in every build, so that it is written
        again with the other pages' current titles, numbers, descriptions and run times."""
        return sorted(env.primer_overview_pages & set(env.found_docs) - added - changed)


def init_env(app: Sphinx) -> None:
    """The collector's fields, before anything is read (also in an environment pickled before
    this extension existed)."""
    env = app.env
    if not hasattr(env, "primer_descriptions"):
        env.primer_descriptions = {}
        env.primer_overview_pages = set()


def about(seconds: float) -> str:
    """A run time as the page shows it: to the second under 10 s, to 5 s under two minutes,
    then to the minute."""
    if seconds < 10:
        return f"about {max(1, round(seconds))} s"
    if seconds < 120:
        return f"about {5 * round(seconds / 5)} s"
    return f"about {round(seconds / 60)} min"


def run_seconds(env, docname: str) -> float | None:
    """execution_seconds of the cache record MyST-NB read the chapter's outputs from."""
    exec_data = (getattr(env, "nb_metadata", {}).get(docname) or {}).get("exec_data") or {}
    return exec_data.get("runtime")


def cell(*children: nodes.Node) -> nodes.entry:
    return nodes.entry("", nodes.paragraph("", "", *children))


class MakeChapterOverview(SphinxPostTransform):
    """Replace each placeholder with one table per part."""

    default_priority = 5  # before the references are resolved (10)

    def run(self, **kwargs) -> None:
        overviews = list(self.document.findall(chapter_overview))
        for node in overviews:
            node.replace_self(self.tables(node["parts"]))
        if overviews and self.app.builder.format == "html":
            # On the web the tables take the place of the numbered toctrees' plain lists of
            # links on this page (the navigation, made from the stored page, lists everything).
            for toctree in self.document.findall(addnodes.toctree):
                if toctree.get("numbered"):
                    toctree["hidden"] = True

    def tables(self, parts: list[tuple[str, list[str]]]) -> list[nodes.Node]:
        env, builder = self.env, self.app.builder
        result: list[nodes.Node] = []
        for caption, docnames in parts:
            table = nodes.table(classes=["primer-chapters"])
            table["ids"] = ["chapters-" + nodes.make_id(caption)]  # HTML: a captioned table needs one
            table += nodes.title(caption, caption)
            group = nodes.tgroup(cols=3)
            table += group
            group += nodes.colspec(colwidth=30, stub=1)  # the chapter heads its row
            group += nodes.colspec(colwidth=56)
            group += nodes.colspec(colwidth=14)
            head = nodes.row()
            for label in ("Chapter", "What it covers", "Run time"):
                head += cell(nodes.Text(label))
            group += nodes.thead("", head)
            body = nodes.tbody()
            group += body
            for docname in docnames:
                title = env.titles.get(docname)
                if title is None:
                    continue
                number = (env.toc_secnumbers.get(docname) or {}).get("") or ()
                label = nodes.inline()
                if number:
                    label += nodes.Text(".".join(map(str, number)) + ". ")
                label += [copy.deepcopy(child) for child in title.children]
                link = make_refnode(builder, env.docname, docname, "", label)
                seconds = run_seconds(env, docname)
                row = nodes.row()
                row += cell(link)
                line = env.primer_descriptions.get(docname, "")
                if not line:
                    logger.warning(
                        "no description in the front matter (myst.html_meta.description): the "
                        "landing page's overview would show none",
                        location=docname,
                        type="primer",
                        subtype="overview",
                    )
                row += cell(nodes.Text(line))
                row += cell(nodes.Text(about(seconds) if seconds is not None else "no code"))
                body += row
            result.append(table)
        return result


def describe_for_previews(app: Sphinx, pagename: str, templatename: str, context: dict, doctree) -> None:
    """A page's social preview card (og:description) says what its front-matter description
    says. sphinxext-opengraph, when the site's URL is set (conf.py), builds og:description from
    the page's first lines, which on a chapter are the "Verified with PyTorch" note, and ignores
    the page's meta description (sphinx-doc/sphinxext-opengraph#41; a setting for it is proposed
    in sphinx-doc/sphinxext-opengraph#147). It takes a page's own ``og:`` values from the
    page's metadata, so the description is handed to it there, before it runs (priority 500)."""
    text = app.env.primer_descriptions.get(pagename)
    if text and "sphinxext.opengraph" in app.extensions:
        context["meta"] = {**(context.get("meta") or {}), "og:description": html.escape(text, quote=False)}


def setup(app: Sphinx) -> dict:
    app.add_node(chapter_overview)
    app.add_directive("chapter-overview", ChapterOverview)
    app.connect("builder-inited", init_env)
    app.add_env_collector(OverviewCollector)
    app.add_post_transform(MakeChapterOverview)
    app.connect("html-page-context", describe_for_previews, priority=400)
    return {"parallel_read_safe": True, "parallel_write_safe": True, "version": "1"}
