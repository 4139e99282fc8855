"""The project around the book: hosting configs, lint, the chapter template, the Makefile."""

import json
import re
import shutil
import subprocess

import jsonschema
import pytest
import yaml

from conftest import REPO, run_make

SCHEMAS = REPO / "tests" / "schemas"


def load_yaml(path):
    # YAML 1.1 reads GitHub's `on:` key as True; the schema wants the string.
    data = yaml.safe_load(path.read_text())
    if True in data:
        data["on"] = data.pop(True)
    return data


def test_readthedocs_config_is_valid_and_builds_what_make_html_builds():
    config = load_yaml(REPO / ".readthedocs.yaml")
    jsonschema.validate(config, json.loads((SCHEMAS / "readthedocs-v2.schema.json").read_text()))
    assert config["python"]["install"] == [{"requirements": "requirements.txt"}]
    assert config["sphinx"] == {"configuration": "conf.py", "builder": "html", "fail_on_warning": True}
    assert "pdf" in config["formats"]
    assert "python tools/execute.py" in config["build"]["jobs"]["pre_build"]
    assert config["build"]["tools"]["python"] == "3.11"


@pytest.mark.parametrize("workflow", sorted((REPO / ".github" / "workflows").glob("*.yml")), ids=lambda p: p.name)
def test_github_workflow_is_valid_tests_and_deploys(workflow):
    config = load_yaml(workflow)
    jsonschema.validate(config, json.loads((SCHEMAS / "github-workflow.schema.json").read_text()))
    steps = [s for job in config["jobs"].values() for s in job.get("steps", [])]
    assert any(s.get("run") == "make test" for s in steps)
    uses = [s.get("uses", "") for s in steps]
    assert any(u.startswith("actions/upload-pages-artifact@") for u in uses)
    assert any(u.startswith("actions/deploy-pages@") for u in uses)
    deploy = config["jobs"]["deploy"]
    assert deploy["if"] == "github.ref == 'refs/heads/main'"
    assert deploy["permissions"] == {"pages": "write", "id-token": "write"}


def test_make_lint_passes():
    result = subprocess.run(["make", "-C", str(REPO), "lint"], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_lint_reports_a_bad_code_cell_by_chapter_and_line(tmp_path):
    bad = tmp_path / "bad.md"
    text = (REPO / "chapters" / "_template.md").read_text()
    bad.write_text(text.replace("x.sum()\n", "x.sum()\nimport os\n"))
    result = subprocess.run([str(REPO / ".venv" / "bin" / "python"), str(REPO / "tools" / "lint_cells.py"), str(bad)],
                            capture_output=True, text=True)
    assert result.returncode == 1
    line = text[: text.index("x.sum()\n")].count("\n") + 2  # the line after x.sum()
    assert f"bad.md:{line}: F401" in result.stdout, result.stdout


def test_make_help_lists_the_targets():
    out = subprocess.run(["make", "-C", str(REPO), "help"], capture_output=True, text=True, check=True).stdout
    for target in ["html", "pdf", "livehtml", "serve", "clean", "test", "lint", "chapter"]:
        assert re.search(rf"make {target}\b", out), target


def test_a_chapter_from_the_template_builds_and_appears_in_the_book(tmp_path):
    """`make chapter NAME=...` on a copy of the book: the new chapter is built and in the contents."""
    root = tmp_path / "book"
    files = subprocess.run(["git", "ls-files"], cwd=REPO, capture_output=True, text=True, check=True).stdout.split()
    for name in files:
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPO / name, root / name)
    (root / ".venv").symlink_to(REPO / ".venv")
    made = subprocess.run(["make", "-C", str(root), "chapter", "NAME=tiny-test"], capture_output=True, text=True)
    assert made.returncode == 0, made.stdout + made.stderr
    # Build only the new chapter with the index (the others are already tested): keep the toctree entry.
    index = (root / "index.md").read_text()
    assert "chapters/tiny-test\n" in index
    for chapter in (root / "chapters").glob("*.md"):
        if chapter.stem not in ("tiny-test", "_template"):
            chapter.unlink()
    (root / "index.md").write_text(re.sub(r"^chapters/(?!tiny-test)[\w-]+\n", "", index, flags=re.M))
    result = run_make("html", root / "_build", cwd=root)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Executed  chapters/tiny-test.md" in result.stdout
    home = (root / "_build" / "html" / "index.html").read_text()
    assert 'href="chapters/tiny-test.html"' in home
    assert (root / "_build" / "html" / "chapters" / "tiny-test.html").is_file()
