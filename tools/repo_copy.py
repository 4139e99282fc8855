"""A working copy of the book for tools that must not touch the repository: `copy_repo(dest)`.

The files git tracks or would add (`git ls-files --cached --others --exclude-standard`: so no
build output, no execution cache, nothing ignored), copied with their times, and `.venv` and
tools/demo/node_modules linked rather than copied. `make bench` builds in such a
copy; a test that edits the book can use one too.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def copy_repo(dest: Path, repo: Path = REPO) -> Path:
    """Replace DEST with a copy of REPO's files and a link to its .venv; return DEST."""
    shutil.rmtree(dest, ignore_errors=True)
    listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                            cwd=repo, capture_output=True, text=True, check=True).stdout
    files = sorted(set(filter(None, listed.split("\0"))))
    for name in files:
        if not (repo / name).exists():  # deleted in the work tree, not yet committed
            continue
        (dest / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(repo / name, dest / name)
    (dest / ".venv").symlink_to(repo / ".venv")
    demo_runtime = Path("tools", "demo", "node_modules")  # ONNX Runtime Web, which `make html` installs
    if (repo / demo_runtime).is_dir():
        (dest / demo_runtime).symlink_to(repo / demo_runtime)
    return dest
