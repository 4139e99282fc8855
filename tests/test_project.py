"""The project around the book: hosting configs, lint, the chapter template, the Makefile."""

import json
import os
import re
import shutil
import subprocess
import sys
import zipfile

import jsonschema
import pytest
import yaml

import execute
from conftest import REPO, run_make
from repo_copy import copy_repo

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
    assert {"pdf", "epub"} <= set(config["formats"])
    assert "python tools/execute.py" in config["build"]["jobs"]["pre_build"]
    # ONNX Runtime Web for the digits demo, as `make html` installs it (_ext/primer_demo.py needs it)
    assert any(job.startswith("npm ci --prefix tools/demo ") for job in config["build"]["jobs"]["pre_build"])
    assert "python tools/postbuild.py $READTHEDOCS_OUTPUT/html" in config["build"]["jobs"]["post_build"]
    assert config["build"]["tools"]["python"] == "3.11"


# -- CI and hosting: the workflows, Dependabot ------------------------------------------------

WORKFLOWS = REPO / ".github" / "workflows"
# The current major of every action the workflows use (each checked against the action's
# releases on 2026-11-29). Dependabot proposes the next ones; update this with them.
ACTIONS = {
    "actions/checkout": "v7",
    "actions/cache": "v6",
    "actions/upload-artifact": "v7",
    "actions/download-artifact": "v8",
    "actions/upload-pages-artifact": "v5",
    "actions/deploy-pages": "v5",
    "actions/configure-pages": "v6",
    "actions/github-script": "v9",
    "lycheeverse/lychee-action": "v2",
}
ISSUE_SCRIPT = ".github/scripts/report-issue.js"


def workflow_steps(config, job=None):
    jobs = [config["jobs"][job]] if job else config["jobs"].values()
    return [s for j in jobs for s in j.get("steps", [])]


def step_index(steps, predicate, what):
    found = [i for i, s in enumerate(steps) if predicate(s)]
    assert len(found) == 1, f"expected one step that {what}, found {len(found)}"
    return found[0]


@pytest.mark.parametrize("workflow", sorted(WORKFLOWS.glob("*.yml")), ids=lambda p: p.name)
def test_github_workflow_is_valid_and_uses_current_actions(workflow):
    config = load_yaml(workflow)
    jsonschema.validate(config, json.loads((SCHEMAS / "github-workflow.schema.json").read_text()))
    for step in workflow_steps(config):
        if "uses" in step:
            action, _, ref = step["uses"].partition("@")
            assert ACTIONS.get(action) == ref, f"{workflow.name}: {step['uses']} (current: {ACTIONS.get(action)})"
    for job in config["jobs"].values():
        if "container" in job:  # the project's own kind of machine
            assert job["container"] == "debian:12"


def test_github_workflow_is_valid_tests_and_deploys():
    """One build (the PDF and the EPUB, then the site that links to them), tested by `make test`,
    published as is."""
    config = load_yaml(WORKFLOWS / "book.yml")
    steps = workflow_steps(config, "test")
    runs = [s.get("run", "") for s in steps]
    build = step_index(steps, lambda s: "make pdf epub html" in s.get("run", ""), "builds the book")
    assert "make pdf epub html 2>&1 | tee _build/build.log" in runs[build]
    assert steps[build]["shell"] == "bash"  # with -o pipefail: a failed build fails the step
    test = step_index(steps, lambda s: s.get("run") == "make test", "runs the tests")
    assert steps[test]["env"] == {"BOOK_TEST_BUILT": "_build"}  # tests that build (conftest.py)
    assert build < test
    # Nothing else builds the book: the build tested is the build published.
    for i, run in enumerate(runs):
        if i != build:
            assert not re.search(r"\bmake\b.*\b(html|pdf)\b", run), run
    pages = step_index(steps, lambda s: s.get("uses", "").startswith("actions/upload-pages-artifact@"),
                       "uploads the site")
    assert test < pages
    assert steps[pages]["with"] == {"path": "_build/html"}
    assert steps[pages]["if"] == "github.ref == 'refs/heads/main'"
    deploy = config["jobs"]["deploy"]
    assert deploy["needs"] == "test"
    assert deploy["if"] == "github.ref == 'refs/heads/main'"
    assert deploy["permissions"] == {"pages": "write", "id-token": "write"}
    assert [s["uses"].split("@")[0] for s in deploy["steps"]] == ["actions/deploy-pages"]


