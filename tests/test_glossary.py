"""The glossary and the index: terms defined once, linked from their first use in each chapter;
an index of the book's ideas and APIs; both reachable from the navigation."""

import re

from bs4 import NavigableString, Tag

from conftest import CHAPTERS

# Where a chapter's first use of a word is in another sense, the link goes on the first use in
# the glossary's sense (tools: the chapter is named here, with the reason).
LATER_FIRST_USE = {
    ("distributed", "process group"): "the first is torchrun's operating-system process group",
}


def glossary(book) -> dict[str, Tag]:
    """{term id: its <dd>} from the rendered glossary."""
    soup = book.page("glossary.html")
    return {dt["id"]: dt.find_next_sibling("dd") for dt in soup.select("dl.glossary > dt")}


def term_names(book) -> dict[str, str]:
    soup = book.page("glossary.html")
    return {
        dt["id"]: re.sub(r"\s+", " ", "".join(dt.find_all(string=True, recursive=False))).strip()
        for dt in soup.select("dl.glossary > dt")
    }


def term_link(tag: Tag) -> str | None:
    if tag.name == "a" and "reference" in tag.get("class", []):
        href = tag.get("href", "")
        if "glossary.html#term-" in href:
            return href.split("#", 1)[1]
    return None


SKIPPED_TAGS = {"h1", "h2", "h3", "h4", "h5", "h6", "pre", "code", "math", "script", "style", "dt", "a"}
SKIPPED_CLASSES = {
    "cell",
    "admonition-title",
    "learning-goals",
    "headerlink",
    "footnote-list",
    "citation",
    "bibliography",
    "math",
    "primer-verified",
}


def prose_with_term_links(node: Tag):
    """The chapter's running prose in order: ("text", s) and ("term", id, link text). Left out:
    code, headings, admonition titles, the learning goals, definition-list labels, other links,
    and the Exercises section, whose first uses are not the chapter's."""
    for child in node.children:
        if isinstance(child, NavigableString):
            yield ("text", str(child))
        elif isinstance(child, Tag):
            term = term_link(child)
            if term:
                yield ("term", term, child.get_text(" "))
            elif (
                child.name in SKIPPED_TAGS
                or SKIPPED_CLASSES & set(child.get("class", []))
                or (child.name == "section" and child.get("id") == "exercises")
            ):
                continue
            else:
                yield from prose_with_term_links(child)


def word_pattern(text: str) -> re.Pattern:
    """The link text and its singular or plural, as a whole word: "batches" also finds "batch"."""
    text = re.sub(r"\s+", " ", text.strip().lower())
    base = re.sub(r"(ch|sh|ss|x)es$", r"\1", text)
    if base == text and text.endswith("s") and not text.endswith("ss"):
        base = text[:-1]
    return re.compile(r"(?<![\w-])" + re.escape(base).replace(r"\ ", r"\s+") + r"(s|es)?(?![\w])", re.I)


def test_glossary_defines_at_least_80_terms_each_pointing_to_a_chapter(book):
    terms = glossary(book)
    assert len(terms) >= 80, len(terms)
    for term, dd in terms.items():
        text = dd.get_text(" ")
        assert len(text.split()) >= 8, f"{term}: {text!r}"
        links = [a["href"] for a in dd.select("a.reference.internal")]
        assert any(href.startswith("chapters/") for href in links), f"{term} points to no chapter: {links}"
    assert book.page("glossary.html").select_one('meta[name="description"]')


def test_every_term_is_linked_from_a_chapter(book):
    linked = set()
    for slug in CHAPTERS:
        linked |= {term_link(a) for a in book.chapter(slug).select("article a.reference.internal")} - {None}
    assert linked <= set(glossary(book)), linked - set(glossary(book))
    assert not set(glossary(book)) - linked, (
        f"terms no chapter links to: {sorted(set(glossary(book)) - linked)}"
    )


def test_each_chapter_links_a_term_at_its_first_use(book):
    """For every term a chapter links: its first link comes before any plain use of the link's
    word(s) in the chapter's prose (a use inside a longer term, such as "batch" in "batch
    normalisation", does not count). And a term is linked at most once per chapter."""
    names = term_names(book)
    failures, checked = [], 0
    for slug in CHAPTERS:
        article = book.chapter(slug).select_one("article")
        before, linked = [], {}
        for item in prose_with_term_links(article):
            if item[0] == "text":
                before.append(item[1])
                continue
            _, term, text = item
            linked.setdefault(term, []).append(text)
            if len(linked[term]) > 1 or (slug, names[term]) in LATER_FIRST_USE:
                continue
            checked += 1
            prose = re.sub(r"\s+", " ", "".join(before))
            pattern = word_pattern(text)
            # uses inside longer terms (unlinked repeats of them) are masked first
            for other in names.values():
                if other.lower() != names[term].lower() and pattern.search(other) and len(other) > len(text):
                    prose = re.sub(re.escape(other).replace(r"\ ", r"\s+"), " ", prose, flags=re.I)
            found = pattern.search(prose)
            if found:
                failures.append(
                    f"{slug}: {names[term]!r} linked at {text!r}, but used before: "
                    f"...{prose[max(0, found.start() - 60) : found.end() + 20]}..."
                )
        twice = {names[t]: texts for t, texts in linked.items() if len(texts) > 1}
        assert not twice, f"{slug}: terms linked more than once: {twice}"
    assert checked >= 400, checked
    assert not failures, "\n".join(failures)


def genindex_entries(book) -> list[str]:
    """Every entry and sub-entry of genindex.html with a link, as "entry" or "entry; sub-entry"."""
    soup = book.page("genindex.html")
    entries = []
    for li in soup.select("table.indextable td > ul > li"):
        own = li.find("a", recursive=False)
        name = (own.get_text() if own else "".join(li.find_all(string=True, recursive=False))).strip()
        if own:
            entries.append(name)
        for sub in li.select(":scope > ul > li"):
            if sub.a:
                entries.append(f"{name}; {sub.a.get_text().strip()}")
    return entries


def test_genindex_lists_the_books_ideas_and_apis(book):
    entries = genindex_entries(book)
    assert len(entries) >= 150, len(entries)
    names = {e.split(";")[0].strip() for e in entries}
    for api in [
        "torch.no_grad",
        "nn.Module",
        "DataLoader",
        "torch.compile",
        "torch.save",
        "torch.export.export",
        "nn.Linear",
        "torch.optim.AdamW",
        "F.scaled_dot_product_attention",
        "fully_shard",
    ]:
        assert api in names, api
    # an API's entry leads into the chapter that teaches it
    soup = book.page("genindex.html")
    entry = next(
        li
        for li in soup.select("table.indextable li")
        if li.get_text(" ").strip().startswith("torch.no_grad")
    )
    assert any(a["href"].startswith("chapters/autograd.html#") for a in entry.select("a")), entry


def test_glossary_and_index_are_in_the_navigation(book):
    for page in ["index.html", "chapters/tensors.html", "setup.html"]:
        nav = book.page(page).select_one("nav.bd-links") or book.page(page)
        hrefs = [a["href"].split("#")[0].rsplit("/", 1)[-1] for a in nav.select("a.reference.internal")]
        assert "glossary.html" in hrefs and "genindex.html" in hrefs, (page, hrefs)
