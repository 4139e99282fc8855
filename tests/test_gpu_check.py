"""`make gpu-check`: the book's GPU-only blocks, collected exactly and each runnable on its own."""

from __future__ import annotations

import ast
import subprocess
import sys
import textwrap

from conftest import REPO, run_make

sys.path.insert(0, str(REPO / "tools"))

import gpu_check  # noqa: E402

FIXTURE = textwrap.dedent('''\
    # A page

    :::{admonition} Not executed here: needs a CUDA GPU
    :class: not-executed gpu

    Some prose.

    ```python
    import torch
    print(torch.ones(1, device="cuda"))
    ```

    ```bash
    nvidia-smi
    ```
    :::

    :::{admonition} Not executed here: torchvision is not installed
    :class: not-executed

    ```python
    import torchvision
    ```
    :::

    ::::{admonition} Not executed here: two GPU blocks, one nested
    :class: gpu not-executed

    ```python
    import torch
    x = torch.zeros(2, device="cuda")
    ```

    :::{note}
    ```python
    import torch
    y = torch.ones(2, device="cuda")
    ```
    :::
    ::::

    ```python
    import torch  # outside any admonition
    ```
    ''')


def test_collects_the_python_blocks_of_gpu_admonitions_and_nothing_else(tmp_path):
    page = tmp_path / "page.md"
    page.write_text(FIXTURE)
    blocks = gpu_check.gpu_blocks(page)
    lines = FIXTURE.splitlines()
    assert [(b.line, b.title) for b in blocks] == [
        (9, "Not executed here: needs a CUDA GPU"),
        (30, "Not executed here: two GPU blocks, one nested"),
        (36, "Not executed here: two GPU blocks, one nested"),
    ]
    for b in blocks:  # the line is the code's first line
        assert lines[b.line - 1] == b.code.splitlines()[0]


def test_the_books_gpu_blocks_each_run_on_their_own():
    """Every admonition with the class gpu holds code; each block parses, imports what it uses
    and names nothing it does not define (ruff's undefined-name rule), so it runs alone."""
    blocks = gpu_check.collect()
    admonitions = sum(1 for page in gpu_check.pages() for line in page.read_text().splitlines()
                      if line.startswith(":class:") and "gpu" in line.split())
    assert admonitions >= 10, "the GPU-only code of devices, convolutions, attention, performance, distributed ..."
    assert len({(b.page, b.title) for b in blocks}) == admonitions, "a gpu admonition without a python block"
    for b in blocks:
        ast.parse(b.code)
        result = subprocess.run([str(REPO / ".venv" / "bin" / "ruff"), "check", "--isolated", "--select",
                                 "F821,F822,F823", "--stdin-filename", "block.py", "-"],
                                input=b.code, capture_output=True, text=True)
        assert result.returncode == 0, f"{b.page}:{b.line} ({b.title}) does not run alone:\n{result.stdout}"


def test_make_gpu_check_without_a_gpu_runs_nothing_and_says_so(tmp_path):
    result = run_make("gpu-check", tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "No CUDA device here" in result.stdout and "nothing run" in result.stdout
