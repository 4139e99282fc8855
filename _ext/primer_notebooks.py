"""The chapters as the notebooks readers download, and the button that opens them in Colab.

Each chapter becomes a plain Jupyter notebook (jupytext reads the MyST file) that runs on its own:
`reader_notebook` applies STEPS, small functions over the notebook, in order. The last step puts
a setup cell first, which writes the helper modules and data files the finished notebook reads
(tools/execute.py's `chapter_inputs`, the function that decides re-execution) into the
notebook's folder when they are missing, and on Google Colab installs requirements-reader.txt.
The files are embedded in the cell, so a notebook downloaded alone runs offline in an empty
folder. A new step goes before `add_setup_cell`, so that the setup cell sees what it adds.

After the HTML build, `write_notebooks` writes each chapter's notebook into the site's
notebooks/ folder, and one zip with all of them, the helper modules and data files,
requirements-reader.txt and tools/reader/check_environment.py. The deploy workflow
(.github/workflows/book.yml) publishes the zip's contents to the repository's `notebooks`
branch; when BOOK_REPOSITORY_URL names a GitHub repository, each chapter has an "Open in Colab"
button that opens the chapter's notebook from that branch. The theme's own Colab launch button
cannot do this: it links to the page's source (chapters/SLUG.md) on `repository_branch`, the
branch the edit button also uses (sphinx-book-theme 1.4.0, header_buttons/launch.py).
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import sys
import zipfile
import zlib
from collections.abc import Callable
from pathlib import Path

import nbformat
from sphinx.application import Sphinx

from primer import NOTEBOOKS, is_chapter
from primer_checks import add_checks_step

ZIP_NAME = "pytorch-primer-notebooks.zip"
BRANCH = "notebooks"  # the branch .github/workflows/book.yml publishes the notebooks to
REQUIREMENTS = "requirements-reader.txt"  # at the top of the repository and of the zip
ENV_CHECK = Path("tools", "reader", "check_environment.py")  # at the top of the zip
SETUP_TAG = "primer-setup"  # the setup cell's tag and id
COLAB = "https://colab.research.google.com/github"


def chapter_inputs(nb: nbformat.NotebookNode, root: Path) -> list[Path]:
    """The helper modules and data files NB's code reads: tools/execute.py decides it (the lock,
    also one of the inputs there, is not a file a notebook reads)."""
    sys.path.insert(0, str(root / "tools"))
    try:
        from execute import LOCK_FILES
        from execute import chapter_inputs as inputs
    finally:
        sys.path.remove(str(root / "tools"))
    return [p for p in inputs(nb, root) if str(p.relative_to(root)) not in LOCK_FILES]


def reader_requirements(root: Path) -> list[str]:
    """The lines of requirements-reader.txt that name a requirement."""
    lines = (root / REQUIREMENTS).read_text(encoding="utf8").splitlines()
    return [line.split("#")[0].strip() for line in lines if line.split("#")[0].strip()]


# -- The steps ---------------------------------------------------------------------------------

Step = Callable[[nbformat.NotebookNode, Path, Path], nbformat.NotebookNode]


def plain_notebook(nb: nbformat.NotebookNode, source: Path, root: Path) -> nbformat.NotebookNode:
    """A plain notebook, not one paired with the Markdown file."""
    nb.metadata.pop("jupytext", None)
    return nb


def packed(data: bytes, width: int = 96) -> str:
    """DATA compressed and base64-encoded, as a Python string literal over lines of WIDTH."""
    text = base64.b64encode(zlib.compress(data, 9)).decode("ascii")
    return "\n".join(f'        "{text[i : i + width]}"' for i in range(0, len(text), width))


def setup_source(files: dict[str, bytes], requirements: list[str]) -> str:
    """The setup cell's code: plain Python (no IPython magics), so any kernel runs it."""
    title = "the files this notebook reads" if files else "the book's packages on Colab"
    lines = [
        f"#@title Setup: {title}",  # Colab shows a form cell by its title
        "# Run this cell first.",
        *(
            [
                "# It writes the helper modules and data files this chapter reads into this notebook's",
                "# folder when they are missing; it never replaces a file that is there.",
            ]
            if files
            else []
        ),
        "# On Google Colab it installs the packages the book's notebooks import (REQUIREMENTS, the",
        "# book's requirements-reader.txt); elsewhere, install them yourself (the setup appendix).",
        *(["import base64"] if files else []),
        "import importlib",
        "import importlib.metadata",
        "import subprocess",
        "import sys",
        *(["import zlib", "from pathlib import Path"] if files else []),
        "",
        "REQUIREMENTS = [",
        *(f"    {json.dumps(r)}," for r in requirements),
        "]",
        'if "google.colab" in sys.modules:',
        "    before = {d.metadata['Name']: d.version for d in importlib.metadata.distributions()}",
        '    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", *REQUIREMENTS], check=True)',
        "    importlib.invalidate_caches()",
        "    changed = {d.metadata['Name'] for d in importlib.metadata.distributions()",
        "               if before.get(d.metadata['Name']) not in (None, d.version)}",
        "    imported = {m for m, names in importlib.metadata.packages_distributions().items()",
        "                if m in sys.modules and changed & set(names)}",
        "    if imported:",
        '        print("pip replaced packages that are already imported:", ", ".join(sorted(imported)))',
        '        print("Restart the session (Runtime > Restart session), then run this cell again.")',
    ]
    if files:
        lines += [
            "",
            "FILES = {  # each file's bytes, zlib-compressed and base64-encoded",
            *(f'    "{name}": (\n{packed(data)}\n    ),' for name, data in files.items()),
            "}",
            "for name, data in FILES.items():",
            "    path = Path(name)",
            "    if not path.exists():",
            "        path.parent.mkdir(parents=True, exist_ok=True)",
            "        path.write_bytes(zlib.decompress(base64.b64decode(data)))",
            '        print("wrote", name)',
            "importlib.invalidate_caches()  # so that an import finds a module written just now",
        ]
    return "\n".join(lines)