def test_github_workflow_caches_the_debian_packages():
    steps = workflow_steps(load_yaml(WORKFLOWS / "book.yml"), "test")
    # Debian's image deletes what apt downloads unless docker-clean goes, before any download.
    keep = step_index(steps, lambda s: "rm -f /etc/apt/apt.conf.d/docker-clean" in s.get("run", ""),
                      "keeps the downloaded packages")
    assert steps[keep]["run"].index("docker-clean") < steps[keep]["run"].index("apt-get install")
    checkout = step_index(steps, lambda s: s.get("uses", "").startswith("actions/checkout@"), "checks out")
    cache = step_index(steps, lambda s: s.get("uses", "").startswith("actions/cache@"), "caches")
    install = step_index(steps, lambda s: s.get("run") == "make apt venv", "installs TeX Live and the rest")
    assert keep < checkout < cache < install  # hashFiles needs the checkout
    options = steps[cache]["with"]
    assert options["path"] == "/var/cache/apt/archives/*.deb"
    assert options["key"] == "debian12-apt-${{ hashFiles('Makefile', 'tools/ensure-apt') }}"
    assert options["restore-keys"] == "debian12-apt-"
    # `make apt` installs what the build and tests need (so no apt output lands in the build log).
    assert re.search(r"^apt:.*\n\t@\$\(HERE\)/tools/ensure-apt \$\(TEST_PKGS\)$",
                     (REPO / "Makefile").read_text(), re.M)


def test_github_workflow_keeps_the_logs_of_a_failure():
    steps = workflow_steps(load_yaml(WORKFLOWS / "book.yml"), "test")
    logs = step_index(steps, lambda s: s.get("if") == "failure()", "keeps the logs")
    assert steps[logs]["uses"].startswith("actions/upload-artifact@")
    options = steps[logs]["with"]
    assert options["include-hidden-files"] is True  # .jupyter_cache
    paths = options["path"].split()
    for path in ["_build/build.log", "_build/.jupyter_cache/logs/", "_build/reports/",
                 "_build/staging/html/reports/", "_build/latex/pytorch-primer.log"]:
        assert path in paths


def test_github_workflow_publishes_the_tested_notebooks_to_the_branch_colab_opens(fixture_site, tmp_path):
    """On main, the tested build's notebooks zip goes, unpacked, to the branch the "Open in Colab"
    buttons point at (_ext/primer_notebooks.py), from the one job allowed to write to the
    repository. Its script is run here against a local repository standing in for GitHub."""
    sys.path.insert(0, str(REPO / "_ext"))
    from primer_notebooks import BRANCH, ZIP_NAME

    config = load_yaml(WORKFLOWS / "book.yml")
    steps = workflow_steps(config, "test")
    keep = step_index(steps, lambda s: s.get("with", {}).get("name") == "notebooks", "keeps the notebooks")
    test = step_index(steps, lambda s: s.get("run") == "make test", "runs the tests")
    assert test < keep and steps[keep]["if"] == "github.ref == 'refs/heads/main'"
    assert steps[keep]["with"]["path"] == f"_build/html/notebooks/{ZIP_NAME}"
    job = config["jobs"]["notebooks"]
    assert job["needs"] == "test" and job["if"] == "github.ref == 'refs/heads/main'"
    assert config["permissions"] == {"contents": "read"}
    assert [name for name, j in config["jobs"].items() if "contents" in j.get("permissions", {})] == ["notebooks"]
    assert job["permissions"] == {"contents": "write"}
    assert job["steps"][0]["uses"].startswith("actions/download-artifact@")
    assert job["steps"][0]["with"] == {"name": "notebooks"}

    remote = tmp_path / "remote.git"
    subprocess.run(["git", "init", "-q", "--bare", str(remote)], check=True)
    token_url = "https://x-access-token:secret@github.com/example/book.git"
    env = {"PATH": os.environ["PATH"], "HOME": str(tmp_path), "GIT_CONFIG_NOSYSTEM": "1",
           "GITHUB_TOKEN": "secret", "GITHUB_SERVER_URL": "https://github.com", "GITHUB_REPOSITORY": "example/book",
           "GITHUB_SHA": "0123abc", "GIT_CONFIG_COUNT": "1",
           "GIT_CONFIG_KEY_0": f"url.{remote}.insteadOf", "GIT_CONFIG_VALUE_0": token_url}
    zip_path = fixture_site / "_build" / "html" / "notebooks" / ZIP_NAME
    for run in range(2):  # the second replaces the first
        workspace = tmp_path / f"workspace{run}"
        workspace.mkdir()
        shutil.copy(zip_path, workspace)
        result = subprocess.run(["bash", "-e", "-c", job["steps"][1]["run"]], cwd=workspace, env=env,
                                capture_output=True, text=True, timeout=60)
        assert result.returncode == 0, result.stdout + result.stderr
    listed = subprocess.run(["git", f"--git-dir={remote}", "ls-tree", "-r", "--name-only", BRANCH],
                            capture_output=True, text=True, check=True).stdout.split()
    with zipfile.ZipFile(zip_path) as bundle:
        assert sorted(listed) == sorted([*bundle.namelist(), "README.md"])
        assert "ok.ipynb" in listed
        shown = subprocess.run(["git", f"--git-dir={remote}", "show", f"{BRANCH}:ok.ipynb"],
                               capture_output=True, check=True).stdout
        assert shown == bundle.read("ok.ipynb")
    count = subprocess.run(["git", f"--git-dir={remote}", "rev-list", "--count", BRANCH],
                           capture_output=True, text=True, check=True).stdout.strip()
    assert count == "1"


