"""Compare two builds of the book: which outputs changed, which warnings are new, what failed.

    python tools/canary_compare.py BASE NEW [--out REPORT.md] [--base-name NAME] [--new-name NAME]

BASE and NEW are build folders (`make html BUILDDIR=...`), each with its execution cache in
BUILD/.jupyter_cache and the build's output in BUILD/build.log (`--log` names another file).
The scheduled canary builds the book once with the lock and once with the newest torch and runs
this on the two; it is as useful by hand, on any two builds.

The Markdown report (printed, and written to --out) lists, in this order:
- the chapters that failed in NEW (the build log's FAILED lines and their ERROR report, and
  chapters BASE executed that NEW's cache lacks);
- the chapters whose outputs changed, code cell by code cell, each with a short diff (cells
  tagged `timing` print timings, which differ on every run, and are not compared);
- the warnings in NEW's log that BASE's has not (the build folders' paths made alike).

Exit status: 0 when nothing changed, 1 when something did, 2 when the input is unusable.
"""

from __future__ import annotations

import argparse
import difflib
import hashlib
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
WARNING = re.compile(r"\bWARNING\b|\bERROR\b|\b\w+Warning\b")
FAILED = re.compile(r"^FAILED\s+(\S+)", re.M)
CODE_CELL = re.compile(r"^(`{3,}|~{3,})\{code-cell\}")
SKIP_TAG = "timing"
DIFF_LINES = 30  # per cell; the rest is counted, not shown
SOURCE_CHARS = 70


@dataclass
class Cell:
    number: int  # 1 for the chapter's first code cell
    line: int | None  # where the cell starts in the chapter's source
    source: str
    output: list[str]  # the outputs as text lines, as compared


@dataclass
class Chapter:
    uri: str
    cells: list[Cell] = field(default_factory=list)


def chapter_name(uri: str) -> str:
    """chapters/x.md for any checkout: the cache records absolute paths."""
    path = Path(uri)
    parts = path.parts
    if "chapters" in parts:
        return "/".join(parts[len(parts) - 1 - parts[::-1].index("chapters"):])
    return path.name


def output_lines(outputs: list) -> list[str]:
    """A cell's outputs as the text a reader sees; consecutive stream pieces joined (a kernel may
    send one print in one message or in two), binary data by size and digest."""
    merged: list[dict] = []
    for out in outputs:
        out = dict(out)
        if merged and out.get("output_type") == "stream" and merged[-1].get("output_type") == "stream" \
                and merged[-1].get("name") == out.get("name"):
            merged[-1]["text"] = merged[-1]["text"] + out.get("text", "")
        else:
            merged.append(out)
    lines: list[str] = []
    for out in merged:
        kind = out.get("output_type")
        if kind == "stream":
            lines.append(f"[{out.get('name', 'stdout')}]")
            lines += ANSI.sub("", out.get("text", "")).splitlines()
        elif kind == "error":
            lines.append("[error]")
            lines.append(f"{out.get('ename', '')}: {ANSI.sub('', str(out.get('evalue', '')))}")
        elif kind in ("execute_result", "display_data"):
            for mime, value in sorted(out.get("data", {}).items()):
                text = value if isinstance(value, str) else "".join(value) if isinstance(value, list) else str(value)
                if mime.startswith("text/") or mime.endswith("json"):
                    lines.append(f"[{mime}]")
                    lines += text.splitlines()
                else:  # images and other binary data, base64 in the notebook
                    digest = hashlib.sha256(text.encode()).hexdigest()[:12]
                    lines.append(f"[{mime}] {len(text) * 3 // 4 // 1024} KB, sha256 {digest}")
    return lines


def read_cache(build: Path) -> dict[str, Chapter]:
    from jupyter_cache import get_cache

    cache = get_cache(str(build / ".jupyter_cache"))
    latest: dict[str, object] = {}
    for record in cache.list_cache_records():  # the newest record of each chapter
        name = chapter_name(record.uri)
        if name not in latest or (record.created, record.pk) > (latest[name].created, latest[name].pk):
            latest[name] = record
    chapters = {}
    for name, record in sorted(latest.items()):
        nb = cache.get_cache_bundle(record.pk).nb  # its code cells only: the cache keeps no other
        lines = cell_lines(Path(record.uri))
        chapter = Chapter(record.uri)
        code = [cell for cell in nb.cells if cell.cell_type == "code"]
        for number, cell in enumerate(code, start=1):
            if SKIP_TAG in cell.metadata.get("tags", []):
                continue
            line = lines[number - 1] if len(lines) == len(code) else None
            chapter.cells.append(Cell(number, line, cell.source, output_lines(cell.get("outputs", []))))
        chapters[name] = chapter
    return chapters


def cell_lines(source: Path) -> list[int]:
    """Where each code cell starts in the chapter (the line of its ```{code-cell} fence), as
    tools/execute.py names a failing cell; none when the chapter's file is not here."""
    try:
        text = source.read_text(encoding="utf8")
    except OSError:
        return []
    return [i for i, line in enumerate(text.splitlines(), start=1) if CODE_CELL.match(line)]


def read_log(build: Path, name: str) -> str:
    text = ANSI.sub("", (build / name).read_text(encoding="utf8", errors="replace"))
    # The same message from either build: its folder's path (absolute, or as given) made alike.
    for spelling in sorted({str(build.resolve()), str(build)}, key=len, reverse=True):
        text = text.replace(spelling, "BUILD")
    return text


