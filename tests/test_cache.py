"""Honest execution: a chapter re-executes when its code, the lock, or a file it reads changes,
and only then, and the published page shows the new outputs (tools/execute.py, _ext/primer.py).

jupyter-cache keys a notebook on its code cells alone; these cases change everything else.
"""

import pytest

from conftest import fixture_book, run_make

pytestmark = [pytest.mark.slow, pytest.mark.timeout(180)]  # three builds, four executions of the fixture book

CHAPTER = """---
jupytext:
  text_representation:
    extension: .md
    format_name: myst
    format_version: 0.13
kernelspec:
  display_name: Python 3
  language: python
  name: python3
---

(chapter-ok)=
# A chapter that reads a helper and a data file

```{code-cell} ipython3
import fixture_helper

print("value:", fixture_helper.value())
```
"""

HELPER = '''from pathlib import Path


def value():
    return Path("data/value.txt").read_text().strip() + SUFFIX


SUFFIX = "-a"
'''


@pytest.fixture(scope="module")
def book(tmp_path_factory):
    root = fixture_book(tmp_path_factory.mktemp("cache") / "book")
    (root / "chapters" / "ok.md").write_text(CHAPTER)
    (root / "chapters" / "fixture_helper.py").write_text(HELPER)
    (root / "chapters" / "data").mkdir()
    (root / "chapters" / "data" / "value.txt").write_text("one\n")
    (root / "chapters" / "data" / "unrelated.csv").write_text("x\n1\n")
    (root / "requirements.txt").write_text("torch==2.13.0\n")
    return root


def build(root):
    result = run_make("html", root / "_build", cwd=root)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout, (root / "_build" / "html" / "chapters" / "ok.html").read_text()


def execute(root):
    """Only what decides re-execution (tools/execute.py, as `make html` runs it first), where
    the page is not what is checked: a Sphinx build of its own would only add seconds."""
    result = run_make("execute", root / "_build", cwd=root)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def test_outputs_follow_every_input_and_nothing_else(book):
    out, page = build(book)
    assert "Executed  chapters/ok.md" in out and "value: one-a" in page

    # Nothing changed, or only a file the chapter does not read: nothing executes.
    (book / "chapters" / "data" / "unrelated.csv").write_text("x\n2\n")
    out = execute(book)
    assert "Cached    chapters/ok.md" in out and "Executing" not in out

    # A data file it reads: re-executed, and the page shows the new output.
    (book / "chapters" / "data" / "value.txt").write_text("two\n")
    out, page = build(book)
    assert "Inputs of chapters/ok.md changed since its last run: chapters/data/value.txt" in out
    assert "Executed  chapters/ok.md" in out and "value: two-a" in page and "value: one-a" not in page

    # A helper module it imports.
    (book / "chapters" / "fixture_helper.py").write_text(HELPER.replace('"-a"', '"-b"'))
    out, page = build(book)
    assert "chapters/fixture_helper.py" in out and "value: two-b" in page

    # The lock: every chapter runs again with the new environment.
    (book / "requirements.txt").write_text("torch==2.13.0\n# a new lock\n")
    out = execute(book)
    assert "Inputs of chapters/ok.md changed since its last run: requirements.txt" in out
    assert "Executed  chapters/ok.md" in out

    out = execute(book)  # and then it is cached again
    assert "Executing" not in out
