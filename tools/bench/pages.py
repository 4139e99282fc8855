"""The reader part of `make bench`: Lighthouse on every page, served by nginx with gzip.

    python tools/bench/pages.py SITE_DIR OUT_DIR

Serves SITE_DIR with nginx on a free localhost port (gzip on, as GitHub Pages and Read the Docs
serve), runs Lighthouse (mobile defaults) on every page, and writes
OUT_DIR/pages.md and OUT_DIR/pages.json (and each full report in OUT_DIR/lighthouse/). Exit status 1 when a page misses a target.

Each page is measured BENCH_RUNS times (5 unless set), as Lighthouse's docs/variability.md
advises, and every number in the table is the median over those runs (Lighthouse CI's `median`
aggregation). On this kind of machine a single run's performance score moves by up to 0.03: total
blocking time is the main thread's observed time multiplied by 4, and now and then Chrome presents
its first frame about a second late. Every run's numbers are kept in pages.json, and the table
shows the range of the performance scores.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from chromium import EXECUTABLE, FLAGS, HEADLESS  # noqa: E402

LIGHTHOUSE = HERE / "node_modules" / "lighthouse" / "cli" / "index.js"
CHROME_FLAGS = " ".join([HEADLESS, *FLAGS])
TARGETS = {"performance": 0.98, "accessibility": 1.0, "best-practices": 1.0, "seo": 1.0,
           "bytes": 300 * 1024, "fcp_ms": 1500}

NGINX_CONF = """
daemon off;
pid {tmp}/nginx.pid;
error_log {tmp}/error.log;
events {{ worker_connections 64; }}
http {{
  include /etc/nginx/mime.types;
  access_log off;
  client_body_temp_path {tmp}/body; proxy_temp_path {tmp}/proxy; fastcgi_temp_path {tmp}/fastcgi;
  uwsgi_temp_path {tmp}/uwsgi; scgi_temp_path {tmp}/scgi;
  gzip on;
  gzip_comp_level 6;
  gzip_min_length 256;
  gzip_types text/css application/javascript text/javascript application/json image/svg+xml
             text/plain application/xml font/woff2;
  server {{
    listen 127.0.0.1:{port};
    root {site};
    location / {{ try_files $uri $uri/ =404; }}
  }}
}}
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def pages(site: Path) -> list[str]:
    """Every page: the landing page, the chapters, then the other top-level pages (appendices,
    glossary, index, search)."""
    rest = sorted(p.name for p in site.glob("*.html") if p.name != "index.html")
    return ["index.html", *sorted(str(p.relative_to(site)) for p in (site / "chapters").glob("*.html")), *rest]


def lighthouse(url: str, out: Path) -> dict:
    env = {**os.environ, "CHROME_PATH": os.environ.get("CHROME_PATH", EXECUTABLE)}
    subprocess.run(
        ["node", str(LIGHTHOUSE), url, "--quiet", "--output=json", f"--output-path={out}",
         "--only-categories=performance,accessibility,best-practices,seo",
         f"--chrome-flags={CHROME_FLAGS}"],
        check=True, env=env, timeout=300,
    )
    report = json.loads(out.read_text())
    audits, cats = report["audits"], report["categories"]
    return {
        "performance": cats["performance"]["score"],
        "accessibility": cats["accessibility"]["score"],
        "best-practices": cats["best-practices"]["score"],
        "seo": cats["seo"]["score"],
        "fcp_ms": round(audits["first-contentful-paint"]["numericValue"]),
        "lcp_ms": round(audits["largest-contentful-paint"]["numericValue"]),
        "tbt_ms": round(audits["total-blocking-time"]["numericValue"]),
        "tti_ms": round(audits["interactive"]["numericValue"]),
        "bytes": round(audits["total-byte-weight"]["numericValue"]),
        "failed_audits": sorted(
            a["id"] for a in audits.values()
            if a.get("score") is not None and a["score"] < 1 and a.get("scoreDisplayMode") in ("binary", "metricSavings")
        ),
    }


