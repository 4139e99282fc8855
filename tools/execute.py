"""Execute the book's chapters into MyST-NB's jupyter-cache, in parallel, before Sphinx reads them.

    python tools/execute.py [--jobs N] [--cache DIR] [FILE.md ...]

Only chapters that changed since their last successful run are executed, so Sphinx, in cache
mode, then finds every chapter in the cache and executes nothing itself. jupyter-cache keys a
chapter on its code cells alone (as MyST-NB does); this script also records, with each run, a
digest of every other file the outputs depend on (`chapter_inputs`: the pinned requirements, and
the helper modules and data files the chapter's code names), and re-executes a chapter whose
inputs changed even though its code did not. Sphinx then re-reads that page
(_ext/primer.py: `outdated_by_execution`). Executing here rather than under `sphinx -j`
keeps jupyter-cache's SQLite database in one process (no "database is locked"), and lets a
failure name the chapter, the cell and its line.

Exit status: 0 when every chapter ran (or was cached), 1 when any failed; failures are reported
after all chapters have been tried.
"""

from __future__ import annotations

import argparse
import ast
import getpass
import hashlib
import os
import re
import shutil
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "_ext"))

from primer import kernel_environment, missing_notebook_header  # noqa: E402

ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
# nbclient repeats the cell's source before the traceback; the report shows it once.
NBCLIENT_PREAMBLE = re.compile(r"\AAn error occurred while executing the following cell:\n-+\n.*?\n-+\n", re.S)


def conf_value(name: str, conf: Path):
    """The literal assigned to NAME in the Python file CONF (conf.py, say), read without importing
    it (importing conf.py, or chapters/primer_check.py, loads torch)."""
    for node in ast.parse(conf.read_text()).body:
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == name for t in node.targets
        ):
            return ast.literal_eval(node.value)
    raise KeyError(f"{name} is not set in {conf}")


def book_pages(root: Path) -> list[Path]:
    """The Markdown pages conf.py builds (its include_patterns), less templates (names with _)."""
    return sorted({p for pattern in conf_value("include_patterns", root / "conf.py") for p in root.glob(pattern)
                   if p.suffix == ".md" and not p.name.startswith("_")})


def read_notebook(path: Path, extensions: list[str]):
    """The notebook exactly as MyST-NB reads it, so the cache keys match."""
    from myst_nb.core.read import read_myst_markdown_notebook
    from myst_parser.config.main import MdParserConfig

    config = MdParserConfig(enable_extensions=set(extensions))
    return read_myst_markdown_notebook(
        path.read_text(encoding="utf8"), config=config, add_source_map=True, path=str(path)
    )


# The files every chapter's outputs depend on: the pinned environment.
LOCK_FILES = ["requirements.txt"]


def chapter_inputs(nb, root: Path) -> list[Path]:
    """The files besides its code that a chapter's outputs depend on.

    The lock, every helper module in chapters/ that its code (or a helper it uses) imports, and
    every file in chapters/data/ whose name its code (or such a helper) mentions.
    """
    chapters = root / "chapters"
    text = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
    helpers = sorted(chapters.glob("*.py"))
    data = sorted(p for p in (chapters / "data").rglob("*") if p.is_file()) if (chapters / "data").is_dir() else []
    used: list[Path] = []
    changed = True
    while changed:  # helpers may import helpers or read data files: follow them
        changed = False
        for path in helpers:
            if path not in used and re.search(rf"\b(?:import|from)\s+{re.escape(path.stem)}\b", text):
                used.append(path)
                text += "\n" + path.read_text(encoding="utf8")
                changed = True
    used += [p for p in data if p.name in text]
    return [root / name for name in LOCK_FILES if (root / name).exists()] + sorted(used)


def inputs_digest(paths: list[Path], root: Path) -> dict[str, str]:
    """{path relative to the book: sha256 of its bytes} for each input file."""
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest() for p in paths}


def chapter_notebooks(root: Path) -> list[tuple[Path, object]]:
    """(path, notebook as MyST-NB reads it) of every page of the book in ROOT that has code cells."""
    extensions = conf_value("myst_enable_extensions", root / "conf.py")
    return [(page, read_notebook(page, extensions)) for page in book_pages(root)
            if "{code-cell}" in page.read_text(encoding="utf8")]


def execution_budget(nb) -> float:
    """The seconds a chapter may take to execute in a clean build on the reference machine (two
    cores, two chapters at a time): `primer: execution_budget` in its front matter
    (chapters/_template.md). It orders a clean build, longest first, and `make bench` reports
    a chapter that took longer; tests/test_project.py requires one in every chapter with code."""
    return float(nb.metadata.get("primer", {}).get("execution_budget", 0))