@pytest.mark.parametrize("name, label", [("links", "link-check"), ("canary", "canary")])
def test_scheduled_workflow_reports_what_it_finds_in_an_issue(name, label):
    config = load_yaml(WORKFLOWS / f"{name}.yml")
    assert set(config["on"]) == {"schedule", "workflow_dispatch"}
    assert re.fullmatch(r"[\d*]+ [\d*]+ \* \* [0-6]", config["on"]["schedule"][0]["cron"])  # weekly
    assert config["permissions"] == {"contents": "read", "issues": "write"}
    steps = workflow_steps(config)
    issue = step_index(steps, lambda s: s.get("uses", "").startswith("actions/github-script@"), "reports")
    assert steps[issue]["env"]["ISSUE_LABEL"] == label
    assert ISSUE_SCRIPT in steps[issue]["with"]["script"]
    assert (REPO / ISSUE_SCRIPT).is_file()
    assert issue == len(steps) - 1 or all("uses" in s and "upload-artifact" in s["uses"] for s in steps[issue + 1:])


def test_link_check_workflow_checks_every_external_link_of_the_built_site():
    steps = workflow_steps(load_yaml(WORKFLOWS / "links.yml"))
    build = step_index(steps, lambda s: s.get("run") == "make html", "builds the site")
    lychee = step_index(steps, lambda s: s.get("uses", "").startswith("lycheeverse/lychee-action@"), "checks")
    assert build < lychee
    options = steps[lychee]["with"]
    assert options["fail"] is False  # the issue reports it; the next step must run
    assert "'_build/html/**/*.html'" in options["args"]
    assert "--scheme https --scheme http" in options["args"]
    assert steps[-1]["env"]["REPORT"] == options["output"]
    assert steps[-1]["env"]["FOUND"] == "${{ steps.lychee.outputs.exit_code != '0' }}"


def test_canary_workflow_builds_with_the_lock_and_the_newest_torch_and_compares():
    steps = workflow_steps(load_yaml(WORKFLOWS / "canary.yml"))
    runs = [s.get("run", "") for s in steps]
    lock = step_index(steps, lambda s: "make html BUILDDIR=_build/lock 2>&1 | tee _build/lock/build.log"
                      in s.get("run", ""), "builds with the lock")
    torch = step_index(steps, lambda s: s.get("id") == "torch", "installs the newest torch")
    assert "pip install --quiet --upgrade --index-url https://download.pytorch.org/whl/cpu torch" in runs[torch]
    newest = step_index(steps, lambda s: "make html BUILDDIR=_build/newest 2>&1 | tee _build/newest/build.log"
                        in s.get("run", ""), "builds with the newest torch")
    compare = step_index(steps, lambda s: s.get("id") == "compare", "compares")
    assert lock < torch < newest < compare
    assert "tools/canary_compare.py _build/lock _build/newest --out _build/canary.md" in runs[compare]
    for step in (steps[lock], steps[newest], steps[compare]):
        assert step["shell"] == "bash"
    assert steps[-1]["env"]["REPORT"] == "_build/canary.md"
    assert steps[-1]["env"]["FOUND"] == "${{ steps.compare.outputs.status == '1' }}"


