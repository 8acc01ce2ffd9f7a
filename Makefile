# Two entry points: `make run` (the GUI) and `make test`. Both create .venv on first use and install
# exactly what requirements.lock pins (with hashes). `make lock` regenerates the lock.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
LOCK := requirements.lock
UV_VERSION := 0.13.9
# pip's own configured constraint file (if any) is honoured, so the lock pins only what pip may install here.
LOCK_CONSTRAINTS ?= $(addprefix -c ,$(shell $(PYTHON) -m pip config get global.constraint 2>/dev/null))

.PHONY: run test install lock bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# sam2 is an sdist whose build imports torch, so it is built without isolation after everything else
# is installed; the lock is split into "everything but sam2" and "sam2" for that.
$(STAMP): $(BIN)/python $(LOCK) pyproject.toml
	awk '/^[^ #]/ {sam2 = /^sam2==/} !sam2' $(LOCK) > $(VENV)/lock-base.txt
	awk '/^[^ #]/ {sam2 = /^sam2==/} sam2' $(LOCK) > $(VENV)/lock-sam2.txt
	$(BIN)/python -m pip install --quiet --require-hashes --no-deps -r $(VENV)/lock-base.txt
	SAM2_BUILD_CUDA=0 $(BIN)/python -m pip install --quiet --require-hashes --no-deps --no-build-isolation -r $(VENV)/lock-sam2.txt
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation -e .
	$(BIN)/python -m pip check
	touch $(STAMP)

install: $(STAMP)

# Resolve pyproject.toml's dependencies (all extras) for every platform, pinned with hashes.
lock: $(BIN)/python
	$(BIN)/python -m pip install --quiet "uv==$(UV_VERSION)"
	$(BIN)/uv pip compile pyproject.toml --extra dev --extra openvino --extra cluster --universal --python-version 3.11 \
		--generate-hashes $(LOCK_CONSTRAINTS) --output-file $(LOCK)

run: $(STAMP)
	$(BIN)/masklet open $(ARGS)

test: $(STAMP)
	QT_QPA_PLATFORM=offscreen $(BIN)/python -m pytest $(PYTEST_ARGS)

bench: $(STAMP)
	$(BIN)/masklet bench io
	$(BIN)/masklet bench engine --objects 1,5,10 --frames 20 --image-size 256
	$(BIN)/masklet bench track

clean:
	rm -rf $(VENV) build *.egg-info