def longest_first(todo: list, last_run: dict[str, float]) -> list:
    """TODO's (path, notebook, ...) items, the longest to execute first: by the chapter's last
    run time (LAST_RUN, by path) when the cache knows one, else by its budget."""
    return sorted(todo, key=lambda item: last_run.get(str(item[0])) or execution_budget(item[1]), reverse=True)


def run_notebook(path: str, nb_json: str, timeout: int, threads: int, log_path: str) -> dict:
    """Execute one notebook in a fresh kernel (runs in a worker process)."""
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError

    os.environ.update(kernel_environment(ROOT, threads))
    # The kernel's temporary files go to a folder of its own, removed when it has run: the
    # kernel is stopped at once after its last cell (below), so the folders that its
    # tempfile.TemporaryDirectory objects would remove as it exits are removed here. Inductor's
    # compile cache, torchinductor_<user> (precompiled headers included), is linked in from the
    # system's temporary folder, where torch keeps it by default, so that builds share it as before
    # (torch/_inductor/runtime/cache_dir_utils.py: default_cache_dir).
    scratch = tempfile.mkdtemp(prefix="primer-kernel-")
    user = re.sub(r'[\\/:*?"<>|]', "_", getpass.getuser())
    inductor = Path(tempfile.gettempdir()) / f"torchinductor_{user}"
    inductor.mkdir(exist_ok=True)
    (Path(scratch) / inductor.name).symlink_to(inductor)
    os.environ["TMPDIR"] = scratch
    # The kernel's and jupyter_client's own chatter (and their shutdown tracebacks after a
    # timeout) go to a log beside the cache, not to the terminal; the report below says it all.
    log = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    os.dup2(log, 2)
    nb = nbformat.reads(nb_json, as_version=4)
    current = {"index": None}

    def on_cell_start(cell, cell_index):
        current["index"] = cell_index

    client = NotebookClient(
        nb,
        timeout=timeout,
        kernel_name="python3",
        allow_errors=False,
        record_timing=False,
        resources={"metadata": {"path": str(Path(path).parent)}},
        on_cell_start=on_cell_start,
        # SIGKILL to the kernel's process group once the outputs are in: a graceful exit
        # (finalising torch and the kernel, polled every 0.1 s) kept each worker waiting for
        # about 0.8 s per chapter, 0.6 s of it CPU time, and the outputs are already recorded.
        shutdown_kernel="immediate",
    )
    start = time.perf_counter()
    result = {"path": path, "ok": False, "cell": None, "kind": None, "message": ""}
    try:
        client.execute()
        result["ok"] = True
        result["notebook"] = nbformat.writes(nb)
    except CellTimeoutError:
        result["kind"] = "timeout"
        result["message"] = f"the cell ran longer than the {timeout} s timeout"
    except DeadKernelError as error:
        result["kind"] = "dead kernel"
        result["message"] = (
            f"the kernel died while running the cell ({error}). Something in it ended the "
            "Python process: os._exit(), a crash in compiled code, or running out of memory"
        )
    except CellExecutionError as error:
        result["kind"] = "error"
        text = ANSI.sub("", str(error.traceback or error))
        result["message"] = NBCLIENT_PREAMBLE.sub("", text).strip()
        result["ename"] = error.ename
        if error.ename in ("ModuleNotFoundError", "ImportError"):
            result["message"] += (
                "\nHint: a chapter may import only what requirements.txt (the lock) installs; add "
                "the package to requirements.in (pinned), run `make lock`, or show the code as a "
                "non-executed block."
            )
    except Exception as error:  # a kernel that would not start, a broken notebook, ...
        result["kind"] = type(error).__name__
        result["message"] = ANSI.sub("", str(error))
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    result["seconds"] = time.perf_counter() - start
    result["cell"] = current["index"]
    return result


