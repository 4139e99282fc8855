# The PyTorch Primer. `make help` lists the targets.
# Set-up is automatic: .venv/ is (re)made from requirements.txt, Debian packages are installed
# when a target needs them (as root or with sudo; otherwise the exact apt-get line is printed).

HERE     := $(patsubst %/,%,$(dir $(abspath $(lastword $(MAKEFILE_LIST)))))
BUILDDIR ?= _build
PYTHON   ?= python3
VENV     := $(HERE)/.venv
PY       := $(VENV)/bin/python
SPHINXOPTS ?= -j auto
LIVEPORT ?= 8000
SPHINX   := $(VENV)/bin/sphinx-build -q -n -W --keep-going $(SPHINXOPTS)
# conf.py and tools/execute.py read it (the execution cache, the PDF to link)
export BOOK_BUILDDIR := $(abspath $(BUILDDIR))

TEX_PKGS := latexmk texlive-latex-recommended texlive-latex-extra texlive-fonts-recommended \
            texlive-fonts-extra texlive-xetex tex-gyre fonts-freefont-otf xindy
TEST_PKGS := $(TEX_PKGS) poppler-utils chromium nginx default-jre-headless epubcheck

.DEFAULT_GOAL := help
.PHONY: help html pdf epub livehtml serve clean test check apt execute venv lock lint chapter bench gpu-check FORCE

help: ## list the targets
	@echo "The PyTorch Primer. Targets:"
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed -E 's/:.*## /\t/' | awk -F'\t' '{printf "  make %-10s %s\n", $$1, $$2}'

# The venv is made anew (not patched) whenever the lock changes, from the lock alone: every
# distribution pinned with its hash (pip's hash-checking mode), nothing resolved at install time.
# With pip's find-links set (a local folder of wheels, as on the project's build machines, which
# reach no PyTorch index), pip doesn't wait on retries for PyTorch's index: the wheel is local.
LOCAL_WHEELS := $(or $(PIP_FIND_LINKS),$(shell $(PYTHON) -m pip config get global.find-links 2>/dev/null))
PIP_RETRIES ?= $(if $(LOCAL_WHEELS),0,5)
$(VENV)/.installed: $(HERE)/requirements.txt
	@rm -rf $(VENV)
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --no-deps --require-hashes --retries $(PIP_RETRIES) -r $(HERE)/requirements.txt
	$(PY) -m pip check
	@touch $@

venv: $(VENV)/.installed ## create .venv/ from the lock (requirements.txt); remade when the lock changes

TORCH_INDEX := https://download.pytorch.org/whl/cpu
LOCK_SOURCE ?= $(if $(LOCAL_WHEELS),--find-links $(LOCAL_WHEELS),--extra-index-url $(TORCH_INDEX) --index-strategy unsafe-best-match)
lock: $(VENV)/.installed ## resolve requirements.in into the hashed lock requirements.txt (then make remakes .venv/)
	@$(VENV)/bin/uv pip compile $(HERE)/requirements.in --generate-hashes --python-version 3.11 \
	  --python-platform x86_64-manylinux_2_28 --custom-compile-command "make lock" --quiet \
	  $(LOCK_SOURCE) -o $(HERE)/requirements.lock.new
	@{ sed -n '1,2p' $(HERE)/requirements.lock.new; printf '%s\n' \
	  "# The lock: every distribution the book installs, pinned, with its hash; edit requirements.in," \
	  "# not this. The torch CPU build (+cpu) is on PyTorch's CPU index, everything else on PyPI." \
	  "--extra-index-url $(TORCH_INDEX)"; sed '1,2d' $(HERE)/requirements.lock.new; } > $(HERE)/requirements.txt
	@rm -f $(HERE)/requirements.lock.new
	@echo "requirements.txt: $$(grep -c '^[A-Za-z0-9].*==' $(HERE)/requirements.txt) distributions locked with hashes"

execute: $(VENV)/.installed ## execute changed chapters into the cache (part of html, pdf and epub)
	@$(PY) $(HERE)/tools/execute.py --root $(CURDIR)

# What the site is built from: when none of it changed, `make html` has nothing to do.
SOURCES := $(shell find conf.py index.md setup.md errata.md reports.md glossary.md references.bib requirements.txt chapters _ext _static _templates \
             tools/publish.py tools/postbuild.py tools/primer_css.py tools/execute.py requirements-reader.txt tools/reader \
             -type f -not -path '*/__pycache__/*' 2>/dev/null) $(wildcard $(BUILDDIR)/latex/pytorch-primer.pdf) \
           $(wildcard $(BUILDDIR)/epub/pytorch-primer.epub)
