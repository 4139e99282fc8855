"""tools/canary_compare.py on two tiny builds made here: caches written with jupyter-cache's API
(as tools/execute.py writes them) and a build log each. No book is built: this takes seconds."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from conftest import REPO

pytestmark = pytest.mark.timeout(60)

TOOL = REPO / "tools" / "canary_compare.py"
OLD_WARNING = "{build}/staging/html/chapters/tensors.html: WARNING: a warning both builds print"
NEW_WARNING = "/book/chapters/tensors.md:31: WARNING: stderr output: UserWarning: this will change"


def notebook(total: str, timing: str) -> nbformat.NotebookNode:
    v4 = nbformat.v4
    nb = v4.new_notebook(metadata={"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}})
    nb.cells = [
        v4.new_markdown_cell("# Tensors"),
        v4.new_code_cell("print('hello world')", outputs=[  # one print, in two messages
            v4.new_output("stream", name="stdout", text="hello "), v4.new_output("stream", name="stdout", text="world\n")]),
        v4.new_code_cell("torch.tensor([1, 2]).sum()",
                         outputs=[v4.new_output("execute_result", data={"text/plain": total}, execution_count=2)]),
        v4.new_code_cell("%timeit torch.ones(3)", metadata={"tags": ["timing"]},
                         outputs=[v4.new_output("stream", name="stdout", text=timing)]),
    ]
    return nb


# The chapter's source, as far as the tool reads it: where each code cell starts (lines 5, 9, 13).
SOURCE = """---
kernelspec: {name: python3}
---
# Tensors
```{code-cell} ipython3
print('hello world')
```

```{code-cell} ipython3
torch.tensor([1, 2]).sum()
```

```{code-cell} ipython3
%timeit torch.ones(3)
```
"""


def build(folder: Path, chapters: dict[str, nbformat.NotebookNode], log: str) -> Path:
    """A build folder as `make html BUILDDIR=folder` leaves it: the cache and the build's output."""
    from jupyter_cache import get_cache
    from jupyter_cache.base import CacheBundleIn

    cache = get_cache(str(folder / ".jupyter_cache"))
    for name, nb in chapters.items():
        # Each build in its own checkout: the cache records absolute paths, the tool compares names.
        uri = folder.parent / f"checkout-{folder.name}" / "chapters" / name
        uri.parent.mkdir(parents=True, exist_ok=True)
        uri.write_text(SOURCE)
        cache.cache_notebook_bundle(CacheBundleIn(nb, str(uri), data={"execution_seconds": 1.0}),
                                    check_validity=False, overwrite=True)
    (folder / "build.log").write_text(log.format(build=folder))
    return folder


def log(*lines: str) -> str:
    return "\n".join(["Executing chapters/tensors.md", "Executed  chapters/tensors.md in 1.0 s", *lines,
                      "The book is in {build}/html/index.html"]) + "\n"


def compare(base: Path, new: Path, tmp_path: Path) -> tuple[int, str]:
    out = tmp_path / "report.md"
    run = subprocess.run([sys.executable, str(TOOL), str(base), str(new), "--out", str(out),
                          "--base-name", "lock", "--new-name", "newest"], capture_output=True, text=True)
    assert run.returncode in (0, 1), run.stdout + run.stderr
    assert out.read_text() == run.stdout  # the report printed is the report written
    return run.returncode, run.stdout


def test_identical_builds_report_nothing_changed(tmp_path):
    base = build(tmp_path / "lock", {"tensors.md": notebook("tensor(3)", "1.1 µs")}, log(OLD_WARNING))
    # The timing cell differs, as it does on every run: it is not compared.
    new = build(tmp_path / "newest", {"tensors.md": notebook("tensor(3)", "9.9 µs")}, log(OLD_WARNING))
    status, report = compare(base, new, tmp_path)
    assert status == 0, report
    assert "Nothing changed" in report
    assert "1 chapter(s), 2 code cell(s)" in report


def test_a_changed_output_and_a_new_warning_are_reported_by_chapter_and_cell(tmp_path):
    base = build(tmp_path / "lock", {"tensors.md": notebook("tensor(3)", "1.1 µs")}, log(OLD_WARNING))
    new = build(tmp_path / "newest", {"tensors.md": notebook("tensor(4)", "9.9 µs")},
                log(OLD_WARNING, NEW_WARNING))
    status, report = compare(base, new, tmp_path)
    assert status == 1, report
    assert "## Changed outputs" in report and "### `chapters/tensors.md`" in report
    assert "Code cell 2 (line 9): `torch.tensor([1, 2]).sum()`" in report
    assert "-tensor(3)" in report and "+tensor(4)" in report
    assert "Code cell 1" not in report and "Code cell 3" not in report  # unchanged; timing
    assert "## New warnings with newest" in report and NEW_WARNING in report
    assert "a warning both builds print" not in report  # in both logs, under each build's own path


def test_a_chapter_that_failed_is_reported_with_its_error(tmp_path):
    chapters = {"tensors.md": notebook("tensor(3)", "1 µs"), "data.md": notebook("tensor(3)", "1 µs")}
    base = build(tmp_path / "lock", chapters, log())
    error = "ERROR: chapters/data.md:9: code cell 2 (the cell starting at line 9) raised an error"
    new = build(tmp_path / "newest", {"tensors.md": chapters["tensors.md"]},
                log("Executing chapters/data.md", "FAILED    chapters/data.md after 0.5 s", error))
    status, report = compare(base, new, tmp_path)
    assert status == 1, report
    assert "## Chapters that failed with newest" in report and "- `chapters/data.md`" in report
    assert error in report
    assert "## New warnings" not in report  # the error is shown once, with its chapter


def test_a_folder_without_its_cache_or_log_is_refused(tmp_path):
    base = build(tmp_path / "lock", {"tensors.md": notebook("tensor(3)", "1 µs")}, log())
    (tmp_path / "empty").mkdir()
    run = subprocess.run([sys.executable, str(TOOL), str(base), str(tmp_path / "empty")], capture_output=True, text=True)
    assert run.returncode == 2
    assert "empty/.jupyter_cache is missing" in run.stderr
