# Differentiation in Rⁿ -- every task of the course is a target here.
#   make book         build the website into _build/html (sets everything up on first use)
#   make test         everything CI checks: pytest, strict build, nbgrader both ways, grading, browser
#   make assignments  student notebooks into autograder/release/<ps>/<ps>.ipynb
#   make collect A=ps1-jacobians FROM=downloads.zip   LMS downloads into nbgrader's layout
#   make grade A=ps1-jacobians [JOBS=n] [BUDGET=s]   autograde, feedback and grades.csv for one problem set (BUDGET: seconds per submission, default 60)
#   make grade A=ps1-jacobians CLUSTER=tcp://host:8786   the same, on a Dask cluster's workers
#   make feedback A=ps1-jacobians   feedback pages again, after grading written answers in formgrader
#   make export [A=ps1-jacobians] FORMAT=canvas   grades as a CSV for Canvas's gradebook import
#   make roster FROM=canvas.csv   students' names and ids from a Canvas gradebook export
#   make bench        performance figures (kept out of `make test`)

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

# The course runs on Python 3.11, 3.12 or 3.13: the first of these found that works is used.
PYTHON ?= $(shell for v in python3.12 python3.13 python3.11 python3; do \
            p=$$(command -v $$v) && $$p -c 'import sys; assert (3, 11) <= sys.version_info[:2] <= (3, 13)' 2>/dev/null \
            && { echo $$p; break; }; done)
VENV := .venv
BIN := $(abspath $(VENV))/bin
# nbgrader calls alembic and jupyter by name: the venv's bin must come first on PATH.
export PATH := $(BIN):$(PATH)
export PYTHONHASHSEED := 0
export MPLBACKEND := Agg
ASSIGNMENTS := $(patsubst solutions/%.md,%,$(wildcard solutions/ps*.md))
A ?=
JOBS ?=
COURSE ?= autograder
CLUSTER ?=

.PHONY: help setup vendor book book-strict test pytest validate assignments collect grade feedback export roster \
        browser browser-deps bench bench-readme lock clean

help:
	@sed -n '2,12p' Makefile | sed 's/^# \{0,1\}//'

## --- environment -----------------------------------------------------------------------------
$(VENV)/.installed: requirements.txt pyproject.toml autograder/pyproject.toml
	@test -d $(VENV) || test -n "$(PYTHON)" || { echo "the course needs Python 3.11, 3.12 or 3.13: none found; set PYTHON=/path/to/python3.12"; exit 2; }
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	@$(BIN)/python -c 'import sys; assert (3, 11) <= sys.version_info[:2] <= (3, 13), "the course needs Python 3.11, 3.12 or 3.13 (.venv has %d.%d): remove .venv and set PYTHON=/path/to/python3.12" % sys.version_info[:2]'
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt
	$(BIN)/python -m pip install --quiet --no-deps -e .
	$(BIN)/python -m pip install --quiet --no-deps -e autograder
	touch $@

setup: $(VENV)/.installed vendor

node_modules/.installed: package.json package-lock.json
	npm ci --ignore-scripts --no-audit --no-fund
	touch $@

assets/vendor/.installed: node_modules/.installed
	rm -rf assets/vendor && mkdir -p assets/vendor/html-manager
	cp -r node_modules/mathjax/es5 assets/vendor/mathjax
	cp node_modules/requirejs/require.js assets/vendor/require.min.js
	cp node_modules/axe-core/axe.min.js assets/vendor/axe.min.js
	cd node_modules/@jupyter-widgets/html-manager/dist && \
	  cp embed-amd.js *.woff *.woff2 *.ttf *.eot *.svg $(CURDIR)/assets/vendor/html-manager/
	touch $@

vendor: assets/vendor/.installed