STAMP := $(BUILDDIR)/.html-built
ENVKEY := $(BUILDDIR)/.html-env

# ONNX Runtime Web for the digits demo (_ext/primer_demo.py copies the two files it needs into the
# site), exactly as tools/demo/package-lock.json pins it (again whenever the lock changes).
DEMO := $(HERE)/tools/demo
$(DEMO)/node_modules/.installed: $(DEMO)/package-lock.json $(DEMO)/package.json
	@command -v npm >/dev/null || $(HERE)/tools/ensure-apt nodejs npm
	npm ci --prefix $(DEMO) --ignore-scripts --engine-strict --no-audit --no-fund --loglevel=error
	@touch $@

html: ## build the web book into $(BUILDDIR)/html (published only if the build is clean)
	@test -f $(BUILDDIR)/html/index.html || rm -f $(STAMP)
	@$(MAKE) --no-print-directory -f $(HERE)/Makefile $(STAMP)
	@echo "The book is in $(BUILDDIR)/html/index.html"

$(STAMP): $(VENV)/.installed $(DEMO)/node_modules/.installed $(SOURCES) $(ENVKEY)
	@$(PY) $(HERE)/tools/execute.py --root $(CURDIR)
	@$(SPHINX) -b html -d $(BUILDDIR)/doctrees . $(BUILDDIR)/staging/html \
	  || { rm -f $(BUILDDIR)/doctrees/environment.pickle; \
	       echo "make html: the build failed; $(BUILDDIR)/html still holds the last good build." >&2; exit 1; }
	@# a copy of the staging folder, made light (tools/postbuild.py), replaces the site in one swap
	@$(PY) $(HERE)/tools/publish.py $(BUILDDIR)/staging/html $(BUILDDIR)/html
	@touch $@

# The settings read from the environment: a change rebuilds the site.
$(ENVKEY): FORCE
	@mkdir -p $(BUILDDIR)
	@echo "BOOK_REPOSITORY_URL=$(BOOK_REPOSITORY_URL) BOOK_SITE_URL=$(BOOK_SITE_URL)" | cmp -s - $@ 2>/dev/null \
	  || echo "BOOK_REPOSITORY_URL=$(BOOK_REPOSITORY_URL) BOOK_SITE_URL=$(BOOK_SITE_URL)" > $@

FORCE:

pdf: execute ## build the PDF into $(BUILDDIR)/latex/pytorch-primer.pdf
	@$(HERE)/tools/ensure-apt $(TEX_PKGS)
	@$(SPHINX) -b latex -d $(BUILDDIR)/doctrees-latex . $(BUILDDIR)/latex \
	  || { rm -f $(BUILDDIR)/doctrees-latex/environment.pickle; exit 1; }
	@$(MAKE) -C $(BUILDDIR)/latex LATEXMKOPTS="-interaction=nonstopmode -halt-on-error -quiet" all-pdf >$(BUILDDIR)/latex/make.log 2>&1 \
	  || { tail -40 $(BUILDDIR)/latex/make.log; echo "make pdf: LaTeX failed; the log is $(BUILDDIR)/latex/pytorch-primer.log" >&2; exit 1; }
	@echo "The PDF is $(BUILDDIR)/latex/pytorch-primer.pdf"

# EPUBCheck's errors fail the target; its report is also in $(BUILDDIR)/epubcheck.log. Run as
# `java -jar`: Debian's /usr/bin/epubcheck is the jar itself, which needs binfmt_misc to start.
epub: execute ## build the EPUB into $(BUILDDIR)/epub/pytorch-primer.epub and check it (EPUBCheck)
	@$(HERE)/tools/ensure-apt epubcheck
	@$(SPHINX) -b epub -d $(BUILDDIR)/doctrees-epub . $(BUILDDIR)/epub \
	  || { rm -f $(BUILDDIR)/doctrees-epub/environment.pickle; exit 1; }
	@java -jar /usr/share/java/epubcheck.jar $(BUILDDIR)/epub/pytorch-primer.epub >$(BUILDDIR)/epubcheck.log 2>&1; \
	  status=$$?; grep -E '^(FATAL|ERROR|WARNING)|^Messages:' $(BUILDDIR)/epubcheck.log; \
	  [ $$status -eq 0 ] || { echo "make epub: EPUBCheck found errors; its report is $(BUILDDIR)/epubcheck.log" >&2; exit 1; }
	@echo "The EPUB is $(BUILDDIR)/epub/pytorch-primer.epub"

