"""Two clean builds give the same executed outputs, cell for cell (cells tagged `timing` aside)."""

import re

import pytest

from conftest import CHAPTERS, REPO, executed_notebooks


def merged(outputs):
    """Outputs as the page shows them: consecutive stream pieces joined (nb_merge_streams), as a
    kernel may send one print's text in one message or in two."""
    result = []
    for out in outputs:
        out = {k: v for k, v in out.items() if k not in ("execution_count", "metadata")}
        if result and out.get("output_type") == "stream" and result[-1].get("output_type") == "stream" \
                and result[-1]["name"] == out["name"]:
            result[-1] = {**result[-1], "text": result[-1]["text"] + out["text"]}
        else:
            result.append(out)
    return result


def outputs_by_chapter(cache_dir):
    """{chapter: [(source, outputs) of each code cell but those tagged timing]} from CACHE_DIR."""
    result = {}
    for slug, (nb, _) in executed_notebooks(cache_dir).items():
        result[slug] = [(cell.source, merged(cell.get("outputs", []))) for cell in nb.cells
                        if cell.cell_type == "code" and "timing" not in cell.metadata.get("tags", [])]
    return result


@pytest.mark.slow
def test_two_clean_builds_give_identical_outputs(book, second_execution):
    """The build's execution and a second one (tools/execute.py into a cache of its own, as a
    clean build runs it; started in the background when the book is built)."""
    first, again = outputs_by_chapter(book.builddir / ".jupyter_cache"), outputs_by_chapter(second_execution)
    assert sorted(first) == sorted(again) == sorted(CHAPTERS)
    for slug in CHAPTERS:
        assert len(first[slug]) == len(again[slug]), slug
        for (source, out1), (_, out2) in zip(first[slug], again[slug], strict=True):
            assert out1 == out2, f"{slug}: outputs differ between two builds for the cell:\n{source}"


def test_timing_cells_are_the_only_exception(book):
    """Cells that print timings are tagged, and the chapter tells the reader numbers differ."""
    for slug in CHAPTERS:
        text = (REPO / "chapters" / f"{slug}.md").read_text()
        if re.search(r"tags:\s*\[[^\]]*\btiming\b", text):
            prose = book.chapter(slug).get_text(" ").lower()
            assert "will differ" in prose or "numbers differ" in prose, slug