def median(values: list[float]) -> float:
    v, n = sorted(values), len(values)
    return v[n // 2] if n % 2 else (v[n // 2 - 1] + v[n // 2]) / 2


def median_run(runs: list[dict]) -> int:
    """The run closest to the median FCP and median TTI (lighthouse/core/lib/median-run.js)."""
    fcp, tti = median([r["fcp_ms"] for r in runs]), median([r["tti_ms"] for r in runs])
    return min(range(len(runs)), key=lambda i: ((fcp - runs[i]["fcp_ms"]) ** 2 + (tti - runs[i]["tti_ms"]) ** 2,
                                                 runs[i]["tti_ms"]))


NUMBERS = ("performance", "accessibility", "best-practices", "seo", "fcp_ms", "lcp_ms", "tbt_ms", "tti_ms", "bytes")


def measure(url: str, report: Path, count: int) -> dict:
    """Every number is the median over the runs (Lighthouse CI's `median` aggregation); the
    median run's full report is kept as REPORT, each run's as REPORT.run1.json, .run2.json and so on."""
    runs = [lighthouse(url, report.with_suffix(f".run{i + 1}.json")) for i in range(count)]
    middle = median_run(runs)
    report.write_bytes(report.with_suffix(f".run{middle + 1}.json").read_bytes())
    row = {k: median([r[k] for r in runs]) for k in NUMBERS}
    row["failed_audits"] = sorted({a for r in runs for a in r["failed_audits"]})
    scores = [r["performance"] for r in runs]
    return {**row, "runs_measured": count, "performance_range": [min(scores), max(scores)], "runs": runs}


def misses(row: dict) -> list[str]:
    out = [k for k in ("performance", "accessibility", "best-practices", "seo") if row[k] < TARGETS[k]]
    if row["bytes"] > TARGETS["bytes"]:
        out.append("bytes")
    if row["fcp_ms"] > TARGETS["fcp_ms"]:
        out.append("fcp")
    return out


def main(site: Path, out_dir: Path) -> int:
    if not LIGHTHOUSE.exists():
        sys.exit(f"Lighthouse is missing: run `npm ci --prefix {HERE}` (make bench does)")
    out_dir.mkdir(parents=True, exist_ok=True)
    runs = int(os.environ.get("BENCH_RUNS", "5"))
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        port = free_port()
        conf = Path(tmp) / "nginx.conf"
        conf.write_text(NGINX_CONF.format(tmp=tmp, port=port, site=site.resolve()))
        nginx = subprocess.Popen(["nginx", "-c", str(conf), "-p", tmp])
        try:
            for _ in range(50):
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                    break
                except OSError:
                    time.sleep(0.1)
            for page in pages(site):
                report = out_dir / "lighthouse" / (page.replace("/", "_").removesuffix(".html") + ".json")
                report.parent.mkdir(exist_ok=True)
                row = {"page": page, **measure(f"http://127.0.0.1:{port}/{page}", report, runs)}
                row["misses"] = misses(row)
                rows.append(row)
                low, high = row["performance_range"]
                print(f"  {page}: performance {row['performance']:.2f} (runs {low:.2f}-{high:.2f}), "
                      f"{row['bytes'] / 1024:.0f} KB, "
                      f"FCP {row['fcp_ms']:.0f} ms{'  MISSES ' + ', '.join(row['misses']) if row['misses'] else ''}",
                      flush=True)
        finally:
            nginx.terminate()
            nginx.wait(timeout=10)
    (out_dir / "pages.json").write_text(json.dumps({"targets": TARGETS, "pages": rows}, indent=2) + "\n")
    lines = [
        "# Reader benchmark: Lighthouse (mobile), nginx with gzip", "",
        f"Each number is the median of {runs} Lighthouse runs; the range is the lowest and highest performance score.", "",
        "| page | performance | range | accessibility | best practices | SEO | FCP (ms) | LCP (ms) | TBT (ms) | KB |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        low, high = r["performance_range"]
        lines.append(f"| {r['page']} | {r['performance']:.2f} | {low:.2f}–{high:.2f} | {r['accessibility']:.2f} | {r['best-practices']:.2f} "
                     f"| {r['seo']:.2f} | {r['fcp_ms']:.0f} | {r['lcp_ms']:.0f} | {r['tbt_ms']:.0f} | {r['bytes'] / 1024:.0f} |")
    lines += ["", f"Targets: performance >= {TARGETS['performance']}, accessibility, best practices and SEO = 1.00, "
              f"<= {TARGETS['bytes'] // 1024} KB, FCP <= {TARGETS['fcp_ms']} ms."]
    failing = [r for r in rows if r["misses"]]
    lines.append("Every page meets every target." if not failing else
                 "Pages missing a target: " + "; ".join(f"{r['page']} ({', '.join(r['misses'])})" for r in failing))
    (out_dir / "pages.md").write_text("\n".join(lines) + "\n")
    print(f"Wrote {out_dir / 'pages.md'} and {out_dir / 'pages.json'}")
    return 1 if failing else 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1]), Path(sys.argv[2])))
