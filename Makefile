# Two commands do all the set-up on a fresh Debian 12 / Ubuntu 22.04+ machine (as root):
#   make demo   build the example program, store it locally and run it
#   make test   run the whole test suite
SHELL := /bin/bash
BEE := .venv/bin/bee
DEMO_REF ?= opensnoop:demo
DEMO_SRC ?= examples/opensnoop/opensnoop.c

.PHONY: setup demo test lint

setup:
	@scripts/setup.sh

demo: setup
	$(BEE) build $(DEMO_SRC) $(DEMO_REF) --local
	$(BEE) list
	$(BEE) describe $(DEMO_REF)

test: setup
	@scripts/test.sh

lint: setup
	.venv/bin/ruff check bee tests
