# convlab: two commands do everything on a fresh machine.
#   make lab    set up .venv (if needed) and start JupyterLab on the course index
#   make test   set up .venv (if needed) and run the whole test suite
# make lab INSTRUCTOR=1 adds nbgrader's instructor tools (menu, Create Assignment, formgrader).
# Set-up installs a CPU build of torch when no NVIDIA GPU is visible (no multi-GB CUDA download).

PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip
PORT   ?= 8888
ARGS   ?=
INSTRUCTOR ?=
# A CPU wheel of torch that may lie on local disk (pip's find-links); its dependencies come from
# the normal index. Without it, PyTorch's CPU index is used.
TORCH_CPU_LOCAL ?= torch==2.13.0
TORCH_CPU_INDEX ?= https://download.pytorch.org/whl/cpu
STAMP  := $(VENV)/.installed

.PHONY: lab test test-fast lint format exercises notebooks bench gpu-check weights clean-venv

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip

# torch first, so the package's flexible `torch>=2.2` is already satisfied by a CPU build.
$(STAMP): pyproject.toml | $(PY)
	@if $(PY) -c "import torch" 2>/dev/null; then \
	  echo "torch already installed in $(VENV)"; \
	elif command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L >/dev/null 2>&1; then \
	  echo "NVIDIA GPU found: installing the default (CUDA) torch build"; \
	  $(PIP) install "torch>=2.2"; \
	else \
	  echo "No NVIDIA GPU found: installing a CPU build of torch"; \
	  if $(PIP) install --quiet --no-index --no-deps "$(TORCH_CPU_LOCAL)" 2>/dev/null; then \
	    $(PIP) install --quiet "$(TORCH_CPU_LOCAL)"; \
	  else \
	    $(PIP) install "torch>=2.2" --index-url $(TORCH_CPU_INDEX); \
	  fi; \
	fi
# -qq: errors only (else setuptools prints a boxed notice about editable installs)
	$(PIP) install -qq -e ".[dev,instructor]"
	@touch $(STAMP)

# The server's root is the repository (the index links to ../exercises and ../solutions) and the
# URL it prints opens the index. Students get no instructor UI: .jupyter/student/ (first on the
# config path) turns nbgrader's server and lab extensions off; INSTRUCTOR=1 leaves them on.
LAB_CONFIG := $(if $(filter 1 yes true,$(INSTRUCTOR)),,JUPYTER_CONFIG_PATH="$(CURDIR)/.jupyter/student")

lab: $(STAMP)
	@extra=""; if [ "$$(id -u)" = "0" ]; then extra="--allow-root"; fi; \
	$(LAB_CONFIG) $(PY) -m jupyter lab --port=$(PORT) $$extra \
	  --ServerApp.root_dir="$(CURDIR)" --LabApp.default_url=/lab/tree/notebooks/00_index.ipynb \
	  $(ARGS)

# Two pytest workers on a 2-core machine: one BLAS/OpenMP thread each, or they oversubscribe
# the cores and multithreaded BLAS slows down 10-100x (timing claims in notebooks then flake).
ONE_THREAD := OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1

test: $(STAMP)
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(ONE_THREAD) $(PY) -m pytest -n 2 --dist loadscope

# Unit tests only (no notebooks): quick feedback while developing.
test-fast: $(STAMP)
	$(PY) -m pytest tests -p no:nbval -o addopts="" -q

lint: $(STAMP)
	$(PY) -m ruff check . && $(PY) -m ruff format --check .

format: $(STAMP)
	$(PY) -m ruff check --fix . && $(PY) -m ruff format .

# Regenerate exercises/ from solutions/ with nbgrader's preprocessors.
exercises: $(STAMP)
	$(PY) -m convlab.instructor generate

# Re-execute the lecture notebooks and solutions in place (outputs are committed).
notebooks: $(STAMP)
	$(PY) -m convlab.instructor execute notebooks/*.ipynb solutions/*.ipynb
	$(PY) -m convlab.instructor generate

bench: $(STAMP)
	@for b in benchmarks/bench_*.py; do echo "== $$b"; $(PY) $$b || exit 1; done

# Correctness, timing, determinism and memory of transposed convolution on the device present
# (CUDA, MPS, else a reduced CPU run); writes JSON, plot and executed notebook 08 into OUT
# (default benchmarks/results/<date>_<device>/). See benchmarks/gpu_check.py.
gpu-check: $(STAMP)
	$(PY) benchmarks/gpu_check.py $(if $(OUT),--out $(OUT))

# Retrain every model of convlab.pretrained from its recipe (one thread, fixed seeds) and rewrite
# convlab/pretrained/weights/ (weights + manifest.json with hashes, wall times, held-out metrics).
# How long: the manifest records each entry's wall time, 17-33 minutes each on the course's 2-core
# machine while it was shared by 8 sessions (up to 9 entries at once, each on a few % of a core):
# about 3.5 hours one after another under that load, far less on an idle machine (unet_mri and
# unet_ct: 9 minutes each on a less loaded machine). `python -m convlab.pretrained train NAME`
# retrains one entry; commit the result.
weights: $(STAMP)
	OMP_NUM_THREADS=1 nice -n 10 $(PY) -m convlab.pretrained train

clean-venv:
	rm -rf $(VENV)
