"""Check-my-answer cells for the readers' notebooks, from the fingerprints the build recorded.

Each exercise's hidden `record(...)` cell (chapters/primer_check.py) emits, when the chapter is
executed, the fingerprint of the book's answer and of the plausible wrong answers as a cell output
of type primer_check.MIME; the jupyter-cache keeps it with the other outputs, so the fingerprints
are always those of the solutions as last executed (a changed solution re-executes the chapter).

In the notebook a reader downloads, for each exercise:
- the record cell is left out (it needs the solution's variables and prints nothing useful);
- after the exercise's text, a cell for the reader's answer: the exercise's starting point and
  `check("tensors-1", <answer>)`;
- the solution's text and code stay after it, folded: the text in an HTML <details> element,
  the code (and the book's hidden checks) with JupyterLab's source_hidden and Colab's form view;
- one cell before the first answer cell makes `check` from the chapter's fingerprints.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))
try:
    from execute import conf_value, read_notebook
finally:
    sys.path.remove(str(ROOT / "tools"))

# Read from the file, not imported: primer_check imports torch, which took 1.7 s of every Sphinx
# run (the book's HTML, PDF and EPUB, and every fixture book in the tests).
MIME = conf_value("MIME", ROOT / "chapters" / "primer_check.py")

SOLUTION = "::::{dropdown} Solution"  # where an exercise's text ends and its solution begins


def recorded(executed) -> list[tuple[str, dict]]:
    """(source of the record cell, its payload) for each record cell of an executed notebook."""
    found = []
    for cell in executed.cells:
        for output in cell.get("outputs", []) if cell.cell_type == "code" else []:
            if MIME in output.get("data", {}):
                found.append((cell.source, dict(output["data"][MIME])))
    return found


def public(payload: dict) -> dict:
    """What a reader's notebook holds of a record: the fingerprints and hints, not the values."""
    return {"answer": payload["answer"], "wrong": payload["wrong"]}


def answer_cell(payload: dict) -> nbformat.NotebookNode:
    exercise = payload["exercise"]
    source = (f"# Your answer to exercise {exercise}: change the code below, then run this cell.\n"
              f"{payload['start'].rstrip()}\n\n"
              f"check({json.dumps(exercise)}, {payload['answer_expression']})")
    return nbformat.v4.new_code_cell(source, metadata={"tags": ["answer"]})


def checker_cell(checks: dict) -> nbformat.NotebookNode:
    source = ("# check(exercise, answer) says whether your answer to an exercise matches the book's,\n"
              "# without showing the solution: it compares it with fingerprints of the book's answers,\n"
              "# recorded when this edition was built (primer_check.py explains how).\n"
              "import json\n\nfrom primer_check import Checker\n\n"
              f'check = Checker(json.loads(r"""{json.dumps(checks, separators=(",", ":"))}"""))')
    return nbformat.v4.new_code_cell(source, metadata={"tags": ["answer-checks"], "jupyter": {"source_hidden": True}})


def folded(text: str) -> str:
    """A solution's MyST dropdown as an HTML <details> element, which Jupyter and Colab show folded
    (they show MyST directives as plain text)."""
    lines = text.splitlines()
    title = lines[0].removeprefix("::::{dropdown}").strip()
    end = next((i for i, line in enumerate(lines[1:], 1) if line.strip() == "::::"), len(lines))
    body = lines[1:end]
    while body and (body[0].startswith(":") or not body[0].strip()):  # its options, blank lines
        body.pop(0)
    rest = lines[end + 1:]
    return "\n".join([f"<details><summary>{title}</summary>", "", *body, "", "</details>", *rest]).rstrip() + "\n"


def add_checks(nb: nbformat.NotebookNode, executed: nbformat.NotebookNode,
               keep_records: bool = False) -> nbformat.NotebookNode:
    """NB (a chapter's notebook, no outputs) with its record cells replaced by answer cells, as
    the module docstring says. EXECUTED is the chapter as the build executed it. KEEP_RECORDS:
    the record cells stay too, marked `primer_record` (tests/run_notebooks.py: a second
    execution whose records the determinism test compares with the build's)."""
    records = dict(recorded(executed))
    if not records:
        return nb
    cells, pending, checks = [], [], {}
    # Walk the cells; an exercise's text is the markdown that holds SOLUTION. Its record cell
    # comes later (after the solution code), so the cells are first split, then the answer cell
    # goes where the solution starts: at the split.
    split: list = []
    for cell in nb.cells:
        if cell.cell_type == "markdown" and SOLUTION in cell.source:
            head, _, tail = cell.source.partition(SOLUTION)
            if head.strip():
                split.append(nbformat.v4.new_markdown_cell(head.rstrip() + "\n"))
            marker = nbformat.v4.new_markdown_cell(folded(SOLUTION + tail))
            marker.metadata["primer_solution"] = True
            split.append(marker)
        else:
            split.append(cell)
    for cell in split:
        if cell.cell_type == "code" and cell.source in records:
            payload = records[cell.source]
            if not pending:
                raise ValueError(f"{payload['exercise']}: a record cell with no exercise solution before it")
            cells.insert(pending.pop(), answer_cell(payload))  # the solution just before the record
            pending.clear()  # an exercise without a record cell gets no answer cell
            checks[payload["exercise"]] = public(payload)
            if not keep_records:
                continue
            cell.metadata["primer_record"] = True
        if cell.metadata.pop("primer_solution", False):
            pending.append(len(cells))
        if cell.cell_type == "code" and {"hide-cell", "remove-cell"} & set(cell.metadata.get("tags", [])):
            # the solution's code and the book's hidden checks: folded (JupyterLab; Colab's forms)
            cell.metadata.setdefault("jupyter", {})["source_hidden"] = True
            cell.metadata["cellView"] = "form"
        cells.append(cell)
    first = min(i for i, c in enumerate(cells) if "answer" in c.metadata.get("tags", []))
    cells.insert(first, checker_cell(checks))
    nb.cells = cells
    return nb


def executed_notebook(source: Path, root: Path) -> nbformat.NotebookNode:
    """The chapter SOURCE as the build last executed it: the jupyter-cache entry for its current
    code, in the cache conf.py names (nb_execution_cache_path, under BOOK_BUILDDIR)."""
    from jupyter_cache import get_cache

    cache = get_cache(str(Path(os.environ.get("BOOK_BUILDDIR", root / "_build")) / ".jupyter_cache"))
    try:
        record = cache.match_cache_notebook(read_notebook(source, conf_value("myst_enable_extensions", root / "conf.py")))
    except KeyError:
        raise RuntimeError(f"{source.relative_to(root)}: not in the execution cache, so its exercises' "
                           "checks are unknown; run tools/execute.py (make html does)") from None
    return cache.get_cache_bundle(record.pk).nb


def add_checks_step(nb: nbformat.NotebookNode, source: Path, root: Path,
                    keep_records: bool = False) -> nbformat.NotebookNode:
    """The step of _ext/primer_notebooks.py's STEPS: answer cells where the chapter records checks."""
    if not any(c.cell_type == "code" and "record(" in c.source for c in nb.cells):
        return nb
    return add_checks(nb, executed_notebook(source, root), keep_records)
