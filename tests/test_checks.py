"""Check my answer: every exercise's check, in the notebooks, is the build's and does its job.

chapters/primer_check.py fingerprints each exercise's answer in a hidden cell when the chapter
executes (and fails the build unless its solution passes and its starting point and wrong answers
fail); _ext/primer_checks.py turns those outputs into the readers' answer cells. These tests read
the executed notebooks (the cache) and the notebooks the site offers.
"""

import base64
import json
import subprocess
import sys
import textwrap

import nbformat
import pytest

from conftest import CHAPTERS, executed_notebooks
from primer_check import MIME


@pytest.fixture(scope="module")
def records(book) -> dict[str, list[dict]]:
    """{chapter: [record() payload, ...]} from the executed notebooks, in order."""
    found = {}
    for slug, (nb, _) in executed_notebooks(book.builddir / ".jupyter_cache").items():
        found[slug] = [dict(o["data"][MIME]) for c in nb.cells if c.cell_type == "code"
                       for o in c.get("outputs", []) if MIME in o.get("data", {})]
    return found


def reader_cells(book, slug: str, tag: str) -> list:
    nb = nbformat.read(book.html / "notebooks" / f"{slug}.ipynb", as_version=4)
    return [c for c in nb.cells if tag in c.metadata.get("tags", [])]


def test_every_exercise_has_a_check(book, records):
    for slug in CHAPTERS:
        exercises = book.chapter(slug).select("div.admonition.exercise")
        assert len(exercises) >= 3, slug
        ids = [r["exercise"] for r in records[slug]]
        assert ids == [f"{slug}-{i}" for i in range(1, len(exercises) + 1)], (slug, ids)


def test_the_notebooks_hold_the_builds_checks_and_no_solution_values(book, records):
    """The checks a reader runs are those recorded by the last execution of the solutions, which
    re-executes whenever a solution's code changes (the cache is keyed on the code)."""
    for slug in CHAPTERS:
        (checker,) = reader_cells(book, slug, "answer-checks")
        published = json.loads(checker.source.split('r"""', 1)[1].split('"""', 1)[0])
        assert published == {r["exercise"]: {"answer": r["answer"], "wrong": r["wrong"]} for r in records[slug]}, slug
        answers = reader_cells(book, slug, "answer")
        assert len(answers) == len(records[slug]), slug
        for cell, record in zip(answers, records[slug], strict=True):
            assert cell.source.rstrip().endswith(f'check("{record["exercise"]}", {record["answer_expression"]})')
            assert record["start"].rstrip() in cell.source
        nb = nbformat.read(book.html / "notebooks" / f"{slug}.ipynb", as_version=4)
        assert not any("record(" in c.source for c in nb.cells if c.cell_type == "code"), slug
        assert not any(MIME in json.dumps(c.get("outputs", [])) for c in nb.cells), slug


def test_each_check_accepts_its_solution_and_rejects_the_start_and_the_wrong_answers(book, records, tmp_path):
    """In a fresh process, with the primer_check.py the zip ships and the fingerprints of the
    readers' notebooks: each solution passes, each starting point fails, each recorded wrong
    answer gets its hint."""
    cases = []
    for slug in CHAPTERS:
        (checker,) = reader_cells(book, slug, "answer-checks")
        published = checker.source.split('r"""', 1)[1].split('"""', 1)[0]
        for record in records[slug]:
            path = tmp_path / f"{record['exercise']}.pt"
            path.write_bytes(base64.b64decode(record["values"]))
            cases.append((published, str(path), record["exercise"], [w["hint"] for w in record["wrong"]]))
    (tmp_path / "cases.json").write_text(json.dumps(cases))
    script = textwrap.dedent("""
        import json, sys, torch
        from primer_check import Checker
        failures = []
        for published, path, exercise, hints in json.load(open(sys.argv[1])):
            check, values = Checker(json.loads(published)), torch.load(path)
            if check.verdict(exercise, values["answer"]) is not None:
                failures.append(f"{exercise}: the solution fails")
            if check.verdict(exercise, values["start"]) is None:
                failures.append(f"{exercise}: the starting point passes")
            for value, hint in zip(values["wrong"], hints, strict=True):
                if check.verdict(exercise, value) != hint:
                    failures.append(f"{exercise}: a wrong answer does not get its hint {hint!r}")
        print(len(json.load(open(sys.argv[1]))), "checks;", "\\n".join(failures) or "all good")
        sys.exit(1 if failures else 0)
    """)
    zip_folder = book.html / "notebooks"
    import zipfile

    with zipfile.ZipFile(zip_folder / "pytorch-primer-notebooks.zip") as bundle:
        (tmp_path / "primer_check.py").write_bytes(bundle.read("primer_check.py"))
    result = subprocess.run([sys.executable, "-c", script, str(tmp_path / "cases.json")], cwd=tmp_path,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.startswith(f"{sum(len(r) for r in records.values())} checks;")