## --- the book --------------------------------------------------------------------------------
# A plain `jupyter-book build .` builds the whole site: the book's extension (_ext/) renders the
# demos as frames, writes the notebooks and the wheel, and has jupyterlite-sphinx build lite/.
JB_BUILD := $(BIN)/jupyter-book build . --builder html

# The site links each chapter's exercises, so the student notebooks are generated first.
book: setup assignments
	$(JB_BUILD)

# Every page re-read (warnings of unchanged pages count too); executions come from the cache.
book-strict: setup assignments
	$(JB_BUILD) --all -n -W --keep-going

## --- graded work -----------------------------------------------------------------------------
# The instructor's commands need the Python environment only (no Node: that is for the website).
assignments: $(VENV)/.installed
	$(BIN)/python -m diffrn_grading.cli --course $(COURSE) release $(ASSIGNMENTS)

validate: $(VENV)/.installed
	$(BIN)/python -m diffrn_grading.cli --course $(COURSE) validate $(ASSIGNMENTS)

collect: $(VENV)/.installed
	@test -n "$(A)" -a -n "$(FROM)" || { echo "say which problem set and where: make collect A=ps1-jacobians FROM=downloads.zip"; exit 2; }
	$(BIN)/python -m diffrn_grading.cli --course $(COURSE) collect $(A) $(FROM) $(if $(CANVAS),--canvas)

grade: $(VENV)/.installed
	@test -n "$(A)" || { echo "say which problem set: make grade A=ps1-jacobians"; exit 2; }
	$(BIN)/python -m diffrn_grading.cli --course $(COURSE) grade $(A) $(if $(JOBS),--jobs $(JOBS)) $(if $(BUDGET),--budget $(BUDGET)) $(if $(CLUSTER),--cluster $(CLUSTER))

# After grading the written answers in formgrader: every feedback page again, with the manual scores.
feedback: $(VENV)/.installed
	@test -n "$(A)" || { echo "say which problem set: make feedback A=ps1-jacobians"; exit 2; }
	$(BIN)/python -m diffrn_grading.cli --course $(COURSE) feedback $(A)

# FORMAT=canvas: Canvas's gradebook CSV (blank where nothing was handed in); TO=file chooses the path.
export: $(VENV)/.installed
	$(BIN)/python -m diffrn_grading.cli --course $(COURSE) export $(A) $(if $(FORMAT),--format $(FORMAT)) $(if $(TO),--to $(TO))

roster: $(VENV)/.installed
	@test -n "$(FROM)" || { echo "say which file: make roster FROM=canvas-gradebook-export.csv [ID_COLUMN='SIS Login ID']"; exit 2; }
	$(BIN)/python -m diffrn_grading.cli --course $(COURSE) roster "$(FROM)" $(if $(ID_COLUMN),--id-column "$(ID_COLUMN)")

## --- tests -----------------------------------------------------------------------------------
pytest: setup
	$(BIN)/python -m pytest -q tests --ignore=tests/browser

browser-deps:
	@bash .ci/ensure-chromium

browser: setup browser-deps
	$(BIN)/python -m pytest -q tests/browser

test: setup
	$(MAKE) pytest
	$(MAKE) book-strict
	$(MAKE) validate
	$(MAKE) browser

bench: setup assignments
	@for script in bench/[!_]*.py; do [ "$$script" = bench/update_readme.py ] || $(BIN)/python $$script; done

bench-readme: setup assignments
	$(BIN)/python bench/update_readme.py

## --- maintenance -----------------------------------------------------------------------------
lock: $(VENV)/.installed
	$(BIN)/python -m pip install --quiet -r requirements.in
	{ echo "# Generated by \`make lock\` from requirements.in: the single source of versions (pip and conda)."; \
	  $(BIN)/python -m pip freeze --exclude-editable | grep -v '^diffrn'; } > requirements.txt

clean:
	rm -rf _build assets/vendor autograder/{source,release,submitted,autograded,feedback,reports} \
	  autograder/gradebook.db autograder/grades.csv
