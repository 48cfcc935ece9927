# subgen: `make demo` sets everything up and subtitles samples/; `make test` runs the suite.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
DIR    ?= .
ARGS   ?=
FLAGS  ?=

.PHONY: setup demo test fast lint typecheck subtitles bench clean

setup: $(STAMP)

# torch is pinned and installed first so pip never resolves a multi-GB CUDA build here.
$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet -e '.[dev,server,ray]'
	touch $(STAMP)

demo: setup
	$(BIN)/subgen run samples/ --format srt,vtt,json,txt
	@echo "--- samples/jfk.en.srt"
	@cat samples/jfk.en.srt

test: setup
	$(BIN)/python -m pytest

# The fast tier: everything that needs no model and no speech corpus (media made by ffmpeg's lavfi sources),
# on both cores.
fast: setup
	$(BIN)/python -m pytest -m "not model" -n 2

lint: setup
	$(BIN)/ruff check .

typecheck: setup
	$(BIN)/mypy

# Subtitle a folder of your own: make subtitles DIR=path/to/videos ARGS="--format srt,vtt" [FLAGS=--quiet]
subtitles: setup
	$(BIN)/subgen $(FLAGS) run "$(DIR)" $(ARGS)

# Speed and memory next to openai-whisper's CLI and faster-whisper (same weights, same inputs):
# make bench ARGS="--quick" for a smoke test, ARGS="--work /tmp/bench --systems subgen,..." to keep/pick.
bench: setup
	$(BIN)/python benchmarks/speed.py $(ARGS)

clean:
	rm -rf $(VENV) .pytest_cache build *.egg-info