livehtml: $(VENV)/.installed $(DEMO)/node_modules/.installed ## preview at http://127.0.0.1:8000, rebuilding on every save
	$(VENV)/bin/sphinx-autobuild -n --keep-going -d $(BUILDDIR)/doctrees-live . $(BUILDDIR)/live \
	  --pre-build "$(PY) $(HERE)/tools/execute.py --root $(CURDIR)" \
	  --ignore "$(abspath $(BUILDDIR))" --ignore "$(CURDIR)/.venv" --ignore "$(CURDIR)/.git" \
	  --ignore "$(CURDIR)/tests" --ignore "$(CURDIR)/tools" \
	  --re-ignore "__pycache__|\.ipynb$$|\.ruff_cache|\.pytest_cache|~$$|\.sw.$$" \
	  --watch _ext --host 127.0.0.1 --port $(LIVEPORT)

serve: ## serve the built site at http://127.0.0.1:8000
	@test -f $(BUILDDIR)/html/index.html || $(MAKE) html
	$(PYTHON) -m http.server --bind 127.0.0.1 --directory $(BUILDDIR)/html 8000

lint: $(VENV)/.installed ## the pre-commit hooks on every file (ruff on code cells, codespell, ...)
	cd $(HERE) && $(VENV)/bin/pre-commit run --all-files --show-diff-on-failure

gpu-check: $(VENV)/.installed ## on a CUDA machine: run every GPU-only block of the book, print a table
	@$(PY) $(HERE)/tools/gpu_check.py

chapter: $(VENV)/.installed ## start a chapter from the template: make chapter NAME=my-slug
	@$(PY) $(HERE)/tools/new_chapter.py "$(NAME)"

# Lighthouse, exactly as tools/bench/package-lock.json pins it (again whenever the lock changes).
# Node and npm come from Debian when there are none; --engine-strict stops on a Node too old for it.
BENCH := $(HERE)/tools/bench
$(BENCH)/node_modules/.installed: $(BENCH)/package-lock.json $(BENCH)/package.json
	@command -v npm >/dev/null || $(HERE)/tools/ensure-apt nodejs npm
	npm ci --prefix $(BENCH) --engine-strict --no-audit --no-fund --loglevel=error
	@touch $@

bench: $(VENV)/.installed $(BENCH)/node_modules/.installed ## measure build speed and page speed into $(BUILDDIR)/bench/
	@$(HERE)/tools/ensure-apt nginx chromium
	@status=0; \
	$(PY) $(HERE)/tools/bench/build.py $(BUILDDIR)/bench || status=1; \
	$(PY) $(HERE)/tools/bench/suite.py $(BUILDDIR)/bench || status=1; \
	$(MAKE) --no-print-directory html && $(PY) $(HERE)/tools/bench/pages.py $(BUILDDIR)/html $(BUILDDIR)/bench || status=1; \
	echo "Tables: $(BUILDDIR)/bench/build.md, suite.md and pages.md"; exit $$status

clean: ## remove every build output and the execution cache
	rm -rf $(BUILDDIR)

apt: ## install the Debian packages the PDF and the tests need (TeX Live, Chromium, nginx, Java, EPUBCheck)
	@$(HERE)/tools/ensure-apt $(TEST_PKGS)

# The W3C Nu HTML Checker (tests/test_html.py), exactly as tools/vnu/package-lock.json pins it
# (again whenever the lock changes). --ignore-scripts: its install script would download a Java;
# it runs on Debian's (default-jre-headless, in TEST_PKGS).
VNU := $(HERE)/tools/vnu
$(VNU)/node_modules/.installed: $(VNU)/package-lock.json $(VNU)/package.json
	@command -v npm >/dev/null || $(HERE)/tools/ensure-apt nodejs npm
	npm ci --prefix $(VNU) --ignore-scripts --engine-strict --no-audit --no-fund --loglevel=error
	@touch $@

# The tests build the book from scratch into a temporary folder. With BOOK_TEST_BUILT=DIR they
# test the finished `make pdf epub html` in DIR instead (its output in DIR/build.log), as CI
# does, so that what is tested is what is published. pytest.ini: the markers, the time limit.
test: $(VENV)/.installed apt $(VNU)/node_modules/.installed ## run the whole test suite (builds the book from scratch)
	cd $(HERE) && $(VENV)/bin/pytest tests --durations=25

# The quick tier, for authors after an edit: the book built into $(BUILDDIR) as `make html` builds
# it (only what changed executes), then every test but the browser's, the PDF's and the slow ones.
check: $(VENV)/.installed $(VNU)/node_modules/.installed ## quick tests after an edit: build, content, failures (no browser, PDF, EPUB)
	@$(HERE)/tools/ensure-apt default-jre-headless
	cd $(HERE) && BOOK_TEST_REUSE=$(abspath $(BUILDDIR)) $(VENV)/bin/pytest tests -m "not browser and not pdf and not epub and not slow" --durations=10
