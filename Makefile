# Two commands do all the set-up on a fresh Debian 12 / Ubuntu 22.04+ machine (as root):
#   make demo   build the example program into the local store and run it from there
#   make test   run the whole test suite
SHELL := /bin/bash
BEE := .venv/bin/bee
DEMO_REF ?= opensnoop:demo
DEMO_SRC ?= examples/opensnoop/opensnoop.c
# the second program of the demo: run-queue latency per command, a histogram in /metrics
DEMO_METRICS_REF ?= runqlat:demo
DEMO_METRICS_SRC ?= examples/runqlat/runqlat.c
DEMO_PORT ?= 9091
# DEMO_TIME=10 stops the demo after 10 seconds; empty: run until Ctrl-C
DEMO_TIME ?=

.PHONY: setup demo test test-offline testdata lint runner-image

setup:
	@scripts/setup.sh

demo: setup
	$(BEE) build $(DEMO_SRC) $(DEMO_REF) --local
	$(BEE) build $(DEMO_METRICS_SRC) $(DEMO_METRICS_REF) --local
	$(BEE) list
	$(BEE) describe $(DEMO_REF)
	@echo "== bee run $(DEMO_REF) $(DEMO_METRICS_REF): every open(2) on this machine below, and run-queue latency per command"
	@echo "== as the histogram ebpf_solo_io_hist_runqlat_us on http://localhost:$(DEMO_PORT)/metrics"
	@echo "== (curl -s localhost:$(DEMO_PORT)/metrics | grep ^ebpf_solo_io_; a few of its series are shown after 3 s); Ctrl-C stops"
	@scripts/demo-metrics.sh $(DEMO_PORT) 3 &
	$(if $(DEMO_TIME),timeout --preserve-status -s INT $(DEMO_TIME)) $(BEE) run $(DEMO_REF) $(DEMO_METRICS_REF) --no-tty --prom-port $(DEMO_PORT)

test: setup
	@scripts/docker-up.sh
	@scripts/arm64/setup.sh
	@scripts/test.sh

# The offline subset: tests that need no root, kernel BPF, clang, bpftool, Docker or registry,
# run as an unprivileged user when started as root (scripts/test-offline.sh says how).
test-offline: setup
	@scripts/test-offline.sh

# Rebuild the committed test objects tests/data/obj/*.o from tests/data/src (and examples/opensnoop)
# with bee's compile line against tests/data/include/vmlinux.h. Pinned: clang 14 and libbpf headers
# 1.1 (Debian 12); another toolchain is refused. See tests/data/obj/README.md.
testdata: setup
	.venv/bin/python -m tests.goldens

# make dist: a wheel of bee in dist/ (pip install dist/bee-*.whl, or pipx install it, elsewhere).
# make install: bee, with every extra, in its own virtualenv $(PREFIX) (default /opt/bee) and `bee` on PATH
# as $(BINDIR)/bee (default /usr/local/bin); as root, since bee run needs root. make uninstall undoes it.
PREFIX ?= /opt/bee
BINDIR ?= /usr/local/bin
.PHONY: dist install uninstall
dist: setup
	rm -f dist/bee-*.whl
	.venv/bin/python -m pip wheel -q --no-deps -w dist .
	@ls dist/bee-*

install: setup
	python3 -m venv $(PREFIX)
	$(PREFIX)/bin/python -m pip install -q --upgrade pip
	$(PREFIX)/bin/python -m pip install -q '.[all]'
	ln -sf $(PREFIX)/bin/bee $(BINDIR)/bee
	@echo "installed: $$(command -v bee) -> $(PREFIX)/bin/bee; $$($(BINDIR)/bee version | head -1)"

uninstall:
	rm -f $(BINDIR)/bee
	rm -rf $(PREFIX)

# make arm64-proof: opensnoop, exitsnoop and tests/arm64/kprobe_openat2.c built for linux/arm64 here and run by
# bee on Debian's arm64 kernel in qemu-system-aarch64 (tests/arm64, part of make test); prints the timings and
# the event lines checked. docs/platforms.md explains.
.PHONY: arm64-proof
arm64-proof: setup
	@scripts/arm64/proof.sh

# Remake bee's pinned kernel types (bee/compile/types/{x86,arm64}) from the Debian kernel packages the
# mirror has now (linux-image-cloud-{amd64,arm64}); docs/platforms.md says when and how to review the change.
.PHONY: kernel-types
kernel-types: setup
	@scripts/kernel-types.sh

# Remake bee's system call name tables (bee/decode/syscalls/{x86_64,aarch64}.txt, for syscall_t labels) from
# Debian's linux-libc-dev of amd64 and arm64.
.PHONY: syscall-names
syscall-names:
	@scripts/syscall-names.sh

# The runner image (bee, Python, libbpf; no compiler), built offline from wheels made here.
RUNNER_IMAGE ?= bee-runner:$(shell sed -n 's/^__version__ = "\(.*\)"/\1/p' bee/__init__.py)
runner-image: setup
	@scripts/docker-up.sh
	@scripts/runner-wheels.sh dist/wheels
	docker build -t $(RUNNER_IMAGE) .

