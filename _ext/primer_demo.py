"""The digits model running in the reader's browser: the ``{digits-demo}`` directive.

In the saving-and-exporting chapter, a hidden cell hands over the ONNX file the build has just
exported, five test digits and PyTorch's probabilities for them, as one output of type
``application/vnd.primer.digits-demo+json`` carrying MyST-NB's glue metadata (the cell cannot
import ``myst_nb.glue``: readers run the same cell in their own Jupyter). The directive reads that
output the way MyST-NB's own ``{glue}`` directive does, from the executed notebook of the page
being read, so the page always carries the model of the execution it shows.

- On the web (the ``html`` and ``dirhtml`` builders) it is a closed ``<details>`` holding an 8x8
  grid of 64 toggle buttons, buttons that load the test digits, and a live region for the top
  three digits. ``_static/digits-demo.js`` (loaded by that page only) fetches nothing until the
  reader opens it; then it imports ONNX Runtime Web, fetches the model, runs the self-test and
  predicts what the reader draws.
- When the build finishes, the model and the self-test data are written to ``demo/`` in the site,
  with the two files of ONNX Runtime Web it needs (the WebAssembly-only ES module bundle and its
  ``.wasm``), copied from ``tools/demo/node_modules`` (``make html`` installs them with ``npm ci``
  from ``tools/demo/package-lock.json``). A missing runtime stops the build and says how to
  install it.
- Everywhere else (PDF, EPUB, text) it is one sentence saying that the web edition has the demo.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import json
import shutil
from html import escape
from pathlib import Path

from docutils import nodes
from sphinx.application import Sphinx
from sphinx.errors import ExtensionError
from sphinx.util import logging
from sphinx.util.docutils import SphinxDirective
from sphinx.util.osutil import relative_uri

logger = logging.getLogger(__name__)

MIME = "application/vnd.primer.digits-demo+json"
FOLDER = "demo"  # in the site
MODEL = "digits.onnx"
DATA = "digits-demo.json"
SCRIPT = "digits-demo.js"  # in _static/
HTML_BUILDERS = ("html", "dirhtml")  # not epub: an e-book gets the sentence
# ONNX Runtime Web, WebAssembly only, single-threaded: the ES module bundle (its WebAssembly glue
# code inside) and the one .wasm it loads. Published as .js: static hosts that know no .mjs type
# (nginx's mime.types) would serve it as application/octet-stream, which import() refuses.
RUNTIME = {
    "ort.wasm.bundle.min.mjs": "ort.wasm.bundle.min.js",
    "ort-wasm-simd-threaded.wasm": "ort-wasm-simd-threaded.wasm",
}
SIZE = 8  # pixels per side
FALLBACK = (
    "The web edition of this book runs this model in your browser at this point: an 8×8 "
    "grid to draw a digit on, and the model's three most likely digits."
)


class digits_demo(nodes.General, nodes.Element):
    """The demo; its children are the sentence the other builders print."""


def payload_from_glue(document: nodes.document, key: str) -> dict:
    """The demo's data: the glued output KEY of the page's executed notebook."""
    from myst_nb.core.variables import RetrievalError
    from myst_nb.ext.glue.utils import retrieve_glue_data

    try:
        output = retrieve_glue_data(document, key)
    except RetrievalError as error:
        raise ValueError(f"{error} (the hidden cell that displays it with glue metadata)") from None
    if MIME not in output.data:
        raise ValueError(f"the glued output {key!r} has no {MIME} data: {sorted(output.data)}")
    return dict(output.data[MIME])


def check_payload(data: dict) -> None:
    digits = data.get("digits") or []
    if not data.get("model") or len(digits) < 1:
        raise ValueError("the demo's data needs a model and at least one test digit")
    for digit in digits:
        if len(digit["pixels"]) != SIZE * SIZE or len(digit["probabilities"]) != 10:
            raise ValueError("each test digit needs 64 pixels and 10 probabilities")


class DigitsDemo(SphinxDirective):
    """``{digits-demo} KEY``: the demo, from the glued output KEY of this page's notebook."""

    required_arguments = 1

    def run(self) -> list[nodes.Node]:
        try:
            data = payload_from_glue(self.state.document, self.arguments[0])
            check_payload(data)
        except ValueError as error:
            raise self.error(f"{{digits-demo}}: {error}") from None
        model = base64.b64decode(data.pop("model"))
        files = {MODEL: model, DATA: json.dumps(data, separators=(",", ":")).encode()}
        version = hashlib.sha256(b"".join(files.values())).hexdigest()[:10]
        demos = self.env.__dict__.setdefault("primer_digits_demo", {})
        demos[self.env.docname] = files
        node = digits_demo(
            "",
            nodes.paragraph("", FALLBACK),
            labels=[d["label"] for d in data["digits"]],
            version=version,
            model_bytes=len(model),
        )
        self.set_source_info(node)
        return [node]


