"""Debian's Chromium, as the browser tests and `make bench` launch it: one source of truth.

    from chromium import EXECUTABLE, FLAGS

EXECUTABLE is Debian's `chromium` package (`make test` and `make bench` install it). FLAGS keep
a headless run quiet and comparable: no sandbox (CI runs as root in a container), no GPU, and no
background requests (updates, sync, first-run pages) that would add network noise to a page
load. Playwright starts its own headless mode; Lighthouse needs HEADLESS added to the flags.
"""

EXECUTABLE = "/usr/bin/chromium"
HEADLESS = "--headless=new"
FLAGS = (
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
)