# make fleet-demo: FLEET_SIZE (5) runner containers of this checkout's runner image, each with its own
# config and port, scraped by a real Prometheus (Debian's prometheus, on a loopback port); causes a few
# events, prints Prometheus's answers and URL, and removes everything on Ctrl-C or after FLEET_TIME
# seconds (empty: until Ctrl-C). Needs root and Docker. docs/fleet.md explains.
FLEET_SIZE ?= 5
FLEET_TIME ?=
.PHONY: fleet-demo
fleet-demo: setup
	@scripts/docker-up.sh
	.venv/bin/python -m tests.fleet.demo --size $(FLEET_SIZE) $(if $(FLEET_TIME),--time $(FLEET_TIME))

# Every fuzz target under atheris for FUZZ_SECONDS each, FUZZ_JOBS at a time, growing the corpus kept in
# FUZZ_WORK; findings are copied to fuzz/regressions/ (the tests replay them). fuzz/README.md explains.
FUZZ_SECONDS ?= 600
FUZZ_JOBS ?= 2
FUZZ_WORK ?= .fuzz-work
FUZZ_TARGETS ?=
.PHONY: fuzz
fuzz: setup
	.venv/bin/python -m fuzz.run --seconds $(FUZZ_SECONDS) --jobs $(FUZZ_JOBS) --work $(FUZZ_WORK) \
		$(if $(FUZZ_JSON),--json $(FUZZ_JSON)) $(FUZZ_TARGETS)

# ruff, the import contracts (import-linter) and mypy; `make test` runs the same first
lint: setup
	@scripts/lint.sh

# make examples: build every examples/<name>/<name>.c into the local store as <name>:$(EXAMPLES_VERSION)
# (objects in $(EXAMPLES_OUT)). With REGISTRY (e.g. REGISTRY=ghcr.io/me/bee) they are named
# $(REGISTRY)/<name>:$(EXAMPLES_VERSION) and pushed there; PLAIN_HTTP=1 for a registry without TLS
# (make examples REGISTRY=localhost:5000/bee PLAIN_HTTP=1), INSECURE=1 for one whose certificate does
# not verify. `make -j4 examples` builds four at a time; `make example-opensnoop` builds one.
EXAMPLES := $(foreach dir,$(wildcard examples/*/),$(if $(wildcard $(dir)$(notdir $(dir:/=)).c),$(notdir $(dir:/=))))
EXAMPLES_VERSION ?= 0.1
EXAMPLES_OUT ?= build/examples
REGISTRY ?=
PLAIN_HTTP ?=
INSECURE ?=
example_ref = $(if $(REGISTRY),$(REGISTRY:/=)/)$(1):$(EXAMPLES_VERSION)
EXAMPLES_PUSH_FLAGS = $(strip $(if $(filter 1 true yes,$(PLAIN_HTTP)),--plain-http) \
                              $(if $(filter 1 true yes,$(INSECURE)),--insecure))

.PHONY: examples $(addprefix example-,$(EXAMPLES))

examples: $(addprefix example-,$(EXAMPLES))

$(addprefix example-,$(EXAMPLES)): example-%: setup
	$(BEE) build examples/$*/$*.c $(call example_ref,$*) --local -o $(EXAMPLES_OUT)/$*.o
	$(if $(REGISTRY),$(BEE) $(EXAMPLES_PUSH_FLAGS) push $(call example_ref,$*))

# make compare-outputs BASE=DIR: what users see from the tree in DIR and from this one (or AFTER=DIR),
# on the same inputs: describe tables, errors, help, event lines, metric text. Fails on any difference;
# the runs need root. bench/compare_outputs.py --help for its options (COMPARE_FLAGS="--keep /tmp/cmp").
BASE ?=
AFTER ?= .
COMPARE_FLAGS ?=
.PHONY: compare-outputs
compare-outputs: setup
	@test -n "$(BASE)" || { echo "usage: make compare-outputs BASE=<tree before> [AFTER=<tree after>]" >&2; exit 2; }
	.venv/bin/python bench/compare_outputs.py $(COMPARE_FLAGS) $(BASE) $(AFTER)

# make bench: bench/bench.py (bee against libbpf-tools opensnoop and bpftrace, bench/README.md), the two
# installed from Debian first when missing. BENCH_FLAGS for its options; the default is the peak
# (flat out) and 500,000 opens/s paced, 3 floods each, every measurement kept in bench/results/.
BENCH_FLAGS ?= --rates 0,500000 --json bench/results/flood-$(shell date +%F).json
.PHONY: bench bench-tools
bench-tools:
	@test -x /usr/sbin/opensnoop -a -x /usr/bin/bpftrace || \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -q libbpf-tools bpftrace >/dev/null
bench: setup bench-tools
	.venv/bin/python bench/bench.py $(BENCH_FLAGS)