ISSUE_HARNESS = r"""
const [script, openJson] = process.argv.slice(1)
const calls = []
const open = JSON.parse(openJson)
const issues = {
  listForRepo: async () => ({data: open}),
  createComment: async a => { calls.push(['comment', a.issue_number]) },
  update: async a => { calls.push(['update', a.issue_number, a.state || a.body.split('\n')[0]]) },
  getLabel: async () => { const e = new Error('Not Found'); e.status = 404; throw e },
  createLabel: async a => { calls.push(['label', a.name]) },
  create: async a => { calls.push(['create', a.title, a.labels, a.body.split('\n')[0]]); return {data: {number: 9}} },
}
const github = {rest: {issues}, paginate: async (method, args) => (await method(args)).data}
const context = {repo: {owner: 'o', repo: 'r'}, serverUrl: 'https://github.com', runId: 1, workflow: 'links'}
require(script)({github, context, core: {info: () => {}}}).then(() => console.log(JSON.stringify(calls)))
"""


def test_workflow_issue_script_opens_updates_and_closes_one_issue(tmp_path):
    if not shutil.which("node"):
        pytest.skip("no Node.js here to run the actions/github-script script")
    report = tmp_path / "report.md"
    report.write_text("# 2 broken links\n")

    def run(found, open_issues):
        env = {"PATH": "/usr/bin:/bin", "ISSUE_TITLE": "Broken links", "ISSUE_LABEL": "link-check",
               "REPORT": str(report), "FOUND": found}
        done = subprocess.run(["node", "-e", ISSUE_HARNESS, str(REPO / ISSUE_SCRIPT), json.dumps(open_issues)],
                              capture_output=True, text=True, env=env, timeout=60)
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout)

    mine = {"number": 4, "body": "# 2 broken links\n\n---\nFound by links: https://github.com/o/r/actions/runs/0\n"}
    assert run("true", []) == [["label", "link-check"], ["create", "Broken links", ["link-check"], "# 2 broken links"]]
    assert run("true", [mine]) == [["update", 4, "# 2 broken links"]]  # the same report: no comment
    assert run("true", [{**mine, "body": "# 5 broken links\n"}]) == [["update", 4, "# 2 broken links"], ["comment", 4]]
    assert run("false", [{"number": 3, "pull_request": {}}, mine]) == [["comment", 4], ["update", 4, "closed"]]
    assert run("false", []) == []


def test_dependabot_updates_pip_actions_and_npm_weekly():
    config = load_yaml(REPO / ".github" / "dependabot.yml")
    jsonschema.validate(config, json.loads((SCHEMAS / "dependabot-2.0.schema.json").read_text()))
    directories = sorted((u["package-ecosystem"], u["directory"]) for u in config["updates"])
    assert directories == [("github-actions", "/"), ("npm", "/tools/bench"), ("npm", "/tools/demo"), ("npm", "/tools/vnu"),
                           ("pip", "/")]
    assert all(u["schedule"]["interval"] == "weekly" for u in config["updates"])
    updates = {u["directory"]: u for u in config["updates"] if u["package-ecosystem"] == "npm"}
    updates["npm"] = updates["/tools/bench"]
    for name in ["requirements.in", "requirements.txt", "tools/bench/package.json", "tools/bench/package-lock.json",
                 "tools/vnu/package.json", "tools/vnu/package-lock.json", "tools/demo/package.json",
                 "tools/demo/package-lock.json"]:
        assert (REPO / name).is_file()
    # Lighthouse stays on a major that runs on Debian 12's Node (18.19): the lock, the
    # manifest and Dependabot's ignore rule agree.
    package = json.loads((REPO / "tools" / "bench" / "package.json").read_text())
    locked = json.loads((REPO / "tools" / "bench" / "package-lock.json").read_text())["packages"]
    version = package["dependencies"]["lighthouse"]
    assert locked["node_modules/lighthouse"]["version"] == version and int(version.split(".")[0]) < 13
    minimum = re.fullmatch(r">=\s*(\d+)\.(\d+)", locked["node_modules/lighthouse"]["engines"]["node"])
    assert (int(minimum[1]), int(minimum[2])) <= (18, 19)
    assert {"dependency-name": "lighthouse", "versions": [">=13"]} in updates["npm"]["ignore"]


