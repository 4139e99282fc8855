"""Lint the chapters' code cells with ruff, reporting chapter, cell and line.

    python tools/lint_cells.py [chapters/x.md ...]

Each chapter's code cells (read exactly as MyST-NB reads them) are written to one temporary
script; ruff's findings are mapped back to the line in the Markdown file.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))

from execute import conf_value, read_notebook  # noqa: E402

# Notebook cells import where the text needs them, reuse names across cells, and zip() lists
# whose lengths the text has just shown to match.
CELL_IGNORES = "E402,F811,I001,B905"


def cell_script(path: Path) -> tuple[str, list[int]]:
    """The code cells as one script, and for each script line the line in the .md file."""
    nb = read_notebook(path, conf_value("myst_enable_extensions", ROOT / "conf.py"))
    md_lines = path.read_text(encoding="utf8").splitlines()
    lines, origin = [], []
    for cell, start in zip(nb.cells, nb.metadata["source_map"], strict=True):
        if cell.cell_type != "code":
            continue
        first = start  # the fence line (1-based); the source follows its options
        source = cell.source.splitlines()
        if source:  # find where the cell's first source line sits in the .md
            first = next((i + 1 for i in range(start, len(md_lines)) if md_lines[i] == source[0]), start)
        lines.append("# %%")
        origin.append(start)
        for offset, line in enumerate(source):
            lines.append(line)
            origin.append(first + offset)
    return "\n".join(lines) + "\n", origin


# Calls whose value, left as a cell's last expression, is shown as an object at a memory address
# that changes between runs (`<torch._C.Generator at 0x7f...>`): the determinism test fails.
ADDRESS_SHOWN = {"manual_seed", "seed"}


def address_outputs(path: Path) -> list[str]:
    """Cells that end with a bare `torch.manual_seed(...)`, shown as `<... at 0x...>`."""
    import ast

    nb = read_notebook(path, conf_value("myst_enable_extensions", ROOT / "conf.py"))
    md_lines = path.read_text(encoding="utf8").splitlines()
    found = []
    for cell, start in zip(nb.cells, nb.metadata["source_map"], strict=True):
        if cell.cell_type != "code" or cell.source.lstrip().startswith(("%", "!")):
            continue
        try:
            body = ast.parse(cell.source).body
        except SyntaxError:
            continue  # ruff reports it
        last = body[-1] if body else None
        if isinstance(last, ast.Expr) and isinstance(last.value, ast.Call) \
                and getattr(last.value.func, "attr", getattr(last.value.func, "id", "")) in ADDRESS_SHOWN:
            shown = path.relative_to(ROOT) if path.is_relative_to(ROOT) else path
            first_line = cell.source.splitlines()[0]
            first = next((i + 1 for i in range(start, len(md_lines)) if md_lines[i] == first_line), start + 1)
            found.append(f"{shown}:{first + last.lineno - 1}: the cell shows the object this call returns, "
                         "at a memory address that changes every run: assign it (`_ = torch.manual_seed(0)`)")
    return found


def main(argv: list[str]) -> int:
    files = [Path(a).resolve() for a in argv] or sorted((ROOT / "chapters").glob("*.md"))
    ruff = Path(sys.executable).with_name("ruff")
    problems = 0
    with tempfile.TemporaryDirectory() as tmp:
        scripts = {}
        for path in files:
            script, origin = cell_script(path)
            target = Path(tmp) / (path.stem + ".py")
            target.write_text(script, encoding="utf8")
            scripts[str(target)] = (path, origin)
        run = subprocess.run(
            [str(ruff), "check", "--config", str(ROOT / "ruff.toml"), "--extend-ignore", CELL_IGNORES,
             "--output-format", "json", *scripts],
            capture_output=True, text=True, cwd=tmp,
        )
        for finding in json.loads(run.stdout or "[]"):
            path, origin = scripts[finding["filename"]]
            line = origin[finding["location"]["row"] - 1]
            shown = path.relative_to(ROOT) if path.is_relative_to(ROOT) else path
            print(f"{shown}:{line}: {finding['code']} {finding['message']}")
            problems += 1
    for path in files:
        for finding in address_outputs(path):
            print(finding)
            problems += 1
    if problems:
        print(f"{problems} problem(s) in code cells", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
