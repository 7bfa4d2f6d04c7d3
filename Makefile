# Two commands do everything on a fresh machine:  make lab   and   make test
# Everything else here is for the cluster and for instructors.

SHELL := /bin/bash
.DEFAULT_GOAL := help

# Use the active conda env when there is one (environment.yml); otherwise a local .venv.
ifneq ($(and $(CONDA_PREFIX),$(filter-out base,$(CONDA_DEFAULT_ENV))),)
  PYTHON ?= python
  STAMP  := $(CONDA_PREFIX)/.svclab-setup.stamp
else
  VENV   := .venv
  PYTHON := $(VENV)/bin/python
  STAMP  := $(VENV)/.setup.stamp
endif
BOOTSTRAP_PYTHON ?= python3
PORT ?= 8888
NEWS_PLUGIN := @jupyterlab/apputils-extension:announcements
# Containers and CI often run as root; JupyterLab refuses that unless told it is deliberate.
ROOT_FLAG := $(if $(filter 0,$(shell id -u)),--allow-root)
PYTEST_ARGS ?=

.PHONY: help setup lab test bench clean cluster cluster-down cluster-status release autograde feedback grades report

help:
	@echo "make lab             start JupyterLab on the course (installs what it needs first)"
	@echo "make test            install, then run the whole test suite (offline; live tests skip without a cluster)"
	@echo "make setup           only install (idempotent; fast when nothing changed)"
	@echo "make cluster         create the kind cluster 'svclab' (needs Docker and kind >= 0.24)"
	@echo "make cluster-status  what is set up for live mode, and what is missing"
	@echo "make cluster-down    delete the cluster and its LoadBalancer controller"
	@echo "make bench           print benchmark figures (offline model; autograding 50 submissions)"
	@echo "make release         instructors: generate the student version of every lab (labs/release/)"
	@echo "make autograde       instructors: grade everything in labs/submitted/, in parallel"
	@echo "make feedback        instructors: HTML feedback per student (labs/feedback/)"
	@echo "make grades          instructors: export labs/grades.csv"
	@echo "make report          instructors: item analysis, pass rate of every check (labs/reports/)"
	@echo "make clean           remove the virtual environment and caches"

setup: $(STAMP)

# Re-run only when the declared dependencies change.
$(STAMP): pyproject.toml
ifdef VENV
	@test -x $(PYTHON) || $(BOOTSTRAP_PYTHON) -m venv $(VENV)
endif
	$(PYTHON) -m pip install --quiet --upgrade "pip>=23.1"
	$(PYTHON) -m pip install --quiet -e ".[test]"
	@# No "Jupyter news?" prompt: it distracts learners and phones home from classrooms.
	$(PYTHON) -m jupyter labextension disable --level=sys_prefix --log-level=ERROR "$(NEWS_PLUGIN)"
	@touch $@
	@echo "setup: done ($(PYTHON))"

lab: setup
	$(PYTHON) -m jupyter lab --ServerApp.root_dir="$(CURDIR)" --ServerApp.port=$(PORT) \
	  --LabApp.default_url=/lab/tree/course $(ROOT_FLAG) $(LAB_ARGS)

test: setup
	$(PYTHON) -m pytest --nbval-lax tests course $(PYTEST_ARGS)

bench: setup
	$(PYTHON) bench/matrix_bench.py
	$(PYTHON) bench/autograde_bench.py

# The instructor pipeline (README "For instructors"); LAB=lab1-clusterip limits a step to one lab.
GRADE_LAB := $(if $(LAB),--lab $(LAB))

release: setup
	$(PYTHON) -m grader.cli grade release $(GRADE_LAB)

autograde: setup
	$(PYTHON) -m grader.cli grade autograde $(GRADE_LAB)

feedback: setup
	$(PYTHON) -m grader.cli grade feedback $(GRADE_LAB)

grades: setup
	$(PYTHON) -m grader.cli grade grades

report: setup
	$(PYTHON) -m grader.cli grade report

cluster: setup
	$(PYTHON) -m grader.cli cluster up

cluster-down: setup
	$(PYTHON) -m grader.cli cluster down

cluster-status: setup
	$(PYTHON) -m grader.cli cluster status

clean:
	rm -rf .venv .pytest_cache .benchmarks build *.egg-info
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