def add_setup_cell(nb: nbformat.NotebookNode, source: Path, root: Path) -> nbformat.NotebookNode:
    """Before the first code cell, the setup cell; it shows only its title in Colab (a form) and
    is folded in JupyterLab. The files are named as the chapter's code names them (relative to
    chapters/, the folder the chapters run in)."""
    chapters = root / "chapters"
    files = {str(p.relative_to(chapters)): p.read_bytes() for p in chapter_inputs(nb, root)}
    cell = nbformat.v4.new_code_cell(
        setup_source(files, reader_requirements(root)),
        id=SETUP_TAG,  # fixed: the same chapter gives the same notebook, byte for byte
        metadata={"tags": [SETUP_TAG], "cellView": "form", "jupyter": {"source_hidden": True}},
    )
    first = next((i for i, c in enumerate(nb.cells) if c.cell_type == "code"), len(nb.cells))
    nb.cells.insert(first, cell)
    return nb


def stable_ids(nb: nbformat.NotebookNode, source: Path, root: Path) -> nbformat.NotebookNode:
    """Cell ids from the cells' contents, not random ones (jupytext and nbformat draw them at
    random): the same chapter gives the same notebook, byte for byte, in every build, so the
    notebooks branch and the zip change only when a chapter does. An id repeated (two identical
    cells) gets a suffix."""
    seen: dict[str, int] = {}
    for cell in nb.cells:
        if cell.get("id") == SETUP_TAG:
            continue
        base = hashlib.sha1(f"{cell.cell_type}\0{cell.source}".encode()).hexdigest()[:8]
        seen[base] = seen.get(base, 0) + 1
        cell["id"] = base if seen[base] == 1 else f"{base}-{seen[base]}"
    return nb


