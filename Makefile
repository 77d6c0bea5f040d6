# Two commands do all the set-up on a fresh Debian 12 / Ubuntu 22.04+ machine (as root):
#   make demo   build the example program into the local store and run it from there
#   make test   run the whole test suite
SHELL := /bin/bash
BEE := .venv/bin/bee
DEMO_REF ?= opensnoop:demo
DEMO_SRC ?= examples/opensnoop/opensnoop.c
DEMO_PORT ?= 9091
# DEMO_TIME=10 stops the demo after 10 seconds; empty: run until Ctrl-C
DEMO_TIME ?=

.PHONY: setup demo test lint runner-image

setup:
	@scripts/setup.sh

demo: setup
	$(BEE) build $(DEMO_SRC) $(DEMO_REF) --local
	$(BEE) list
	$(BEE) describe $(DEMO_REF)
	@echo "== bee run $(DEMO_REF): every open(2) on this machine below; metrics on http://localhost:$(DEMO_PORT)/metrics; Ctrl-C stops"
	$(if $(DEMO_TIME),timeout --preserve-status -s INT $(DEMO_TIME)) $(BEE) run $(DEMO_REF) --no-tty --prom-port $(DEMO_PORT)

test: setup
	@scripts/docker-up.sh
	@scripts/test.sh

# The runner image (bee, Python, libbpf; no compiler), built offline from wheels made here.
RUNNER_IMAGE ?= bee-runner:$(shell sed -n 's/^__version__ = "\(.*\)"/\1/p' bee/__init__.py)
runner-image: setup
	@scripts/docker-up.sh
	@scripts/runner-wheels.sh dist/wheels
	docker build -t $(RUNNER_IMAGE) .

lint: setup
	.venv/bin/ruff check bee tests
