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
# The installer: uv, pinned and hash-checked from PyPI, in its own small venv so that
# syncing the project's environment never touches it.
UV_VERSION := 0.13.8
TOOLS      := .tools
UV         := $(TOOLS)/bin/uv
LOCK       := requirements.lock
UV_LOCK    := requirements-uv.lock
NEWEST     := .venv-newest
PORT ?= 8888
NEWS_PLUGIN := @jupyterlab/apputils-extension:announcements
# nbgrader's instructor tools, hidden from learners (make instructor-lab shows them).
INSTRUCTOR_PLUGINS := @jupyter/nbgrader:formgrader @jupyter/nbgrader:create-assignment @jupyter/nbgrader:course-list
INSTRUCTOR_SERVER_EXTENSIONS := nbgrader.server_extensions.formgrader nbgrader.server_extensions.course_list
INSTRUCTOR_CONFIG := $(CURDIR)/jupyter-config/instructor
# Exported HTML inlines this mermaid (npm package, pinned by version and checksum).
MERMAID_VERSION := 11.10.0
MERMAID_SHA256  := 0755e39315802b1f9644afbc95ef1eccd4015a47399deae280bf1c1fd33835c2
MERMAID_JS      := grader/export/vendor/mermaid.min.js
# Containers and CI often run as root; JupyterLab refuses that unless told it is deliberate.
ROOT_FLAG := $(if $(filter 0,$(shell id -u)),--allow-root)
PYTEST_ARGS ?=
# On Linux without a display there is no browser to open: say nothing rather than warn.
NO_BROWSER := $(if $(and $(filter Linux,$(shell uname -s)),$(if $(DISPLAY)$(WAYLAND_DISPLAY),,none)),--no-browser)
# One Ctrl-C stops the server (kernels shut down cleanly): without answer_yes JupyterLab asks
# "Shut down this Jupyter server?" among its log lines and carries on after 5 s, make still waiting.
LAB_FLAGS  := $(NO_BROWSER) --ServerApp.answer_yes=True

LINT_PATHS := grader tests bench tools

.PHONY: help setup lock lint test-fast lab instructor-lab mermaid test test-newest bench bench-peers pin-outputs clean cluster cluster-down cluster-status release autograde feedback grades report grade-live
.PHONY: control-plane test-control-plane class class-env class-down test-classroom
.PHONY: local-cluster-deps local-cluster local-cluster-down test-live

help:
	@echo "make lab             start JupyterLab on the course (installs what it needs first)"
	@echo "make instructor-lab  JupyterLab with nbgrader's instructor tools (formgrader, Create Assignment)"
	@echo "make mermaid         vendor mermaid (needs npm) so exported HTML shows diagrams offline"
	@echo "make test            install, then run the whole test suite (offline; live tests skip without a cluster)"
	@echo "make lint            ruff, mypy on grader/, and the layer contract (tools/layer_contract.py)"
	@echo "make test-fast       the inner loop: the suite without slow, live and control-plane tests"
	@echo "make setup           only install the locked versions (idempotent; instant when nothing changed)"
	@echo "make lock            update requirements.lock after editing pyproject.toml (UPGRADE=1: newest of everything)"
	@echo "make test-newest     run the suite against the newest versions pyproject.toml allows (unlocked)"
	@echo "make cluster         create the kind cluster 'svclab' (needs Docker and kind >= 0.24)"
	@echo "make cluster-status  what is set up for live mode, and what is missing"
	@echo "make cluster-down    delete the cluster and its LoadBalancer controller"
	@echo "make bench           print benchmark figures (model, CLI vs kubernetes-validate, whole course, autograding 50)"
	@echo "make bench-peers     svclab check/matrix against kubeconform, kubernetes-validate, policy-assistant (builds the Go peers once)"
	@echo "make pin-outputs     re-store the course outputs pinned with # NBVAL_CHECK_OUTPUT (nbval compares them)"
	@echo "make release         instructors: generate the student version of every lab (labs/release/)"
	@echo "make autograde       instructors: grade everything in labs/submitted/, in parallel"
	@echo "make feedback        instructors: HTML feedback per student (labs/feedback/)"
	@echo "make grades          instructors: export labs/grades.csv"
	@echo "make report          instructors: item analysis, pass rate of every check (labs/reports/)"
	@echo "make grade-live      instructors: re-grade on the live cluster, list offline/live disagreements"
	@echo "make control-plane   build upstream etcd, Kubernetes, kwok, CoreDNS from Go modules (cached)"
	@echo "make test-control-plane  build them, then test the model and live backend against them"
	@echo "make class           a JupyterHub class on this machine: an instructor, learners, nbgrader's exchange (root)"
	@echo "make class-down      remove the class's users and its folder (.class/)"
	@echo "make test-classroom  headless Chromium drives the class through a whole assignment cycle"
	@echo "make local-cluster   Linux without Docker: build, then start a two-node cluster (root; README)"
	@echo "make local-cluster-down  stop it and remove what it made (always safe)"
	@echo "make local-cluster-deps  apt-get the Debian packages it needs (containerd, runc, CNI plugins ...)"
	@echo "make test-live       fresh local cluster, the live test suite against it, teardown"
	@echo "make clean           remove the virtual environment and caches"

