"""Two independent executions give the same outputs, cell for cell (cells tagged `timing` aside)."""

import re

import nbformat
import pytest

from conftest import ADDED, CHAPTERS, REPO, executed_notebooks


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


def outputs(nb):
    """[(source, outputs) of each of the chapter's own code cells, its exercises' record cells
    included (their fingerprints are what a reader's answers are checked against), but those
    tagged timing]."""
    return [(cell.source, merged(cell.get("outputs", []))) for cell in nb.cells if cell.cell_type == "code"
            and not (ADDED | {"timing"}) & set(cell.metadata.get("tags", []))]


@pytest.mark.slow
def test_two_independent_executions_give_identical_outputs(book, second_execution):
    """The build's execution (tools/execute.py, in chapters/) and a second one of each notebook a
    reader downloads, alone in an empty folder, with the exercises' record cells kept
    (tests/run_notebooks.py, started in the background when the book is built), cell for cell."""
    first = executed_notebooks(book.builddir / ".jupyter_cache")
    assert sorted(first) == sorted(CHAPTERS)
    compared = 0
    for slug in CHAPTERS:
        built = outputs(first[slug][0])
        again = outputs(nbformat.read(second_execution / slug / "executed.ipynb", as_version=4))
        assert [s for s, _ in built] == [s for s, _ in again], f"{slug}: not the same code"
        for (source, out1), (_, out2) in zip(built, again, strict=True):
            assert out1 == out2, f"{slug}: outputs differ between two executions for the cell:\n{source}"
            compared += bool(out1)
    assert compared >= 10 * len(CHAPTERS)  # most chapters print or draw in many cells


def test_timing_cells_are_the_only_exception(book):
    """Cells that print timings are tagged, and the chapter tells the reader numbers differ."""
    for slug in CHAPTERS:
        text = (REPO / "chapters" / f"{slug}.md").read_text()
        if re.search(r"tags:\s*\[[^\]]*\btiming\b", text):
            prose = book.chapter(slug).get_text(" ").lower()
            assert "will differ" in prose or "numbers differ" in prose, slug
