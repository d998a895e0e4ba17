# Two entry points, each doing its own set-up (idempotent):
#   make demo   install, then answer a question about the bundled papers with citations
#   make test   install (with test extras), lint (ruff, mypy), then run the whole test suite
#   make lint   ruff and mypy only
# On a GPU host see the README ("Generated answers with vLLM") for the `gpu` extra instead.

PYTHON ?= python3
VENV ?= .venv
# The CPU build of torch; an unpinned torch pulls several GB of CUDA packages.
TORCH ?= torch==2.13.0
QUESTION ?= Which CNN-transformer hybrids report ADE20K mIoU?

BIN := $(VENV)/bin
export HF_HUB_OFFLINE := 1
export GRADIO_ANALYTICS_ENABLED := False

.PHONY: demo test lint install ui benchmark clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q "$(TORCH)"
	$(BIN)/python -m pip install -q -e '.[cpu,test]'
	touch $@

install: $(VENV)/.installed

demo: install
	$(BIN)/paperqa ask "$(QUESTION)"

test: install lint
	$(BIN)/python -m pytest -q

# ruff (rules in pyproject.toml) and mypy on the package; a new finding fails `make test`.
lint: install
	$(BIN)/ruff check src tests eval benchmarks
	$(BIN)/mypy

ui: install
	$(BIN)/paperqa ui

benchmark: install
	$(BIN)/python benchmarks/benchmark.py

clean:
	rm -rf $(VENV) .pytest_cache test-artifacts
