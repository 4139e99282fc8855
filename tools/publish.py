"""Publish a finished build: replace the site folder with the staging folder, in one swap.

    python tools/publish.py STAGING SITE

Only a build that succeeded gets here, so a reader never sees a half-written or broken site.
MyST-NB's execution reports (tracebacks with local paths) are never copied.
"""

import shutil
import sys
from pathlib import Path

staging, site = (Path(a) for a in sys.argv[1:3])
new, old = site.with_name(site.name + ".new"), site.with_name(site.name + ".old")
shutil.rmtree(new, ignore_errors=True)
shutil.copytree(staging, new, ignore=shutil.ignore_patterns("reports", ".buildinfo.bak"))
shutil.rmtree(old, ignore_errors=True)
if site.exists():
    site.rename(old)
new.rename(site)
shutil.rmtree(old, ignore_errors=True)
