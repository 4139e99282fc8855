"""The tests part of `make bench`: how long the test suite takes, on a copy of the repository.

    python tools/bench/suite.py OUT_DIR

In a fresh clone of the repository's last commit, as CI makes one (so its venv and packages are
installed anew, outside pytest's time, as in CI):
1. `make test`, as CI runs it: pytest's own time (target: at most 360 s) and its slowest tests;
2. `make html` (untimed: the author's build folder), a prose edit to one chapter, then
   `make check`, the authors' quick tier: pytest's time (target: at most 120 s).
The targets are issue 13's. Writes OUT_DIR/suite.md and OUT_DIR/suite.json; exit status 1 when
a target is missed or a run fails.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
CHAPTER = "chapters/tensors.md"  # where the prose edit goes (as in tools/bench/build.py)
TARGETS = {"test_s": 360.0, "check_s": 120.0}
SUMMARY = re.compile(r"^=+ (?P<counts>.*?) in (?P<seconds>[\d.]+)s(?: \([\d:]+\))? =+$", re.M)


def run_make(work: Path, target: str) -> dict:
    """`make TARGET` in WORK: its wall time, pytest's time and counts, the slowest tests."""
    start = time.perf_counter()
    run = subprocess.run(["make", "--no-print-directory", "-C", str(work), target], capture_output=True, text=True)
    wall = time.perf_counter() - start
    output = run.stdout + run.stderr
    result = {"status": run.returncode, "wall_s": round(wall, 1)}
    summary = SUMMARY.findall(output)
    if summary:
        counts, seconds = summary[-1]
        result.update(pytest_s=float(seconds), counts=counts,
                      slowest=re.findall(r"^([\d.]+)s (setup|call|teardown)\s+(\S+)$", output, re.M)[:10])
    else:
        result["output_tail"] = output[-4000:]
    return result


def main(out_dir: Path) -> int:
    out_dir.mkdir(parents=True, exist_ok=True)
    work = out_dir / "suite-work"
    shutil.rmtree(work, ignore_errors=True)
    subprocess.run(["git", "clone", "-q", str(REPO), str(work)], check=True)
    results = {"test": run_make(work, "test")}
    build = run_make(work, "html")
    if build["status"] != 0:
        sys.exit(f"make html failed:\n{build.get('output_tail', '')}")
    chapter = work / CHAPTER
    chapter.write_text(chapter.read_text().replace("## Summary\n", "## Summary\n\nA sentence added by the benchmark.\n", 1))
    results["check"] = run_make(work, "check")

    checks = {
        f"make test passes, pytest <= {TARGETS['test_s']:.0f} s":
            results["test"]["status"] == 0 and results["test"].get("pytest_s", 1e9) <= TARGETS["test_s"],
        f"make check after a prose edit passes, pytest <= {TARGETS['check_s']:.0f} s":
            results["check"]["status"] == 0 and results["check"].get("pytest_s", 1e9) <= TARGETS["check_s"],
    }
    results["checks"] = checks
    (out_dir / "suite.json").write_text(json.dumps(results, indent=1))
    lines = ["| run | pytest time | result | wall time | target | met |", "|---|---|---|---|---|---|"]
    for name, (check, met) in zip(("test", "check"), checks.items(), strict=True):
        r = results[name]
        lines.append(f"| `make {name}` | {r.get('pytest_s', '?')} s | {r.get('counts', 'no pytest summary')} "
                     f"| {r['wall_s']} s | {check} | {met} |")
    for name in ("test", "check"):
        lines += ["", f"Slowest in `make {name}`:", ""]
        lines += [f"- {s} s {when} `{test}`" for s, when, test in results[name].get("slowest", [])]
    (out_dir / "suite.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0 if all(checks.values()) else 1


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1])))
