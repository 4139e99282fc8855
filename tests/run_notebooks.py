"""Execute every notebook a reader downloads, each alone in an empty folder, as the build executes
the chapters (tools/execute.py's run_notebook: the same kernel settings, one thread, two
notebooks at a time, the longest first).

    python tests/run_notebooks.py BUILDDIR OUT

For each notebook of BUILDDIR/html/notebooks, the same notebook is made again from its chapter and
the build's cache with the exercises' record cells kept (primer_notebooks.reader_notebook,
keep_records), so that the determinism test can compare the checks' fingerprints too; less those
cells it is the downloaded file (test_downloads.py holds that). It is written to OUT/SLUG/ and
executed there: its setup cell writes the files the chapter reads. The executed notebook is
written to OUT/SLUG/executed.ipynb. The tests compare it with the build's outputs
(test_determinism.py: a second, independent execution gives the same outputs) and look at what
the notebook did (test_downloads.py: every notebook runs alone). Exit status 1 when any notebook
failed, with the failures on stderr.
"""

from __future__ import annotations

import os
import shutil
import sys
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path

import jupytext
import nbformat

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO / "tools"), str(REPO / "_ext")]

import execute  # noqa: E402


def main(builddir: Path, out: Path) -> int:
    os.environ["BOOK_BUILDDIR"] = str(builddir)  # the cache the record cells' payloads come from
    from primer_notebooks import reader_notebook

    timeout = execute.conf_value("nb_execution_timeout", REPO / "conf.py")
    shutil.rmtree(out, ignore_errors=True)
    todo = []
    for downloaded in sorted((builddir / "html" / "notebooks").glob("*.ipynb")):
        nb = reader_notebook(REPO / "chapters" / f"{downloaded.stem}.md", REPO, keep_records=True)
        path = out / downloaded.stem / downloaded.name
        path.parent.mkdir(parents=True)
        path.write_text(jupytext.writes(nb, fmt="ipynb"), encoding="utf8")
        todo.append((path, nb))
    failures = []
    with ProcessPoolExecutor(max_workers=2) as pool:
        futures = {}
        for path, nb in execute.longest_first(todo, {}):
            limit = nb.metadata.get("mystnb", {}).get("execution_timeout", timeout)
            futures[pool.submit(execute.run_notebook, str(path), nbformat.writes(nb), limit, 1,
                                str(path.with_suffix(".log")))] = path
        for future in as_completed(futures):
            path, result = futures[future], future.result()
            if result["ok"]:
                (path.parent / "executed.ipynb").write_text(result["notebook"], encoding="utf8")
                print(f"Executed  {path.name} in {result['seconds']:.1f} s", flush=True)
            else:
                failures.append(f"{path.name}: code cell at index {result['cell']} {result['kind']}:\n"
                                f"{result['message']}")
    if failures:
        print("\n\n".join(failures), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1]), Path(sys.argv[2])))
