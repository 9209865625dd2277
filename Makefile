# losskit: `make lab` opens the lessons, `make test` runs the whole suite.
# Both create .venv on first use and refresh it when pyproject.toml changes.

PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
PYTEST_ARGS ?=

.PHONY: lab course hub hub-stop test test-fast bench lint format figures grade-demo sync-notebooks lessons-branch clean

# losskit needs Python >= 3.10 (macOS's system python3 is 3.9: pass PYTHON=python3.12).
NEED_PY310 = import sys; v = sys.version.split()[0]; sys.exit(0 if sys.version_info >= (3, 10) \
	else f"losskit needs Python >= 3.10; {sys.executable} is {v}. {sys.argv[1]}")

# A missing or broken .venv (e.g. its Python was upgraded away) is rebuilt from scratch.
$(PY):
	$(PYTHON) -c '$(NEED_PY310)' "Run: make PYTHON=python3.12 (any 3.10+)."
	$(PYTHON) -m venv --clear $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

# An existing .venv made with an old Python: say how to start over, before pip fails.
CHECK_VENV = $(PY) -c '$(NEED_PY310)' "Run: make clean, then make PYTHON=python3.12 (any 3.10+)."

# JupyterLab settings of this environment (jupyter-settings/overrides.json: every cell
# attached; with JupyterLab's lazy windowing a panel can stay blank after Run All).
LAB_OVERRIDES := $(VENV)/share/jupyter/lab/settings/overrides.json
$(LAB_OVERRIDES): jupyter-settings/overrides.json | $(PY)
	mkdir -p $(dir $@)
	cp $< $@

$(VENV)/.lab-installed: pyproject.toml | $(PY)
	$(CHECK_VENV)
	$(PY) -m pip install --quiet -e '.[lab]'
	touch $@

$(VENV)/.dev-installed: pyproject.toml | $(PY)
	$(CHECK_VENV)
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $@ $(VENV)/.lab-installed $(VENV)/.course-installed

# Root (a container, a hub image) needs --allow-root; nobody else gets it.
ALLOW_ROOT := $(if $(filter 0,$(shell id -u)),--allow-root,)

$(VENV)/.course-installed: pyproject.toml | $(PY)
	$(CHECK_VENV)
	$(PY) -m pip install --quiet -e '.[course]'
	touch $@ $(VENV)/.lab-installed

# An instructor's course: JupyterLab in the course root with nbgrader's Formgrader,
# Assignment List and Validate (assignments/README.md, "Releasing and grading").
course: $(VENV)/.course-installed $(LAB_OVERRIDES)
	cd assignments && ../$(VENV)/bin/jupyter lab $(ALLOW_ROOT)

# A real course hub on this machine, as root (deploy/README.md, "The course hub on one
# machine"): JupyterHub on 127.0.0.1:8000, PAM logins, nbgrader's exchange. The demo
# roster's accounts are created; for a real course pass ROSTER=your-roster.csv.
ROSTER ?= deploy/hub/roster.demo.csv
HUB_ARGS ?= $(if $(filter deploy/hub/roster.demo.csv,$(ROSTER)),--create-users,)
hub:
	$(PYTHON) deploy/hub/course_hub.py up --roster $(ROSTER) $(HUB_ARGS)

hub-stop:
	$(PYTHON) deploy/hub/course_hub.py stop --roster $(ROSTER)

lab: $(VENV)/.lab-installed $(LAB_OVERRIDES)
	$(VENV)/bin/jupyter lab $(ALLOW_ROOT) notebooks/

# The branch the hub pulls into students' homes: notebooks/ only, no assignment
# sources (deploy/README.md, "Course content in each home").
lessons-branch:
	git subtree split --prefix=notebooks -b lessons

# After editing a lesson (notebooks_src/*.py or its .ipynb), refresh the other one of the pair.
sync-notebooks: $(VENV)/.lab-installed
	$(VENV)/bin/jupytext --sync notebooks_src/*.py

test: $(VENV)/.dev-installed $(LAB_OVERRIDES)
	$(PY) -m pytest $(PYTEST_ARGS)

test-fast: $(VENV)/.dev-installed $(LAB_OVERRIDES)
	$(PY) -m pytest -m "not slow" $(PYTEST_ARGS)

bench: $(VENV)/.dev-installed
	$(VENV)/bin/losskit bench

lint: $(VENV)/.dev-installed
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check losskit tests benchmarks

format: $(VENV)/.dev-installed
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format losskit tests benchmarks

figures: $(VENV)/.dev-installed
	$(VENV)/bin/losskit figures --out figures

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis .ruff_cache figures artifacts

# --- GPU: run on a node with an NVIDIA GPU (deploy/README.md, "Checking a GPU node") ---
# gpu-check: the backend test matrix on CuPy, then the GPU benchmark. Where no
# CUDA GPU is usable it stops at the first line with a clear message instead of
# passing with every CuPy test skipped. BENCH_ARGS passes options to the benchmark.
BENCH_ARGS ?=

.PHONY: gpu-check bench-gpu

$(VENV)/.gpu-installed: pyproject.toml | $(PY)
	$(CHECK_VENV)
	$(PY) -m pip install --quiet -e '.[gpu,dev]'
	touch $@ $(VENV)/.dev-installed $(VENV)/.lab-installed

gpu-check: $(VENV)/.gpu-installed
	$(PY) -c "import cupy, sys; sys.exit(0 if cupy.cuda.is_available() else 'gpu-check: no CUDA GPU usable here (cupy.cuda.is_available() is False); run it on a GPU node')"
	LOSSKIT_BACKEND=cupy $(PY) -m pytest -k cupy -rs $(PYTEST_ARGS)
	$(MAKE) --no-print-directory bench-gpu

bench-gpu: $(VENV)/.gpu-installed
	$(PY) benchmarks/bench_gpu.py $(BENCH_ARGS)

# nbgrader: grade every fixture submission of every assignment in a temporary
# copy of the course and print the score table (assignments/README.md).
grade-demo: $(VENV)/.dev-installed
	$(PY) assignments/grade_demo.py