def _grid_cells() -> str:
    cells = []
    for row in range(SIZE):
        for col in range(SIZE):
            tabindex = "0" if row == col == 0 else "-1"
            cells.append(
                f'<button type="button" class="digits-demo-cell" tabindex="{tabindex}" '
                f'aria-pressed="false" data-index="{row * SIZE + col}" '
                f'aria-label="Row {row + 1}, column {col + 1}"></button>'
            )
    return "".join(cells)


def visit_digits_demo_html(self, node: digits_demo) -> None:
    if self.builder.name not in HTML_BUILDERS:
        return  # the sentence (an e-book cannot fetch the runtime)
    here = self.builder.get_target_uri(self.builder.current_docname)

    def url(name: str, version: str) -> str:
        return escape(f"{relative_uri(here, f'{FOLDER}/{name}')}?v={version}")

    runtime = Path(self.builder.config.primer_demo_runtime)  # missing, write_demo stops the build
    runtime_version = installed_version(runtime)
    runtime_mb = (
        sum(runtime.joinpath(name).stat().st_size for name in RUNTIME if runtime.joinpath(name).is_file())
        / 1e6
    )
    tests = "".join(
        f'<button type="button" class="digits-demo-load" data-digit="{i}" aria-label="Test image of a {label}" '
        f"disabled>{label}</button>"
        for i, label in enumerate(node["labels"])
    )
    self.body.append(
        f'<details class="digits-demo" data-model="{url(MODEL, node["version"])}" '
        f'data-selftest="{url(DATA, node["version"])}" '
        f'data-runtime="{url(RUNTIME["ort.wasm.bundle.min.mjs"], runtime_version)}" '
        f'data-wasm="{url(RUNTIME["ort-wasm-simd-threaded.wasm"], runtime_version)}">'
        f'<summary class="digits-demo-open">Open the demo: the digits model in your browser</summary>'
        f'<p class="digits-demo-note">Opening it loads ONNX Runtime Web ({runtime_mb:.0f} MB) and the '
        f"model ({node['model_bytes'] / 1e3:.0f} KB) from this site. Nothing is sent anywhere.</p>"
        f'<p class="digits-demo-status" role="status">The demo needs JavaScript.</p>'
        f'<div class="digits-demo-body">'
        f'<div class="digits-demo-grid" role="group" aria-label="Drawing grid, 8 by 8 pixels" '
        f'aria-describedby="digits-demo-help">{_grid_cells()}</div>'
        f'<div class="digits-demo-side">'
        f'<p class="digits-demo-help" id="digits-demo-help">Draw with the mouse or a finger, or move with '
        f"the arrow keys and press Space to ink a pixel or rub it out.</p>"
        f'<p class="digits-demo-label" id="digits-demo-tests">Load a test image:</p>'
        f'<div class="digits-demo-buttons" role="group" aria-labelledby="digits-demo-tests">{tests}</div>'
        f'<p><button type="button" class="digits-demo-clear">Clear the grid</button></p>'
        f'<h4 class="digits-demo-result-title" id="digits-demo-result-title">The model\'s three most likely '
        f'digits</h4><ol class="digits-demo-top" aria-live="polite" aria-labelledby="digits-demo-result-title">'
        f'<li class="digits-demo-empty">Nothing drawn yet.</li></ol>'
        f"</div></div></details>"
    )
    raise nodes.SkipNode


