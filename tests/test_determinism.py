"""Two clean builds give the same executed outputs, cell for cell (cells tagged `timing` aside)."""

import re
import subprocess
import sys

from conftest import CHAPTERS, REPO


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
    from jupyter_cache import get_cache

    cache = get_cache(str(cache_dir))
    result = {}
    for record in cache.list_cache_records():
        nb = cache.get_cache_bundle(record.pk).nb
        cells = []
        for cell in nb.cells:
            if cell.cell_type != "code" or "timing" in cell.metadata.get("tags", []):
                continue
            cells.append((cell.source, merged(cell.get("outputs", []))))
        result[record.uri] = cells
    return result


def test_two_clean_builds_give_identical_outputs(book, tmp_path):
    second = tmp_path / "cache"
    run = subprocess.run([sys.executable, str(REPO / "tools" / "execute.py"), "--cache", str(second)],
                         capture_output=True, text=True, cwd=REPO)
    assert run.returncode == 0, run.stdout + run.stderr
    first, again = outputs_by_chapter(book.builddir / ".jupyter_cache"), outputs_by_chapter(second)
    chapters = {uri for uri in first if uri.split("/")[-1][:-3] in CHAPTERS}
    assert len(chapters) == len(CHAPTERS)
    for uri in sorted(chapters):
        assert uri in again, uri
        assert len(first[uri]) == len(again[uri]), uri
        for (source, out1), (_, out2) in zip(first[uri], again[uri], strict=True):
            assert out1 == out2, f"{uri}: outputs differ between two builds for the cell:\n{source}"


def test_timing_cells_are_the_only_exception(book):
    """Cells that print timings are tagged, and the chapter tells the reader numbers differ."""
    for slug in CHAPTERS:
        text = (REPO / "chapters" / f"{slug}.md").read_text()
        if re.search(r"tags:\s*\[[^\]]*\btiming\b", text):
            prose = book.chapter(slug).get_text(" ").lower()
            assert "will differ" in prose or "numbers differ" in prose, slug