# -- The lock ---------------------------------------------------------------------------------

def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def pins(text: str) -> dict[str, str]:
    return {canonical(m[1]): m[2] for m in re.finditer(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==(\S+)", text, re.M)}


def test_lock_pins_every_installed_distribution_with_hashes():
    lock = (REPO / "requirements.txt").read_text()
    entries = re.findall(r"^[A-Za-z0-9].*\n(?:[ #].*\n)*", lock, re.M)  # name==version, its hashes
    for entry in entries:
        assert re.search(r"--hash=sha256:[0-9a-f]{64}", entry), f"no hash: {entry.splitlines()[0]}"
    locked = pins(lock)
    assert len(locked) == len(entries)
    # Every direct dependency is locked at the version requirements.in asks for.
    direct = pins((REPO / "requirements.in").read_text())
    assert {name: locked.get(name) for name in direct} == direct
    assert locked["torch"].endswith("+cpu") and "--extra-index-url https://download.pytorch.org/whl/cpu" in lock
    # The venv holds exactly the lock: nothing more, nothing else (N of N).
    listed = subprocess.run([str(REPO / ".venv" / "bin" / "python"), "-m", "pip", "list", "--format=json"],
                            capture_output=True, text=True, check=True).stdout
    installed = {canonical(d["name"]): d["version"] for d in json.loads(listed)}
    assert installed == locked
    check = subprocess.run([str(REPO / ".venv" / "bin" / "python"), "-m", "pip", "check"], capture_output=True, text=True)
    assert check.returncode == 0, check.stdout


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
    for target in ["html", "pdf", "livehtml", "serve", "clean", "test", "check", "lint", "chapter"]:
        assert re.search(rf"make {target}\b", out), target


def test_a_chapter_from_the_template_builds_and_appears_in_the_book(tmp_path):
    """`make chapter NAME=...` on a copy of the book: the new chapter is built and in the contents."""
    root = copy_repo(tmp_path / "book")
    made = subprocess.run(["make", "-C", str(root), "chapter", "NAME=tiny-test"], capture_output=True, text=True)
    assert made.returncode == 0, made.stdout + made.stderr
    # Build only the new chapter with the index (the others are already tested): keep the toctree entry.
    index = (root / "index.md").read_text()
    assert "chapters/tiny-test\n" in index
    for chapter in (root / "chapters").glob("*.md"):
        if chapter.stem not in ("tiny-test", "_template"):
            chapter.unlink()
    for page in ("errata", "setup", "glossary"):  # back matter that links to the chapters
        (root / f"{page}.md").unlink()
        index = re.sub(rf"^{page}\n", "", index, flags=re.M)
    (root / "index.md").write_text(re.sub(r"^chapters/(?!tiny-test)[\w-]+\n", "", index, flags=re.M))
    result = run_make("html", root / "_build", cwd=root)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Executed  chapters/tiny-test.md" in result.stdout
    home = (root / "_build" / "html" / "index.html").read_text()
    assert 'href="chapters/tiny-test.html"' in home
    assert (root / "_build" / "html" / "chapters" / "tiny-test.html").is_file()


def test_every_chapter_declares_an_execution_budget():
    """`primer: execution_budget` in the front matter (chapters/_template.md): a number of seconds."""
    for page, nb in execute.chapter_notebooks(REPO):
        assert execute.execution_budget(nb) > 0, f"{page.relative_to(REPO)}: no primer.execution_budget"


def test_a_clean_build_executes_the_longest_chapters_first():
    """With an empty cache the chapters start in the order of their budgets; a run time the cache
    knows (any earlier version of the chapter) comes before the budget."""
    todo = execute.chapter_notebooks(REPO)
    order = [page for page, _ in execute.longest_first(todo, {})]
    budgets = {page: execute.execution_budget(nb) for page, nb in todo}
    assert [budgets[p] for p in order] == sorted(budgets.values(), reverse=True)
    shortest = order[-1]
    assert execute.longest_first(todo, {str(shortest): 1000.0})[0][0] == shortest