def describe_failure(result: dict, nb, root: Path) -> str:
    rel = Path(result["path"]).relative_to(root)
    index = result["cell"]
    if index is None:
        where = f"{rel}: before any cell ran"
        source = ""
    else:
        line = nb.metadata.get("source_map", [None] * (index + 1))[index]
        number = sum(1 for c in nb.cells[: index + 1] if c.cell_type == "code")
        where = f"{rel}:{line}: code cell {number} (the cell starting at line {line})"
        source = "\n".join("    " + s for s in nb.cells[index].source.splitlines())
    title = {"error": "raised an error", "timeout": "timed out", "dead kernel": "killed its kernel"}
    lines = [
        f"ERROR: {where} {title.get(result['kind'], 'failed: ' + str(result['kind']))}",
        "  The cell:" if source else "",
        source,
        "  What happened:",
        "\n".join("    " + s for s in result["message"].splitlines()),
    ]
    return "\n".join(line for line in lines if line)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("files", nargs="*", type=Path)
    parser.add_argument("--jobs", type=int, default=min(2, os.cpu_count() or 1))
    parser.add_argument("--cache", type=Path, default=None)
    parser.add_argument("--root", type=Path, default=ROOT, help="the book's folder (conf.py)")
    args = parser.parse_args(argv)

    root = args.root.resolve()
    conf = root / "conf.py"
    timeout = conf_value("nb_execution_timeout", conf)
    extensions = conf_value("myst_enable_extensions", conf)
    builddir = Path(os.environ.get("BOOK_BUILDDIR", root / "_build"))
    cache_dir = (args.cache or builddir / ".jupyter_cache").resolve()
    files = [f.resolve() for f in args.files] or book_pages(root)

    from jupyter_cache import get_cache
    from jupyter_cache.base import CacheBundleIn

    cache = get_cache(str(cache_dir))
    failures: list[str] = []
    todo = []
    for path in files:
        text = path.read_text(encoding="utf8")
        rel = path.relative_to(root)
        if missing_notebook_header(text):
            failures.append(
                f"ERROR: {rel}:1: this page has {{code-cell}} cells but no jupytext notebook "
                "header (jupytext.text_representation.format_name: myst, and a kernelspec) in "
                "its front matter, so its cells would silently not run. Copy the header from "
                "chapters/_template.md."
            )
            continue
        if "{code-cell}" not in text:
            continue
        nb = read_notebook(path, extensions)
        inputs = inputs_digest(chapter_inputs(nb, root), root)
        try:
            record = cache.match_cache_notebook(nb)
        except KeyError:
            todo.append((path, nb, inputs))
            continue
        recorded = record.data.get("inputs", {})
        stale = sorted(set(inputs.items()) ^ set(recorded.items()))
        if stale:
            names = ", ".join(sorted({name for name, _ in stale}))
            print(f"Inputs of {rel} changed since its last run: {names}")
            todo.append((path, nb, inputs))
        else:
            print(f"Cached    {rel} (code and inputs unchanged since its last run)")

    # Longest first, so that two workers finish together: the last run time of any version of
    # the chapter when the cache knows one, else (a clean build) its budget.
    last_run = {r.uri: r.data.get("execution_seconds", 0) for r in cache.list_cache_records()}
    todo = longest_first(todo, last_run)
    # One thread per kernel, however many chapters run: a numerically sensitive cell (a training
    # run that diverges, say) gives different numbers with a different thread count, and every
    # build must give the outputs the hidden asserts hold. Parallelism comes from the workers.
    threads = 1
    started = time.perf_counter()
    serial = 0.0
    if todo:
        with ProcessPoolExecutor(max_workers=max(1, min(args.jobs, len(todo)))) as pool:
            futures = {}
            for path, nb, inputs in todo:
                print(f"Executing {path.relative_to(root)}", flush=True)
                import nbformat

                # a chapter may set its own timeout, as MyST-NB allows: mystnb.execution_timeout
                limit = nb.metadata.get("mystnb", {}).get("execution_timeout", timeout)
                log = cache_dir / "logs" / (str(path.relative_to(root)).replace("/", "_") + ".log")
                log.parent.mkdir(parents=True, exist_ok=True)
                job = pool.submit(run_notebook, str(path), nbformat.writes(nb), limit, threads, str(log))
                futures[job] = (path, nb, inputs)
            for future in as_completed(futures):
                path, nb, inputs = futures[future]
                result = future.result()
                serial += result["seconds"]
                rel = path.relative_to(root)
                if result["ok"]:
                    import nbformat

                    executed = nbformat.reads(result["notebook"], as_version=4)
                    cache.cache_notebook_bundle(
                        CacheBundleIn(executed, str(path),
                                      data={"execution_seconds": result["seconds"], "inputs": inputs}),
                        check_validity=False,
                        overwrite=True,
                    )
                    print(f"Executed  {rel} in {result['seconds']:.1f} s", flush=True)
                else:
                    print(f"FAILED    {rel} after {result['seconds']:.1f} s", flush=True)
                    failures.append(describe_failure(result, nb, root))
        wall = time.perf_counter() - started
        print(
            f"Execution: {len(todo)} chapter(s) in {wall:.1f} s on {args.jobs} worker(s) "
            f"({serial:.1f} s of chapter run time)"
        )
    if failures:
        print("\n" + "\n\n".join(failures), file=sys.stderr)
        print(f"\n{len(failures)} chapter(s) failed; nothing was published.", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