# With npm at hand, setup also vendors mermaid: exported HTML (README: the two commands)
# shows the diagrams offline instead of loading mermaid from a CDN.
setup: $(STAMP) $(if $(shell command -v npm 2>/dev/null),mermaid)

$(UV): $(UV_LOCK)
	@test -x $(TOOLS)/bin/python || $(BOOTSTRAP_PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/python -m pip install --quiet --require-hashes --no-deps -r $(UV_LOCK)
	@touch $@

# Re-run only when the lock, the project's metadata, these steps or the Jupyter config that
# grader.export writes change. A venv gets exactly the lock (sync removes what it does not
# list); a conda env only gets the lock's versions installed, so conda's own packages stay.
$(STAMP): $(LOCK) pyproject.toml Makefile grader/export/__init__.py | $(UV)
ifdef VENV
	@test -x $(PYTHON) || $(BOOTSTRAP_PYTHON) -m venv $(VENV)
	$(UV) pip sync --quiet --require-hashes --compile-bytecode --python $(PYTHON) $(LOCK)
else
	$(UV) pip install --quiet --require-hashes --compile-bytecode --python "$$(command -v $(PYTHON))" -r $(LOCK)
endif
	@# compat: a plain path entry; the default import-hook finder costs every svclab start 20 ms.
	$(UV) pip install --quiet --no-deps --python "$$(command -v $(PYTHON))" -e . -C editable_mode=compat
	@# Bytecode now, not at every start: where PYTHONDONTWRITEBYTECODE is set (CI, some
	@# hubs) Python would otherwise recompile each module on each run of svclab.
	$(PYTHON) -m compileall -q grader
	@# No "Jupyter news?" prompt: it distracts learners and phones home from classrooms.
	@# Learners see nbgrader's assignment list and Validate only; instructor-lab adds the rest.
	$(PYTHON) -m jupyter labextension disable --level=sys_prefix --log-level=ERROR "$(NEWS_PLUGIN)" $(INSTRUCTOR_PLUGINS)
	$(PYTHON) -m jupyter server extension disable --sys-prefix --log-level=ERROR $(INSTRUCTOR_SERVER_EXTENSIONS)
	@# Kernels log errors only: every start used to print "Kernel is running over TCP without
	@# encryption" (loopback, nothing a learner can act on; ipc sockets would break on long
	@# home paths). IPython reads $$prefix/etc/ipython.
	@mkdir -p "$$($(PYTHON) -c 'import sys; print(sys.prefix)')/etc/ipython"
	@echo '{"IPKernelApp": {"log_level": "ERROR"}}' > "$$($(PYTHON) -c 'import sys; print(sys.prefix)')/etc/ipython/ipython_kernel_config.json"
	@# HTML exports (nbconvert, JupyterLab's export) use the template that inlines mermaid.
	$(PYTHON) -m grader.export
	@touch $@
	@echo "setup: done ($(PYTHON))"

$(LOCK):
	@echo "$(LOCK) is missing; it is committed with the project (make lock recreates it)" >&2; exit 1

# One command after editing pyproject.toml's dependencies: resolves for every supported
# Python and platform, one version per package where possible, each with the hashes of
# all its files. Pins already in the lock are kept where the bounds still allow them, so
# adding one dependency changes little; UPGRADE=1 moves everything to the newest allowed.
lock: $(UV)
	$(UV) pip compile pyproject.toml --extra test --extra class --universal --python-version 3.10 \
	  --fork-strategy fewest --generate-hashes --quiet $(if $(UPGRADE),--upgrade) -o $(LOCK)
	echo "uv==$(UV_VERSION)" | $(UV) pip compile - --universal --generate-hashes --quiet \
	  --no-header -o $(UV_LOCK)
	@echo "lock: wrote $(LOCK) and $(UV_LOCK); commit them, then make setup"

lab: setup
	$(PYTHON) -m jupyter lab --ServerApp.root_dir="$(CURDIR)" --ServerApp.port=$(PORT) \
	  --LabApp.default_url=/lab/tree/course $(LAB_FLAGS) $(ROOT_FLAG) $(LAB_ARGS)

instructor-lab: setup mermaid
	JUPYTER_CONFIG_PATH="$(INSTRUCTOR_CONFIG)$${JUPYTER_CONFIG_PATH:+:$$JUPYTER_CONFIG_PATH}" \
	  $(PYTHON) -m jupyter lab --ServerApp.root_dir="$(CURDIR)" --ServerApp.port=$(PORT) \
	  --LabApp.default_url=/lab/tree/labs $(LAB_FLAGS) $(ROOT_FLAG) $(LAB_ARGS)

# npm pack checks the registry's integrity hash; the sha256 pins the file itself.
mermaid: $(MERMAID_JS)

$(MERMAID_JS):
	@command -v npm >/dev/null || { echo "make mermaid: needs npm (Node.js); without it exported HTML loads mermaid from a CDN" >&2; exit 1; }
	@tmp=$$(mktemp -d) && trap 'rm -rf "$$tmp"' EXIT && \
	  (cd "$$tmp" && npm pack --silent "mermaid@$(MERMAID_VERSION)" >/dev/null) && \
	  tar -xzf "$$tmp/mermaid-$(MERMAID_VERSION).tgz" -C "$$tmp" package/dist/mermaid.min.js && \
	  $(BOOTSTRAP_PYTHON) -c 'import hashlib, sys; got = hashlib.sha256(open(sys.argv[1], "rb").read()).hexdigest(); sys.exit(None if got == sys.argv[2] else f"mermaid.min.js: sha256 {got}, expected {sys.argv[2]}")' \
	    "$$tmp/package/dist/mermaid.min.js" "$(MERMAID_SHA256)" && \
	  mkdir -p $(@D) && mv "$$tmp/package/dist/mermaid.min.js" $@
	@echo "mermaid: vendored $(MERMAID_VERSION) into $@"

# With npm at hand, the suite also proves that exports show diagrams offline.
# One worker per core (TEST_WORKERS=1: one process); a notebook's cells stay together in
# one worker (--dist loadfile), as nbval runs them in one kernel, top to bottom.
TEST_WORKERS ?= auto
test: setup $(if $(shell command -v npm 2>/dev/null),mermaid)
	$(PYTHON) -m pytest --nbval-lax -n $(TEST_WORKERS) --dist loadfile tests course $(PYTEST_ARGS)

# The gates CI runs before the tests (CONTRIBUTING.md): style and bugs, types, the floors.
lint: setup
	$(PYTHON) -m ruff check $(LINT_PATHS)
	$(PYTHON) -m mypy
	$(PYTHON) -m tools.check_layers

# The inner loop: no JupyterLab/nbgrader runs, no cluster, no control plane, no notebooks.
test-fast: setup
	$(PYTHON) -m pytest -m "not slow and not live and not controlplane and not classroom" tests $(PYTEST_ARGS)

# Not locked: the newest release of every dependency that pyproject.toml admits, in a venv
# of its own, so a breaking upstream release shows up here before a learner installs it.
test-newest: | $(UV)
	@test -x $(NEWEST)/bin/python || $(BOOTSTRAP_PYTHON) -m venv $(NEWEST)
	$(UV) pip install --quiet --compile-bytecode --python $(NEWEST)/bin/python --upgrade --refresh -e ".[test]"
	$(NEWEST)/bin/python -m grader.export >/dev/null
	$(NEWEST)/bin/python -m pytest --nbval-lax tests course $(PYTEST_ARGS)

bench-peers: setup
	$(PYTHON) bench/peers_bench.py

bench: setup
	$(PYTHON) bench/matrix_bench.py
	$(PYTHON) bench/cli_bench.py
	$(PYTHON) bench/course_bench.py
	$(PYTHON) bench/autograde_bench.py

# Re-store the outputs of course cells marked # NBVAL_CHECK_OUTPUT (after changing what they show).
pin-outputs: setup
	$(PYTHON) -m grader.pin_outputs $$(grep -l "NBVAL_CHECK_OUTPUT" course/*.ipynb)

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

grade-live: setup
	$(PYTHON) -m grader.cli grade live $(GRADE_LAB) $(if $(CONTEXT),--context $(CONTEXT)) $(if $(JOBS),--jobs $(JOBS))

cluster: setup
	$(PYTHON) -m grader.cli cluster up

cluster-down: setup
	$(PYTHON) -m grader.cli cluster down

# Exit 3 means "reported what is missing": the table is the answer, not a make failure.
cluster-status: setup
	@$(PYTHON) -m grader.cli cluster status || [ $$? -eq 3 ]

# ---- upstream control plane for tests (tests/controlplane; needs Go, not Docker) ----
# The build script uses only Python's standard library and caches outside the clone.
control-plane:
	$(BOOTSTRAP_PYTHON) controlplane/build.py

test-control-plane: setup control-plane
	$(PYTHON) -m pytest -m controlplane tests/controlplane $(PYTEST_ARGS)

# ---- the class on one machine (README "For instructors"; grader/classroom/) ----
# The class gets its own environment from the same lock, on the system's Python: every
# class user must be able to run it (the default .venv's interpreter may sit in a home
# other users cannot enter). configurable-http-proxy (and Playwright for the test) come
# from classroom/package-lock.json.
CLASS_DIR    ?= $(CURDIR)/.class
CLASS_PYTHON ?= /usr/bin/python3
CLASS_VENV   := .venv-class
CLASS_PORT   ?= 8765
NODE_STAMP   := classroom/node_modules/.install.stamp

$(NODE_STAMP): classroom/package.json classroom/package-lock.json
	@command -v npm >/dev/null || { echo "make class: needs npm (Node.js) for JupyterHub's configurable-http-proxy" >&2; exit 1; }
	cd classroom && npm ci --no-audit --no-fund --ignore-scripts --loglevel=error
	@touch $@

class-env: $(NODE_STAMP) mermaid
	@$(MAKE) --no-print-directory setup VENV=$(CLASS_VENV) PYTHON=$(CLASS_VENV)/bin/python \
	  STAMP=$(CLASS_VENV)/.setup.stamp BOOTSTRAP_PYTHON=$(CLASS_PYTHON) CONDA_PREFIX=

class: class-env
	$(CLASS_VENV)/bin/python -m grader.classroom --dir "$(CLASS_DIR)" up --port $(CLASS_PORT)

class-down:
	$(if $(wildcard $(CLASS_VENV)/bin/python),$(CLASS_VENV)/bin/python,$(PYTHON)) -m grader.classroom --dir "$(CLASS_DIR)" down

test-classroom: class-env
	$(CLASS_VENV)/bin/python -m pytest -m classroom tests/classroom $(PYTEST_ARGS)

# ---- a real cluster on this Linux machine without Docker (grader/localcluster; root) ----
LOCAL_ENV = KUBECONFIG=$$($(PYTHON) -c 'from grader.localcluster.layout import kubeconfig_path as k; print(k())') SVCLAB_CONTEXT=svclab-local
LIVE_TESTS ?= tests

local-cluster-deps:
	$(BOOTSTRAP_PYTHON) grader/localcluster/preflight.py --install

local-cluster: setup
	$(PYTHON) -m grader.cli cluster up --local

local-cluster-down: setup
	$(PYTHON) -m grader.cli cluster down --local

# A fresh cluster for the run, torn down afterwards whatever the result.
test-live: setup
	$(PYTHON) -m grader.cli cluster up --local
	@rc=0; $(LOCAL_ENV) $(PYTHON) -m pytest -m live --durations=25 $(LIVE_TESTS) $(PYTEST_ARGS) || rc=$$?; \
	  $(PYTHON) -m grader.cli cluster down --local; exit $$rc

clean:
	rm -rf .venv $(NEWEST) $(CLASS_VENV) classroom/node_modules $(TOOLS) .pytest_cache .benchmarks build *.egg-info
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
