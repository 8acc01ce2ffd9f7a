# Two entry points: `make run` (the GUI) and `make test`. Both create .venv on first use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test install bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip wheel setuptools

# torch and torchvision come from the registry together; sam2 is an sdist that needs torch at build time.
$(STAMP): $(BIN)/python pyproject.toml
	$(BIN)/python -c "import torch, torchvision" 2>/dev/null || $(BIN)/pip install --quiet "torch>=2.5" "torchvision>=0.20"
	$(BIN)/python -c "import sam2" 2>/dev/null || SAM2_BUILD_CUDA=0 $(BIN)/pip install --quiet --no-build-isolation "sam2>=1.1"
	$(BIN)/pip install --quiet -e ".[dev,openvino]"
	touch $(STAMP)

install: $(STAMP)

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
