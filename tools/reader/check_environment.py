"""Check that this Python has the packages the book's notebooks import.

    python check_environment.py [REQUIREMENTS]

Reads REQUIREMENTS (by default requirements-reader.txt: beside this script, as in the notebooks'
zip, or at the top of the book's repository) and prints, for each package, the version installed
and whether it is OK, missing, or outside the range the book asks for. The exit status is 1 when
anything is missing or outside its range. Only the standard library: it has to run before the
packages are installed.
"""

from __future__ import annotations

import operator
import re
import sys
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

HERE = Path(__file__).resolve().parent
CANDIDATES = [HERE / "requirements-reader.txt", HERE.parent.parent / "requirements-reader.txt"]
REQUIREMENT = re.compile(r"([A-Za-z0-9][A-Za-z0-9._-]*)\s*(.*)")
CLAUSE = re.compile(r"(>=|<=|==|!=|>|<)\s*([0-9][0-9.]*)")
OPERATORS = {
    ">=": operator.ge,
    "<=": operator.le,
    "==": operator.eq,
    "!=": operator.ne,
    ">": operator.gt,
    "<": operator.lt,
}


def release(text: str) -> tuple[int, ...]:
    """The numeric release of a version ("2.13.0+cpu" gives (2, 13, 0)), without trailing zeros."""
    numbers = [int(n) for n in re.match(r"\d+(?:\.\d+)*", text).group(0).split(".")]
    while len(numbers) > 1 and numbers[-1] == 0:
        numbers.pop()
    return tuple(numbers)


def within(installed: str, spec: str) -> bool:
    """Whether INSTALLED satisfies SPEC, a comma-separated list such as ">=2.13,<3"."""
    for clause in filter(None, (c.strip() for c in spec.split(","))):
        match = CLAUSE.fullmatch(clause)
        if match is None:
            raise ValueError(f"cannot read the version range {clause!r}")
        if not OPERATORS[match[1]](release(installed), release(match[2])):
            return False
    return True


def check(lines: list[str]) -> tuple[list[str], bool]:
    """The report's lines, and whether everything is installed within its range."""
    rows, ok = [], True
    for line in lines:
        line = line.split("#")[0].strip()
        if not line:
            continue
        name, spec = REQUIREMENT.fullmatch(line).groups()
        try:
            installed = version(name)
        except PackageNotFoundError:
            installed, status = "-", f"missing: pip install '{name}{spec}'"
        else:
            status = "OK" if within(installed, spec) else f"outside the range {spec}"
        ok = ok and status == "OK"
        rows.append((name, installed, status))
    width = max((len(r[0]) for r in rows), default=0)
    return [f"{name:<{width}}  {installed:<14}  {status}" for name, installed, status in rows], ok


def main(argv: list[str]) -> int:
    path = Path(argv[0]) if argv else next((p for p in CANDIDATES if p.is_file()), CANDIDATES[0])
    lines, ok = check(path.read_text(encoding="utf8").splitlines())
    print(f"Python {sys.version.split()[0]}; the packages of {path.name}:")
    print("\n".join(lines))
    print(
        "Everything the notebooks import is installed."
        if ok
        else "Install what is missing or outside its range: pip install -r requirements-reader.txt"
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