# In order. add_setup_cell embeds what the finished notebook reads; stable_ids names every cell.
STEPS: list[Step] = [plain_notebook, add_checks_step, add_setup_cell, stable_ids]


def reader_notebook(source: Path, root: Path, keep_records: bool = False) -> nbformat.NotebookNode:
    """The chapter SOURCE (chapters/SLUG.md of the book in ROOT) as a reader's notebook.
    KEEP_RECORDS: with the exercises' record cells as well (primer_checks.add_checks)."""
    import jupytext

    nb = jupytext.read(source)
    for step in STEPS:
        nb = step(nb, source, root, keep_records) if step is add_checks_step else step(nb, source, root)
    return nb


# -- The build ---------------------------------------------------------------------------------


def write_notebooks(app: Sphinx, exception: Exception | None) -> None:
    """Every chapter's notebook, and the zip; each file rewritten only when it changes."""
    if exception is not None or app.builder.name != "html":  # not the EPUB, whose format is html too
        return
    import jupytext

    root, outdir = Path(app.srcdir), Path(app.outdir) / NOTEBOOKS
    outdir.mkdir(parents=True, exist_ok=True)
    chapters_dir = root / "chapters"
    chapters = sorted(d for d in app.env.found_docs if is_chapter(d))
    changed = False
    for docname in chapters:
        target = outdir / (docname.split("/")[-1] + ".ipynb")
        text = jupytext.writes(reader_notebook(root / f"{docname}.md", root), fmt="ipynb")
        if not target.is_file() or target.read_text(encoding="utf8") != text:
            target.write_text(text, encoding="utf8")
            changed = True
    extras = {
        str(p.relative_to(chapters_dir)): p
        for p in [*chapters_dir.glob("*.py"), *(chapters_dir / "data").glob("*")]
    }
    extras |= {REQUIREMENTS: root / REQUIREMENTS, ENV_CHECK.name: root / ENV_CHECK}
    bundle_path = outdir / ZIP_NAME
    newest = max(p.stat().st_mtime_ns for p in extras.values())
    if changed or not bundle_path.exists() or bundle_path.stat().st_mtime_ns < newest:
        with zipfile.ZipFile(bundle_path, "w", zipfile.ZIP_DEFLATED) as bundle:
            for docname in chapters:
                name = docname.split("/")[-1] + ".ipynb"
                bundle.write(outdir / name, name)
            for name, path in sorted(extras.items()):
                bundle.write(path, name)


def colab_url(repository: str, slug: str) -> str | None:
    """Where Colab opens chapter SLUG from the notebooks branch of a GitHub REPOSITORY URL."""
    match = re.fullmatch(r"https://github\.com/([^/]+)/([^/]+?)(?:\.git)?/?", repository or "")
    return f"{COLAB}/{match[1]}/{match[2]}/blob/{BRANCH}/{slug}.ipynb" if match else None


def add_colab_button(app: Sphinx, pagename: str, templatename: str, context: dict, doctree) -> None:
    """After the notebook's download button, "Open in Colab" when the repository is on GitHub."""
    buttons = context.get("header_buttons")
    url = colab_url(app.config.html_theme_options.get("repository_url", ""), pagename.split("/")[-1])
    if buttons is None or url is None or not is_chapter(pagename):
        return
    labels = [b.get("label") for b in buttons]
    at = (
        labels.index("download-notebook-button") + 1 if "download-notebook-button" in labels else len(buttons)
    )
    buttons.insert(
        at,
        {
            "type": "link",
            "url": url,
            "tooltip": "Open this chapter's notebook in Google Colab",
            "icon": "fas fa-rocket",
            "label": "colab-button",
        },
    )


def setup(app: Sphinx) -> dict:
    app.connect("build-finished", write_notebooks)
    app.connect("html-page-context", add_colab_button, priority=601)  # after the download button
    return {"parallel_read_safe": True, "parallel_write_safe": True, "version": "1"}