def failures(log: str) -> dict[str, list[str]]:
    """Chapters the log reports as FAILED, each with the ERROR lines that name it."""
    failed = {}
    for name in FAILED.findall(log):
        failed[name] = [line.strip() for line in log.splitlines() if line.startswith("ERROR") and name in line]
    return failed


def warnings(log: str) -> list[str]:
    seen: dict[str, None] = {}
    for line in log.splitlines():
        if WARNING.search(line):
            seen.setdefault(line.strip(), None)
    return list(seen)


def short(source: str) -> str:
    first = next((line.strip() for line in source.splitlines() if line.strip()), "")
    return first if len(first) <= SOURCE_CHARS else first[: SOURCE_CHARS - 1] + "…"


def cell_diff(old: list[str], new: list[str], base_name: str, new_name: str) -> list[str]:
    diff = list(difflib.unified_diff(old, new, base_name, new_name, lineterm="", n=1))
    if len(diff) > DIFF_LINES:
        diff = diff[:DIFF_LINES] + [f"... {len(diff) - DIFF_LINES} more diff lines"]
    return diff


def compare(base: Path, new: Path, log_name: str, base_name: str, new_name: str) -> tuple[str, bool]:
    """The Markdown report, and whether anything changed."""
    old_chapters, new_chapters = read_cache(base), read_cache(new)
    old_log, new_log = read_log(base, log_name), read_log(new, log_name)

    failed_before = failures(old_log)
    failed = {name: errors for name, errors in failures(new_log).items() if name not in failed_before}
    for name in old_chapters:
        if name not in new_chapters and name not in failed:
            failed[name] = [f"{new_name} has no executed copy of it (it failed, or never ran)"]
    shown = {line for errors in failed.values() for line in errors}
    known = set(warnings(old_log)) | shown
    new_warnings = [w for w in warnings(new_log) if w not in known]

    changed: dict[str, list[str]] = {}
    cells_changed = 0
    for name, chapter in new_chapters.items():
        if name not in old_chapters:
            changed[name] = [f"Only in {new_name}: a chapter {base_name} did not execute."]
            continue
        old_cells = {c.number: c for c in old_chapters[name].cells}
        lines = []
        for cell in chapter.cells:
            before = old_cells.get(cell.number)
            where = f"Code cell {cell.number}" + (f" (line {cell.line})" if cell.line is not None else "")
            if before is None:
                lines.append(f"- {where}: only in {new_name}: `{short(cell.source)}`")
                cells_changed += 1
            elif before.source != cell.source:
                lines.append(f"- {where}: its code differs between the two builds: `{short(cell.source)}`")
                cells_changed += 1
            elif before.output != cell.output:
                cells_changed += 1
                lines += [f"- {where}: `{short(cell.source)}`", "", "  ```diff",
                          *("  " + d for d in cell_diff(before.output, cell.output, base_name, new_name)),
                          "  ```", ""]
        numbers = {c.number for c in chapter.cells}
        for cell in old_chapters[name].cells:
            if cell.number not in numbers:
                lines.append(f"- Code cell {cell.number}: only in {base_name}: `{short(cell.source)}`")
                cells_changed += 1
        if lines:
            changed[name] = lines

    something = bool(failed or changed or new_warnings)
    compared = sum(len(c.cells) for c in new_chapters.values())
    out = [f"Compared **{new_name}** (`{new}`) with **{base_name}** (`{base}`): "
           f"{len(new_chapters)} chapter(s), {compared} code cell(s) (cells tagged `{SKIP_TAG}` are not compared).", ""]
    if not something:
        out.append("Nothing changed: every output is the same, cell for cell, no chapter failed and "
                   "there is no new warning.")
        return "\n".join(out) + "\n", False
    out.append(f"**Something changed:** {len(failed)} chapter(s) failed, {len(changed)} chapter(s) with "
               f"changed outputs ({cells_changed} cell(s)), {len(new_warnings)} new warning(s).")
    if failed:
        out += ["", f"## Chapters that failed with {new_name}", ""]
        for name, errors in sorted(failed.items()):
            out.append(f"- `{name}`")
            if errors:
                out += ["", "  ```", *("  " + e for e in errors), "  ```", ""]
    if changed:
        out += ["", "## Changed outputs", ""]
        for name, lines in sorted(changed.items()):
            out += [f"### `{name}`", "", *lines, ""]
    if new_warnings:
        out += ["", f"## New warnings with {new_name}", "", "```", *new_warnings, "```"]
    return "\n".join(out).rstrip() + "\n", True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("base", type=Path, help="the reference build folder")
    parser.add_argument("new", type=Path, help="the build folder to compare with it")
    parser.add_argument("--out", type=Path, help="also write the report to this file")
    parser.add_argument("--log", default="build.log", help="the build log's name in each folder (build.log)")
    parser.add_argument("--base-name", default="base", help="what to call BASE in the report")
    parser.add_argument("--new-name", default="new", help="what to call NEW in the report")
    parser.add_argument("--title", default="Canary: two builds of the book compared")
    args = parser.parse_args(argv)
    for build in (args.base, args.new):
        for needed in (build / ".jupyter_cache", build / args.log):
            if not needed.exists():
                parser.error(f"{needed} is missing: give a build folder with its cache and its build log")
    body, something = compare(args.base, args.new, args.log, args.base_name, args.new_name)
    report = f"# {args.title}\n\n{body}"
    print(report, end="")
    if args.out:
        args.out.write_text(report, encoding="utf8")
    return 1 if something else 0


if __name__ == "__main__":
    sys.exit(main())
