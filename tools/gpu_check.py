"""Run the book's GPU-only code on a CUDA machine: `make gpu-check`.

    python tools/gpu_check.py            # run every block, print the table
    python tools/gpu_check.py --list     # list the blocks, run nothing

The book shows code that needs a GPU as a not-executed block: a ```python fence inside an
admonition whose classes include `gpu` (`:class: not-executed gpu`, CONTRIBUTING.md). The build
machine has no GPU, so nothing else ever runs these blocks. This tool collects exactly those
blocks from the pages conf.py builds (include_patterns), runs each in a fresh Python process on
the first CUDA device (CUDA_VISIBLE_DEVICES=0), and prints a table: page, line, title, passed or
the last line of the error. Without a CUDA device it says so and runs nothing.

Each block must run on its own: its own imports, its own small model and data.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))

from execute import book_pages, conf_value  # noqa: E402

TIMEOUT = 600  # seconds per block


@dataclass
class Block:
    page: str  # the source file, relative to the repository
    line: int  # the first line of the code, 1-based
    title: str  # the admonition's title
    code: str


def parser():
    from markdown_it.renderer import RendererHTML
    from myst_parser.config.main import MdParserConfig
    from myst_parser.parsers.mdit import create_md_parser

    extensions = set(conf_value("myst_enable_extensions", ROOT / "conf.py")) | {"colon_fence"}
    return create_md_parser(MdParserConfig(enable_extensions=extensions), RendererHTML)


def directive_options(body: str) -> tuple[dict[str, str], int]:
    """A directive body's leading `:name: value` lines, and how many lines they take."""
    options = {}
    for line in body.splitlines():
        if not (line.startswith(":") and line.count(":") >= 2):
            break
        name, _, value = line[1:].partition(":")
        options[name.strip()] = value.strip()
    return options, len(options)


def gpu_blocks(path: Path, md=None) -> list[Block]:
    """The ```python fences inside admonitions with the class `gpu`, in PATH (MyST Markdown)."""
    md = md or parser()
    text = path.read_text(encoding="utf8")
    rel = str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)
    found = []

    def walk(source: str, offset: int, inside: str | None):
        for token in md.parse(source):
            if not token.map:
                continue
            start = offset + token.map[0]
            if token.type in ("fence", "colon_fence") and token.info.startswith("{") \
                    and not token.info.startswith("{code-cell}"):  # a directive that holds Markdown
                options, skip = directive_options(token.content)
                is_gpu = token.info.startswith("{admonition}") and "gpu" in options.get("class", "").split()
                title = token.info.removeprefix("{admonition}").strip() if is_gpu else inside
                body = "\n".join(token.content.splitlines()[skip:])
                walk(body, start + 1 + skip, title)
            elif token.type == "fence" and inside is not None and token.info.strip() == "python":
                found.append(Block(rel, start + 2, inside, token.content))

    walk(text, 0, None)
    return found


def pages() -> list[Path]:
    return book_pages(ROOT)  # the pages tools/execute.py executes


def collect() -> list[Block]:
    md = parser()
    return [block for page in pages() for block in gpu_blocks(page, md)]


def run(block: Block) -> str:
    """'passed', or the last line of the error."""
    env = {**os.environ, "CUDA_VISIBLE_DEVICES": "0"}
    with tempfile.TemporaryDirectory() as tmp:
        script = Path(tmp) / "block.py"
        script.write_text(block.code, encoding="utf8")
        try:
            result = subprocess.run([sys.executable, str(script)], cwd=tmp, env=env,
                                    capture_output=True, text=True, timeout=TIMEOUT)
        except subprocess.TimeoutExpired:
            return f"timed out after {TIMEOUT} s"
    if result.returncode == 0:
        return "passed"
    lines = [line for line in result.stderr.strip().splitlines() if line.strip()]
    return lines[-1] if lines else f"exit status {result.returncode}"


def table(rows: list[tuple[Block, str]]) -> str:
    out = ["| page | line | block | result |", "|---|---|---|---|"]
    out += [f"| {b.page} | {b.line} | {b.title} | {r} |" for b, r in rows]
    return "\n".join(out)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--list", action="store_true", help="list the blocks, run nothing")
    args = ap.parse_args()
    blocks = collect()
    if args.list:
        print(table([(b, "not run") for b in blocks]))
        return 0
    import torch

    if not torch.cuda.is_available():
        print(f"No CUDA device here (torch {torch.__version__}): nothing run. "
              f"{len(blocks)} GPU blocks would run on a machine with one (--list shows them).")
        return 0
    print(f"Running {len(blocks)} GPU blocks on {torch.cuda.get_device_name(0)} (torch {torch.__version__})")
    rows = [(b, run(b)) for b in blocks]
    print(table(rows))
    failed = sum(r != "passed" for _, r in rows)
    print(f"{len(rows) - failed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