def visit_digits_demo_other(self, node: digits_demo) -> None:
    pass  # the children: the sentence


def depart_digits_demo_other(self, node: digits_demo) -> None:
    pass


def add_script(app: Sphinx, pagename: str, templatename: str, context: dict, doctree) -> None:
    """The demo's script, on the page that has the demo only (deferred; it loads nothing more
    until the reader opens the demo)."""
    if app.builder.name in HTML_BUILDERS and pagename in getattr(app.env, "primer_digits_demo", {}):
        app.add_js_file(SCRIPT, loading_method="defer")


def runtime_files(dist: Path) -> dict[Path, str]:
    """ONNX Runtime Web's files the demo needs, from the npm package's dist/ folder DIST."""
    files = {dist / source: target for source, target in RUNTIME.items()}
    missing = [str(path) for path in files if not path.is_file()]
    if missing:
        raise ExtensionError(
            f"the digits demo needs ONNX Runtime Web, which is not installed (missing: {', '.join(missing)}): "
            f"`make html` installs it (npm ci --prefix tools/demo, from tools/demo/package-lock.json)"
        )
    return files


def write_demo(app: Sphinx, exception: Exception | None) -> None:
    """The model, the self-test data and the runtime into the site's demo/ folder."""
    demos = getattr(app.env, "primer_digits_demo", {})
    if exception is not None or app.builder.name not in HTML_BUILDERS or not demos:
        return
    if len(demos) > 1:
        raise ExtensionError(f"one {{digits-demo}} per book (its files share {FOLDER}/): {sorted(demos)}")
    folder = Path(app.outdir, FOLDER)
    folder.mkdir(exist_ok=True)
    for source, target in runtime_files(Path(app.config.primer_demo_runtime)).items():
        shutil.copyfile(source, folder / target)
    for name, content in next(iter(demos.values())).items():
        (folder / name).write_bytes(content)


def purge_doc(app: Sphinx, env, docname: str) -> None:
    getattr(env, "primer_digits_demo", {}).pop(docname, None)


def merge_info(app: Sphinx, env, docnames, other) -> None:
    demos = getattr(other, "primer_digits_demo", {})
    env.__dict__.setdefault("primer_digits_demo", {}).update(
        {d: files for d, files in demos.items() if d in docnames}
    )


@functools.cache
def installed_version(dist: Path) -> str:
    """The version of the onnxruntime-web whose dist/ folder is DIST (the runtime's files'
    cache key in the page's URLs)."""
    package = dist.parent / "package.json"
    return json.loads(package.read_text())["version"] if package.is_file() else "missing"


def setup(app: Sphinx) -> dict:
    default = Path(app.confdir, "tools", "demo", "node_modules", "onnxruntime-web", "dist")
    app.add_config_value("primer_demo_runtime", str(default), "html")
    app.add_node(
        digits_demo,
        # No epub=: Sphinx would then give the EPUB builder only the nodes registered for
        # "epub", none of the HTML ones (sphinx-doc/sphinx#14587); the html visitor serves it.
        html=(visit_digits_demo_html, depart_digits_demo_other),
        latex=(visit_digits_demo_other, depart_digits_demo_other),
        text=(visit_digits_demo_other, depart_digits_demo_other),
    )
    app.add_directive("digits-demo", DigitsDemo)
    app.connect("html-page-context", add_script)
    app.connect("env-purge-doc", purge_doc)
    app.connect("env-merge-info", merge_info)
    app.connect("build-finished", write_demo)
    return {"parallel_read_safe": True, "parallel_write_safe": True, "version": "1"}
