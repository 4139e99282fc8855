"""Fail when a chapter has code cells but no jupytext notebook header (its cells would not run).

    python tools/check_headers.py [chapters/x.md ...]
"""

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "_ext"))

from primer import missing_notebook_header  # noqa: E402

files = [Path(a) for a in sys.argv[1:]] or sorted((ROOT / "chapters").glob("*.md"))
bad = [f for f in files if missing_notebook_header(f.read_text(encoding="utf8"))]
for f in bad:
    print(f"{f}: code cells but no jupytext header (format_name: myst + kernelspec); "
          "copy it from chapters/_template.md")
sys.exit(1 if bad else 0)
