"""A broken chapter fails the build loudly, names the file and the cell, and publishes nothing.

Each case is a tiny fixture book (tests/fixtures/book) whose one chapter is replaced by a broken
one from tests/fixtures/cases/. The book's own conf.py, _ext/ and _static/ are used.
"""

import hashlib
import shutil

import pytest

from conftest import REPO, fixture_book, run_make

FIXTURES = REPO / "tests" / "fixtures"

# case -> what the output must say (besides the file name); ok.md is the broken chapter's name.
CASES = {
    "raises": ["chapters/ok.md:21: code cell 2", "raised an error", "y = x / 0", "ZeroDivisionError: division by zero"],
    "syntax-error": ["chapters/ok.md:21: code cell 2", "def broken(:", "SyntaxError: invalid syntax"],
    "timeout": ["chapters/ok.md:17: code cell 1", "timed out", "time.sleep(30)", "longer than the 3 s timeout"],
    "dead-kernel": ["chapters/ok.md:21: code cell 2", "killed its kernel", "os._exit(1)", "kernel died"],
    "import-missing": ["chapters/ok.md:21: code cell 2", "ModuleNotFoundError: No module named 'package_that_is_not_installed'", "requirements.txt"],
    "no-header": ["chapters/ok.md:1:", "no jupytext notebook header", "silently not run"],
    "broken-xref": ["chapters/ok.md:21: WARNING: undefined label: 'a-label-that-does-not-exist'"],
    "missing-image": ["chapters/ok.md:21: WARNING: image file not readable: chapters/images/not-there.png"],
    "unknown-directive": ["chapters/ok.md:21: WARNING: Unknown directive type: 'no-such-directive'"],
    "unknown-citation": ['chapters/ok.md:21: WARNING: could not find bibtex key "no-such-key-2026"'],
}


def site_digest(site):
    digest = hashlib.sha256()
    for path in sorted(p for p in site.rglob("*") if p.is_file()):
        digest.update(str(path.relative_to(site)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


@pytest.fixture(scope="module")
def good_book(tmp_path_factory):
    """The fixture book, built once successfully: the 'last good site' every case must keep."""
    root = fixture_book(tmp_path_factory.mktemp("fixture") / "book")
    result = run_make("html", root / "_build", cwd=root)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "2" in (root / "_build" / "html" / "chapters" / "ok.html").read_text()
    return root


def test_cases_cover_every_fixture():
    assert set(CASES) == {p.stem for p in (FIXTURES / "cases").glob("*.md")}


@pytest.mark.parametrize("case", sorted(CASES))
def test_broken_chapter_fails_clearly_and_publishes_nothing(case, good_book, tmp_path):
    root = tmp_path / "book"
    shutil.copytree(good_book, root, symlinks=True)
    shutil.copy(FIXTURES / "cases" / f"{case}.md", root / "chapters" / "ok.md")
    site = root / "_build" / "html"
    before = site_digest(site)

    result = run_make("html", root / "_build", cwd=root)
    output = result.stdout + result.stderr

    assert result.returncode != 0, output
    for expected in CASES[case]:
        assert expected in output, f"{case}: {expected!r} not in:\n{output}"
    assert site_digest(site) == before, "the last good site was changed by a failed build"
    assert not (site / "reports").exists()

    # The trap: a second run must fail again, not pass because nothing is re-read.
    again = run_make("html", root / "_build", cwd=root)
    assert again.returncode != 0, again.stdout + again.stderr
    assert site_digest(site) == before
