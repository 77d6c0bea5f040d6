#!/usr/bin/env python3
"""Run two bee trees on the same inputs and report every difference in what a user sees.

    python bench/compare_outputs.py BEFORE_TREE AFTER_TREE [--keep DIR] [--only WORD] [--no-runs]

Each tree runs as `PYTHONPATH=TREE python -m bee ...` with the interpreter running this script, a
private HOME, a fresh copy of tests/data/bumblebee_store as its store and its own cache directory.
Every object is compiled once, by BEFORE's `bee build --local --binary-only`, from BEFORE's sources,
so both trees read identical bytes. Compared, byte for byte unless a mask is named:

- describe: `bee describe` and `bee describe --json` of every example and test program, of the store's
  references, and `bee list`;
- cli: help texts, `bee version`, `bee init` (output and the file it writes), `bee build` of one
  source (output and the object's digest);
- errors: bad inputs to `run`, `describe`, `build`, `tag`, `rm` and the command line itself
  (stdout, stderr, exit code);
- registry: tag, push, rm, pull (by tag and digest), list, describe and login against a local
  docker-registry, an empty one per tree on the same port, and pulls and pushes that fail there or
  where nothing listens;
- runs: `bee run --no-tty` of test programs and examples in text and JSON, triggered by processes this
  script starts: the event lines (timestamps and genuinely volatile fields masked), the metric text
  after each step (the program's `ebpf_solo_io_*` series exactly, `bee_*` series exactly or, where
  the whole machine feeds them, by name and labels), the whole stderr (the metrics port masked) and
  the exit code. Runs need root; without it they are skipped (exit status 2, as for anything else
that could not be checked here).

The trigger names of run_types.c, run_tricky.c and run_legacy.c ("beetrigger", "beetricky",
"beelegacy", ...) are rewritten to "cmp..." names of the same length in copies of their sources:
the test suite execs the original names, and a suite running at the same time on this machine must
neither see this script's events nor add its own to them.

Prints one line per group and a unified diff for each difference; exits 1 when anything differs.
"""

from __future__ import annotations

import argparse
import difflib
import hashlib
import json
import os
import re
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

Sections = dict[str, bytes]

# ---------------------------------------------------------------------------------------------------
# Trees and invocations


@dataclass(frozen=True)
class Tree:
    """One checkout under comparison; `label` is "before" or "after"."""

    label: str
    path: Path
    python: str
    work: Path

    def env(self) -> dict[str, str]:
        """A small, fixed environment: nothing from the caller's bee settings leaks in."""
        return {
            "PATH": os.environ.get("PATH", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"),
            "HOME": str(self.work / "home"),
            "LANG": "C.UTF-8",
            "LC_ALL": "C.UTF-8",
            "TERM": "dumb",
            "COLUMNS": "80",
            "PYTHONPATH": str(self.path),
            "PYTHONDONTWRITEBYTECODE": "1",
            "BEE_STORAGE": str(self.work / "store"),
            # the minimal-BTF cache of `bee run`: one per tree, both start empty
            "XDG_CACHE_HOME": str(self.work / f"cache-{self.label}"),
        }

    def argv(self, args: Sequence[str]) -> list[str]:
        return [self.python, "-m", "bee", *args]

    def mask(self, output: bytes) -> bytes:
        """This tree's own paths, which differ only because there are two trees: its checkout (as in
        `--build-script-out` or a traceback) and the cache directory it was given."""
        output = output.replace(str(self.work / f"cache-{self.label}").encode(), b"<CACHE>")
        return output.replace(str(self.path).encode(), b"<TREE>")


def reset_store(work: Path, bumblebee_store: Path) -> None:
    """Give the next invocation a fresh copy of the Bumblebee-written store (it holds my_probe:v1) and an
    empty `scratch` directory (for what an invocation may create, such as pin directories)."""
    for name in ("store", "scratch"):
        shutil.rmtree(work / name, ignore_errors=True)
    shutil.copytree(bumblebee_store, work / "store", ignore=shutil.ignore_patterns("README.md"))
    (work / "scratch").mkdir()


def invoke(tree: Tree, args: Sequence[str], bumblebee_store: Path | None, timeout: float = 30) -> Sections:
    """Run `bee ARGS` in the work directory (with a fresh store, unless `bumblebee_store` is None: the
    store as the previous invocation left it); its exit code, stdout and stderr."""
    if bumblebee_store is not None:
        reset_store(tree.work, bumblebee_store)
    try:
        proc = subprocess.run(tree.argv(args), cwd=tree.work, env=tree.env(), stdin=subprocess.DEVNULL,
                              capture_output=True, timeout=timeout, check=False)
        code, stdout, stderr = f"{proc.returncode}\n", proc.stdout, proc.stderr
    except subprocess.TimeoutExpired as expired:
        code, stdout = f"still running after {timeout:g} s: killed\n", expired.stdout or b""
        # a run that started by mistake prints its (free, so varying) metrics port
        stderr = mask_stderr(expired.stderr or b"")
    return {"exit code": code.encode(), "stdout": tree.mask(stdout), "stderr": tree.mask(stderr)}


# ---------------------------------------------------------------------------------------------------
# Comparisons and the report


@dataclass
class Comparison:
    """The same case seen by both trees, section by section."""

    group: str
    name: str
    before: Sections
    after: Sections

    def differing(self) -> list[str]:
        return [key for key in dict.fromkeys([*self.before, *self.after])
                if self.before.get(key) != self.after.get(key)]

    def diff(self) -> str:
        out: list[str] = []
        for key in self.differing():
            old = self.before.get(key, b"<missing>\n")
            new = self.after.get(key, b"<missing>\n")
            old_lines = old.decode(errors="backslashreplace").splitlines(keepends=True)
            new_lines = new.decode(errors="backslashreplace").splitlines(keepends=True)
            if old_lines == new_lines or [x.rstrip("\n") for x in old_lines] == [x.rstrip("\n") for x in new_lines]:
                # a difference only in undecodable bytes or the final newline: show the lines as literals
                old_lines = [repr(x) + "\n" for x in old_lines]
                new_lines = [repr(x) + "\n" for x in new_lines]
            lines = difflib.unified_diff(old_lines, new_lines, f"before/{key}", f"after/{key}", n=2)
            out.append("".join(line if line.endswith("\n") else line + "\n" for line in lines))
        return "".join(out)


class Report:
    """Every comparison made, grouped; prints the summary and the diffs."""

    def __init__(self, transcripts: Path | None = None) -> None:
        self.comparisons: list[Comparison] = []
        self.notes: list[str] = []
        self.skipped: list[str] = []  # what could not be checked here: the exit status is 2, not 0
        self.transcripts = transcripts

    def add(self, group: str, name: str, before: Sections, after: Sections) -> Comparison:
        comparison = Comparison(group, name, before, after)
        self.comparisons.append(comparison)
        if self.transcripts:  # with --keep: what each tree showed, as compared
            slug = re.sub(r"[^A-Za-z0-9_.:-]+", "_", f"{group}-{name}")[:150]
            for label, sections in (("before", before), ("after", after)):
                path = self.transcripts / label / f"{len(self.comparisons):03d}-{slug}.txt"
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(b"".join(b"== %s\n%s" % (key.encode(), value if value.endswith(b"\n") or not value
                                                            else value + b"\n<no final newline>\n")
                                          for key, value in sections.items()))
        return comparison

    def print(self, out: Callable[[str], None]) -> int:
        groups = list(dict.fromkeys(c.group for c in self.comparisons))
        total = sum(len(dict.fromkeys([*c.before, *c.after])) for c in self.comparisons)
        differing = [c for c in self.comparisons if c.differing()]
        out(f"{len(self.comparisons)} cases, {total} comparisons (each section of each case), "
            f"{len(differing)} cases differ")
        for group in groups:
            cases = [c for c in self.comparisons if c.group == group]
            bad = [c for c in cases if c.differing()]
            sections = sum(len(dict.fromkeys([*c.before, *c.after])) for c in cases)
            out(f"  {group}: {len(cases)} cases, {sections} comparisons, {len(bad)} differ")
            for c in bad:
                out(f"    DIFFERS {c.name}: {', '.join(c.differing())}")
        for note in self.notes:
            out(f"note: {note}")
        for skipped in self.skipped:
            out(f"NOT CHECKED: {skipped}")
        for c in differing:
            out(f"\n=== {c.group}: {c.name}")
            out(c.diff().rstrip("\n"))
        return 1 if differing else 2 if self.skipped else 0


# ---------------------------------------------------------------------------------------------------
# Inputs: objects compiled once


# Trigger names rewritten in the copies of the sources run here (see the module docstring):
# (old text, new text); each must occur in the source.
RENAMES: dict[str, list[tuple[str, str]]] = {
    "run_types": [('"beetrigger"', '"cmptrigger"'), ('"beedelete"', '"cmpdelete"')],
    "run_tricky": [("comm[0] != 'b' || comm[1] != 'e' || comm[2] != 'e'",
                    "comm[0] != 'c' || comm[1] != 'm' || comm[2] != 'p'")],
    "run_legacy": [("key.comm[0] != 'b' || key.comm[1] != 'e' || key.comm[2] != 'e'",
                    "key.comm[0] != 'c' || key.comm[1] != 'm' || key.comm[2] != 'p'")],
}

# A tracked map whose type cannot feed its output (a gauge needs a hash map), for the errors.
GAUGE_RING_C = """#include "vmlinux.h"
#include "bpf/bpf_helpers.h"
struct e { u32 x; };
struct { __uint(type, BPF_MAP_TYPE_RINGBUF); __uint(max_entries, 4096); __type(value, struct e); }
    gauge_events SEC(".maps");
SEC("tracepoint/sched/sched_process_exec") int g(void *ctx) { return 0; }
char LICENSE[] SEC("license") = "GPL";
"""

BROKEN_C = """#include "vmlinux.h"
SEC("tracepoint/sched/sched_process_exec") int broken(void *ctx) { return undeclared; }
"""


@dataclass
class Inputs:
    """What the cases read, relative to the work directory (so no temporary path shows in an output)."""

    described: list[str] = field(default_factory=list)  # obj/<name>.o: examples, then test programs
    failed: list[str] = field(default_factory=list)  # sources that did not build


def compile_object(tree: Tree, source: Path, output: Path) -> str | None:
    """`bee build SOURCE --local --binary-only -o OUTPUT` with `tree`; None, or why it failed."""
    env = dict(os.environ, PYTHONPATH=str(tree.path))  # the user's vmlinux.h cache is fine here
    env.pop("BEE_DEBUG", None)
    proc = subprocess.run(tree.argv(["build", str(source), "--local", "--binary-only", "-o", str(output)]),
                          cwd=tree.work, env=env, stdin=subprocess.DEVNULL, capture_output=True, timeout=300,
                          check=False)
    if proc.returncode != 0 or not output.exists():
        return (proc.stderr.decode(errors="replace").strip().splitlines() or [f"exit {proc.returncode}"])[-1]
    return None


def prepare_inputs(tree: Tree, log: Callable[[str], None]) -> Inputs:
    """Compile the examples, the test programs, renamed run programs and the extra error programs."""
    work, inputs = tree.work, Inputs()
    (work / "obj").mkdir()
    (work / "run").mkdir()
    (work / "src").mkdir()
    examples = sorted(p for p in tree.path.glob("examples/*/*.c") if p.stem == p.parent.name)
    tests = sorted((tree.path / "tests/data/src").glob("*.c"))
    for source in [*examples, *tests]:
        error = compile_object(tree, source, work / "obj" / f"{source.stem}.o")
        if error:
            inputs.failed.append(f"{source.relative_to(tree.path)}: {error}")
        else:
            inputs.described.append(f"obj/{source.stem}.o")
    for name, renames in RENAMES.items():
        text = (tree.path / "tests/data/src" / f"{name}.c").read_text()
        for old, new in renames:
            if old not in text:
                raise SystemExit(f"compare_outputs: {name}.c no longer contains {old!r}; update RENAMES")
            text = text.replace(old, new)
        (work / "src" / f"{name}.c").write_text(text)
        if error := compile_object(tree, work / "src" / f"{name}.c", work / "run" / f"{name}.o"):
            raise SystemExit(f"compare_outputs: the renamed {name}.c does not build: {error}")
    (work / "src" / "gauge_ring.c").write_text(GAUGE_RING_C)
    if error := compile_object(tree, work / "src" / "gauge_ring.c", work / "run" / "gauge_ring.o"):
        raise SystemExit(f"compare_outputs: gauge_ring.c does not build: {error}")
    (work / "src" / "broken.c").write_text(BROKEN_C)
    (work / "notes.o").write_text("not an object\n")
    shutil.copy(tree.path / "tests/data/src/hello.c", work / "src" / "hello.c")
    log(f"objects: {len(inputs.described)} built by {tree.path}"
        + (f", {len(inputs.failed)} did not build" if inputs.failed else ""))
    return inputs


# ---------------------------------------------------------------------------------------------------
# describe, cli and errors: one invocation per tree


COMMANDS = ["init", "build", "package", "list", "run", "describe", "tag", "rm", "push", "pull", "login",
            "completion", "version"]

RUN = ["--no-tty", "--prom-addr", "127.0.0.1", "--prom-port", "0"]  # a run that must fail before serving


def describe_cases(inputs: Inputs) -> list[tuple[str, list[str]]]:
    cases: list[tuple[str, list[str]]] = []
    for obj in inputs.described:
        cases += [(f"describe {obj}", ["describe", obj]), (f"describe --json {obj}", ["describe", "--json", obj])]
    for ref in ["my_probe:v1", "ghcr.io/solo-io/bumblebee/opensnoop:0.0.15"]:
        cases += [(f"describe {ref}", ["describe", ref]), (f"describe --json {ref}", ["describe", "--json", ref])]
    cases.append(("list", ["list"]))
    return cases


def cli_cases() -> list[tuple[str, list[str]]]:
    cases = [("--help", ["--help"]), ("--version", ["--version"]), ("version", ["version"]),
             ("completion bash", ["completion", "bash"])]
    cases += [(f"{command} --help", [command, "--help"]) for command in COMMANDS]
    cases.append(("build --build-script-out", ["build", "src/hello.c", "hello:v1", "--local", "--build-script-out"]))
    return cases


def error_cases(ports: dict[str, int]) -> list[tuple[str, list[str]]]:
    """Bad inputs; `ports` holds ports this script keeps listening on while both trees run."""
    types, xdp = "run/run_types.o", "obj/xdpcount.o"
    return [
        ("run: missing file", ["run", "gone.o", *RUN]),
        ("run: not an ELF file", ["run", "notes.o", *RUN]),
        ("run: an ELF file that is not BPF", ["run", "/bin/true", *RUN]),
        ("run: a C source", ["run", "src/hello.c", *RUN]),
        ("run: a directory", ["run", "src", *RUN]),
        ("run: unknown store reference", ["run", "nothere:v1", "--pull", "never", *RUN]),
        ("run: bad store reference", ["run", "Bad::Ref", "--pull", "never", *RUN]),
        ("run: -f bad regex", ["run", types, "-f", "print_events,comm,((", *RUN]),
        ("run: -f unknown field", ["run", types, "-f", "print_events,nofield,x", *RUN]),
        ("run: -f unknown map", ["run", types, "-f", "nomap,comm,x", *RUN]),
        ("run: -f malformed", ["run", types, "-f", "print_events", *RUN]),
        ("run: -k unknown field", ["run", types, "-k", "hist_latency,nofield", *RUN]),
        ("run: -b bad buckets", ["run", types, "-b", "hist_latency,[a]", *RUN]),
        ("run: -b empty buckets", ["run", types, "-b", "hist_latency,[]", *RUN]),
        ("run: -b malformed", ["run", types, "-b", "hist_latency", *RUN]),
        ("run: --prom-port taken (127.0.0.1)",
         ["run", types, "--no-tty", "--prom-addr", "127.0.0.1", "--prom-port", str(ports["v4"])]),
        ("run: --prom-port taken (every interface)", ["run", types, "--no-tty", "--prom-port", str(ports["any"])]),
        ("run: --prom-port out of range", ["run", types, "--no-tty", "--prom-port", "70000"]),
        ("run: --prom-addr not on this host", ["run", types, "--no-tty", "--prom-addr", "192.0.2.1",
                                               "--prom-port", "0"]),
        ("run: --poll-interval too small", ["run", types, "--poll-interval", "0.001", *RUN]),
        ("run: bad --format", ["run", types, "--format", "xml", *RUN]),
        ("run: bad --pull", ["run", types, "--pull", "sometimes", *RUN]),
        ("run: --pin-maps outside bpffs", ["run", types, "--pin-maps", "src", *RUN]),
        ("run: --pin-maps to create outside bpffs", ["run", types, "--pin-maps", "scratch/new/dir", *RUN]),
        ("run: --pin-progs outside bpffs", ["run", types, "--pin-progs", "src", *RUN]),
        ("run: XDP without --iface", ["run", xdp, *RUN]),
        ("run: XDP on a missing interface", ["run", xdp, "--iface", "nosuchif0", *RUN]),
        ("run: ring buffer as a gauge", ["run", "run/gauge_ring.o", *RUN]),
        ("run: verifier rejection", ["run", "obj/lb_reject.o", *RUN]),
        ("run: no program", ["run"]),
        ("run: unknown option", ["run", types, "--bogus"]),
        ("describe: missing file", ["describe", "gone.o"]),
        ("describe: not an ELF file", ["describe", "notes.o"]),
        ("describe: an ELF file that is not BPF", ["describe", "/bin/true"]),
        ("describe: a C source", ["describe", "src/hello.c"]),
        ("describe: unknown store reference", ["describe", "nothere:v1"]),
        ("describe: no program", ["describe"]),
        ("describe: two programs", ["describe", types, types]),
        ("build: missing source", ["build", "gone.c", "--local", "--binary-only", "-o", "out/gone.o"]),
        ("build: does not compile", ["build", "src/broken.c", "--local", "--binary-only", "-o", "out/broken.o"]),
        ("build: bad reference", ["build", "src/hello.c", "Bad::Ref", "--local"]),
        ("tag: unknown reference", ["tag", "nope:v1", "other:v1"]),
        ("rm: unknown reference", ["rm", "nope:v1"]),
        ("unknown command", ["nosuchcommand"]),
        ("unknown global option", ["--bogus", "list"]),
    ]


INIT_CASES = [
    ("Network HashMap counter", ["--program-type", "Network", "--map", "HashMap", "--output-type", "counter"]),
    ("Network RingBuffer print", ["--program-type", "Network", "--map", "RingBuffer", "--output-type", "print"]),
    ("FileSystem RingBuffer print", ["--program-type", "FileSystem", "--map", "RingBuffer", "--output-type", "print"]),
    ("FileSystem HashMap gauge", ["--program-type", "FileSystem", "--map", "HashMap", "--output-type", "gauge"]),
    ("Network RingBuffer gauge", ["--program-type", "Network", "--map", "RingBuffer", "--output-type", "gauge"]),
    ("unknown program type", ["--program-type", "Sound", "--map", "HashMap", "--output-type", "counter"]),
    ("unknown language", ["-l", "rust", "--program-type", "Network", "--map", "HashMap", "--output-type", "counter"]),
    ("prompts with no terminal", []),
]


def init_case(tree: Tree, args: Sequence[str], bumblebee_store: Path) -> Sections:
    """`bee init ARGS -f scratch/probe.c`: what it prints, and the file it writes."""
    sections = invoke(tree, ["init", *args, "-f", "scratch/probe.c"], bumblebee_store)
    written = tree.work / "scratch" / "probe.c"
    sections["scratch/probe.c"] = written.read_bytes() if written.exists() else b"<not written>\n"
    return sections


def build_case(tree: Tree, bumblebee_store: Path) -> Sections:
    """`bee build` of one source: what it prints, and the object's digest (the compile line's result)."""
    out = tree.work / "out" / "hello.o"
    out.unlink(missing_ok=True)
    sections = invoke(tree, ["build", "src/hello.c", "--local", "--binary-only", "-o", "out/hello.o"],
                      bumblebee_store, timeout=300)
    digest = hashlib.sha256(out.read_bytes()).hexdigest() if out.exists() else "no object"
    sections["object sha256"] = f"{digest}\n".encode()
    return sections


# ---------------------------------------------------------------------------------------------------
# Registry: push and pull through a local docker-registry, one empty registry per tree on the same port

REGISTRY_BIN = "/usr/bin/docker-registry"
MY_PROBE_MANIFEST = "sha256:47c520f1b0e666b339e8cc8659fb96939ab6fbbab47649e6142d5355c22ed220"  # in index.json


class LocalRegistry:
    """`docker-registry serve` on 127.0.0.1:`port`, plain HTTP, anonymous; `fresh()` restarts it empty."""

    def __init__(self, work: Path, port: int) -> None:
        self.root = work / "registry"
        self.port = port
        self.process: subprocess.Popen[bytes] | None = None

    def fresh(self) -> None:
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)
        self.root.mkdir()
        config = {"version": 0.1, "log": {"level": "error"}, "http": {"addr": f"127.0.0.1:{self.port}"},
                  "storage": {"filesystem": {"rootdirectory": str(self.root / "storage")}}}
        (self.root / "config.yml").write_text(json.dumps(config))  # JSON is YAML
        with open(self.root / "registry.log", "ab") as log:
            self.process = subprocess.Popen([REGISTRY_BIN, "serve", str(self.root / "config.yml")],
                                            stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and self.process.poll() is None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/v2/", timeout=1):
                    return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"docker-registry did not answer on port {self.port}: {self.root / 'registry.log'}")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def registry_flow(port: int, down: int) -> list[tuple[str, list[str]]]:
    """Steps run in order on one store: push, push again, remove, pull back, and what fails on the way.
    `down` is a loopback port where nothing listens."""
    here, gone = f"127.0.0.1:{port}", f"127.0.0.1:{down}"
    plain = "--plain-http"
    return [
        ("tag into the registry's name", ["tag", "my_probe:v1", f"{here}/team/probe:v1"]),
        ("push", [plain, "push", f"{here}/team/probe:v1"]),
        ("push again (every blob there)", [plain, "push", f"{here}/team/probe:v1"]),
        ("rm", ["rm", f"{here}/team/probe:v1"]),
        ("pull", [plain, "pull", f"{here}/team/probe:v1"]),
        ("pull by digest", [plain, "pull", f"{here}/team/probe@{MY_PROBE_MANIFEST}"]),
        ("list", ["list"]),
        ("describe the pulled program", ["describe", f"{here}/team/probe:v1"]),
        ("pull: unknown tag", [plain, "pull", f"{here}/team/probe:nothere"]),
        ("pull: unknown repository", [plain, "pull", f"{here}/nosuch/repo:v1"]),
        ("pull: TLS to a plain-HTTP registry", ["pull", f"{here}/team/probe:v1"]),
        ("pull: nothing listening", [plain, "pull", f"{gone}/team/probe:v1"]),
        ("push: not in the store", [plain, "push", f"{here}/team/other:v1"]),
        ("tag for where nothing listens", ["tag", "my_probe:v1", f"{gone}/team/probe:v1"]),
        ("push: nothing listening", [plain, "push", f"{gone}/team/probe:v1"]),
        ("run --pull always: unknown tag", [plain, "run", f"{here}/team/probe:nothere", "--pull", "always", *RUN]),
        ("run --pull missing: nothing listening", [plain, "run", f"{gone}/team/probe:v2", *RUN]),
        ("login", [plain, "login", here, "-u", "someone", "-p", "secret"]),
        ("login: nothing listening", [plain, "login", gone, "-u", "someone", "-p", "secret"]),
    ]


def registry_flows(report: Report, trees: Sequence[Tree], bumblebee_store: Path, wanted: Callable[[str], bool],
                   down: int) -> None:
    """Each tree runs the whole flow against an empty registry (on the same port, so references read the
    same); then the steps are compared one by one."""
    port = free_port()
    steps = [(name, args) for name, args in registry_flow(port, down) if wanted(name)]
    if not steps:
        return
    if not os.access(REGISTRY_BIN, os.X_OK):
        report.skipped.append(f"registry: needs {REGISTRY_BIN} (apt-get install docker-registry)")
        return
    registry = LocalRegistry(trees[0].work, port)
    seen: list[list[Sections]] = []
    try:
        for tree in trees:
            registry.fresh()
            reset_store(tree.work, bumblebee_store)
            seen.append([invoke(tree, args, None) for _, args in steps])
    finally:
        registry.stop()
    for index, (name, _) in enumerate(steps):
        report.add("registry", f"{index + 1:02d} {name}", seen[0][index], seen[1][index])


# ---------------------------------------------------------------------------------------------------
# Runs


def veth_frame(dst_mac: bytes, ethertype: int, proto: int) -> bytes:
    """An Ethernet frame to a MAC address nobody has (so the stack drops it after XDP saw it): IPv4 with
    protocol `proto`, 8 payload bytes, checksums 0 (the programs read only the headers); or a bare
    `ethertype` payload."""
    head = dst_mac + b"\x02\xc0\xff\xee\x00\x02" + struct.pack("!H", ethertype)
    if ethertype != 0x0800:
        return head + bytes(46)
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 28, 0, 0, 64, proto, 0,
                     socket.inet_aton("169.254.77.2"), socket.inet_aton("169.254.77.1"))
    return head + ip + b"cmp-out!"


@dataclass
class Veth:
    """A veth pair in this namespace with IPv6 off and no addresses: only the frames sent here cross it."""

    host: str
    peer: str

    def send(self, counts: dict[tuple[int, int], int]) -> None:
        """Send `count` frames of each (ethertype, IP protocol) from the peer: they arrive on `host`."""
        dst = b"\x02\x00\x00\x00\xc0\x04"
        with socket.socket(socket.AF_PACKET, socket.SOCK_RAW) as raw:
            raw.bind((self.peer, 0))
            for (ethertype, proto), count in counts.items():
                for _ in range(count):
                    raw.send(veth_frame(dst, ethertype, proto))


@contextmanager
def veth_pair() -> Iterator[Veth | str]:
    """The pair, removed on the way out; or why it could not be made."""
    tag = os.getpid() % 100000
    veth = Veth(f"cmp{tag}h", f"cmp{tag}p")

    def ip(*args: str, check: bool = True) -> None:
        subprocess.run(["ip", *args], check=check, capture_output=True, timeout=30)

    try:
        try:
            ip("link", "del", veth.host, check=False)
            ip("link", "add", veth.host, "type", "veth", "peer", "name", veth.peer)
            for name in (veth.host, veth.peer):
                Path(f"/proc/sys/net/ipv6/conf/{name}/disable_ipv6").write_text("1\n")
                ip("link", "set", name, "up")
        except (OSError, subprocess.SubprocessError) as error:
            yield f"no veth pair ({error})"
            return
        yield veth
    finally:
        with suppress(OSError, subprocess.SubprocessError):
            ip("link", "del", veth.host, check=False)


@dataclass
class Context:
    """What triggers use: the work directory (for renamed binaries) and the veth pair, if any."""

    work: Path
    veth: Veth | None = None

    def exec_as(self, name: str, program: str = "/bin/true", *args: str) -> None:
        """Exec a copy of `program` called `name` (so its comm is `name`), and wait for it."""
        path = self.work / "bin" / name
        if not path.exists():
            path.parent.mkdir(exist_ok=True)
            shutil.copy(program, path)
        subprocess.run([str(path), *args], check=False, capture_output=True, timeout=30,
                       env={"PATH": "/usr/bin:/bin", "LC_ALL": "C"}, cwd=self.work)

    def frames(self, counts: dict[tuple[int, int], int]) -> None:
        assert self.veth is not None
        self.veth.send(counts)


@dataclass(frozen=True)
class Step:
    """An action, then a scrape once stdout holds `events` lines in all, every line of `until` is in the
    metrics, and no metric line starts with one of `gone` (or after 10 s: the outputs show what was there)."""

    label: str
    action: Callable[[Context], None]
    events: int = 0
    until: tuple[str, ...] = ()
    gone: tuple[str, ...] = ()


@dataclass(frozen=True)
class RunCase:
    """`bee run PROGRAM --no-tty --format FMT ARGS`, then its steps, then `stop`.

    `volatile` names the event fields masked in stdout, `volatile_bee` the bee_* families whose values
    are masked, and `series` (a regex), when set, which ebpf_solo_io_* samples are compared: each is
    justified where the case is defined."""

    name: str
    program: str
    fmt: str
    args: tuple[str, ...] = ()
    steps: tuple[Step, ...] = ()
    volatile: tuple[str, ...] = ()
    volatile_bee: tuple[str, ...] = ()
    series: str | None = None
    stop: signal.Signals = signal.SIGINT
    veth: bool = False


TIMESTAMP = re.compile(rb"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?Z")


def mask_events(stdout: bytes, volatile: Sequence[str]) -> bytes:
    """Event lines with each timestamp's digits as N (its shape is kept) and the volatile fields' values as
    <VOLATILE>, in both log formats (text `name=value`, JSON `"name": value`)."""
    out = TIMESTAMP.sub(lambda m: re.sub(rb"\d", b"N", m.group(0)), stdout)
    for name in volatile:
        key = re.escape(name.encode())
        out = re.sub(rb"(?<= )(" + key + rb")=[^ \n]*", rb"\1=<VOLATILE>", out)
        out = re.sub(rb'("' + key + rb'": )[^,}\n]*', rb"\1<VOLATILE>", out)
    return out


def mask_stderr(stderr: bytes) -> bytes:
    """The metrics port is chosen free for each run: masked in "metrics on http://ADDR:PORT/metrics"."""
    return re.sub(rb"(:)\d+(/metrics)", rb"\1<PORT>\2", stderr)


SAMPLE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{.*\})? (\S+)$")


def metric_view(text: str, case: RunCase) -> bytes:
    """The metric text as compared: HELP/TYPE lines as they are; the program's ebpf_solo_io_* samples as
    they are (those `case.series` selects, when set); bee_* samples as they are, except the families in
    `case.volatile_bee`, whose values are masked; any other sample by name and labels only.

    A family whose samples were all left out by `case.series` loses its HELP/TYPE lines too: whether they
    are there depends on the samples left out (a family with no samples at all keeps them)."""
    headers = re.compile(r"^# (?:HELP|TYPE) (\S+)")
    families = sorted({m.group(1) for m in map(headers.match, text.splitlines()) if m}, key=len, reverse=True)
    kept: set[str] = set()
    dropped: set[str] = set()

    def family(name: str) -> str:
        return next((f for f in families if name == f or name.startswith(f + "_")), name)

    lines: list[str] = []
    for line in text.splitlines():
        match = SAMPLE.match(line)
        if line.startswith("#") or not match:
            lines.append(line)
            continue
        name, series = match.group(1), match.group(1) + (match.group(2) or "")
        if name.startswith("ebpf_solo_io_"):
            if case.series is None or re.search(case.series, line):
                kept.add(family(name))
                lines.append(line)
            else:
                dropped.add(family(name))
        elif name.startswith("bee_") and not any(name.startswith(f) for f in case.volatile_bee):
            lines.append(line)
        else:
            lines.append(f"{series} <VALUE>")
    hidden = dropped - kept
    shown = [line for line in lines if not ((m := headers.match(line)) and m.group(1) in hidden)]
    return "".join(f"{line}\n" for line in shown).encode()


class Running:
    """One `bee run` process: its output lines as they come, scrapes, and the stop."""

    def __init__(self, argv: list[str], env: dict[str, str], cwd: Path, port: int) -> None:
        self.port = port
        self.proc = subprocess.Popen(argv, cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE)
        self.stdout: list[bytes] = []
        self.stderr: list[bytes] = []
        self.attached = threading.Event()
        self.readers = [threading.Thread(target=self._read, args=(self.proc.stdout, self.stdout), daemon=True),
                        threading.Thread(target=self._read, args=(self.proc.stderr, self.stderr), daemon=True)]
        for reader in self.readers:
            reader.start()

    def _read(self, stream: IO[bytes], lines: list[bytes]) -> None:
        for line in stream:
            lines.append(line)
            if line.startswith(b"bee: attached"):
                self.attached.set()
        self.attached.set()  # the stream ended: stop waiting either way

    def scrape(self) -> str:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/metrics", timeout=5) as response:
                body: bytes = response.read()
                return body.decode(errors="backslashreplace")
        except (OSError, urllib.error.URLError) as error:
            return f"<scrape failed: {error}>"

    def wait_for(self, step: Step, timeout: float = 10) -> str:
        """The first scrape that shows what `step` waits for (or the last one, after `timeout`)."""
        deadline = time.monotonic() + timeout
        while True:
            text = self.scrape()
            lines = text.splitlines()
            done = (len([x for x in self.stdout if x.strip()]) >= step.events
                    and all(want in lines for want in step.until)
                    and not any(line.startswith(prefix) for prefix in step.gone for line in lines))
            if done or time.monotonic() > deadline or self.proc.poll() is not None:
                return text
            time.sleep(0.05)

    def stop(self, sig: signal.Signals) -> str:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            code = str(self.proc.wait(15))
        except subprocess.TimeoutExpired:
            self.proc.kill()
            code = f"still running 15 s after {sig.name}: killed"
            self.proc.wait()
        for reader in self.readers:
            reader.join(5)
        return code


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def run_case(tree: Tree, case: RunCase, context: Context, bumblebee_store: Path) -> Sections:
    """Start the run, wait for "bee: attached", scrape once, do each step and scrape, stop."""
    reset_store(tree.work, bumblebee_store)
    port = free_port()
    args = ["run", case.program, "--no-tty", "--format", case.fmt, "--poll-interval", "0.1", *case.args]
    if context.veth is not None and case.veth:
        args += ["--iface", context.veth.host]
    args += ["--prom-addr", "127.0.0.1", "--prom-port", str(port)]
    running = Running(tree.argv(args), tree.env(), tree.work, port)
    sections: Sections = {}
    if running.attached.wait(30) and running.proc.poll() is None:
        sections["metrics after attach"] = metric_view(running.scrape(), case)
        for step in case.steps:
            step.action(context)
            sections[f"metrics after {step.label}"] = metric_view(running.wait_for(step), case)
        time.sleep(0.3)  # room for an event or a line that should not come
    code = running.stop(case.stop)
    sections["exit code"] = f"{code}\n".encode()
    sections["stdout"] = tree.mask(mask_events(b"".join(running.stdout), case.volatile))
    sections["stderr"] = tree.mask(mask_stderr(b"".join(running.stderr)))
    return sections


def trigger(name: str, program: str = "/bin/true", *args: str) -> Callable[[Context], None]:
    return lambda context: context.exec_as(name, program, *args)


def frames(counts: dict[tuple[int, int], int]) -> Callable[[Context], None]:
    return lambda context: context.frames(counts)


IPV4, ARP = 0x0800, 0x0806
UDP, ICMP, GRE = 17, 1, 47
VETH_FRAMES = {(IPV4, UDP): 5, (IPV4, ICMP): 2, (IPV4, GRE): 1, (ARP, 0): 3}

TYPES_STEPS = (
    Step("the first cmptrigger", trigger("cmptrigger"), events=1, until=(
        'ebpf_solo_io_counter_hash{comm="cmptrigger",slot="1"} 3',
        'ebpf_solo_io_gauge_hash{comm="cmptrigger",slot="2"} 77',
        'ebpf_solo_io_counter_ring{color="GREEN",comm="cmptrigger"} 1',
        'ebpf_solo_io_hist_latency_count{comm="cmptrigger"} 3')),
    Step("the second cmptrigger", trigger("cmptrigger"), events=2, until=(
        'ebpf_solo_io_counter_hash{comm="cmptrigger",slot="1"} 6',
        'ebpf_solo_io_counter_ring{color="GREEN",comm="cmptrigger"} 2',
        'ebpf_solo_io_hist_latency_count{comm="cmptrigger"} 6')),
    Step("cmpdelete", trigger("cmpdelete"), events=2, gone=("ebpf_solo_io_gauge_hash{",)),
)

TRICKY_STEPS = (Step("cmptricky", trigger("cmptricky"), events=1,
                     until=('ebpf_solo_io_gauge_tricky{comm="cmptricky",kind="NEG"} -42',)),)

LEGACY_STEPS = (Step("cmplegacy", trigger("cmplegacy"), events=1,
                     until=('ebpf_solo_io_execs{comm="cmplegacy"} 1', 'ebpf_solo_io_level{comm="cmplegacy"} 9')),)

# `cat` of a missing file, named cmpopen: its opens (ld.so.cache, libc, the file) are the same each time
OPEN_STEPS = (Step("cmpopen", trigger("cmpopen", "/bin/cat", "no/such/file"), events=3),)

# bash as cmpconn connects to a closed port of 127.0.0.77 (refused): one TCP connection attempt
CONNECT = trigger("cmpconn", "/bin/bash", "-c", "exec 3<>/dev/tcp/127.0.0.77/9")
CONNECT_LABELS = 'daddr="127.0.0.77",saddr="127.0.0.1"'

# Fields masked in events of the examples: when an event happened (ns since boot) and the ids the kernel
# gave the trigger process and thread. The parent (ppid) is this script in both trees, so it stays.
OPENSNOOP_VOLATILE = ("ts", "pid")
EXITSNOOP_VOLATILE = ("start_time", "exit_time", "pid", "tid")

# The examples see the whole machine: every open, exit or TCP connection, ours among them, feeds their
# ring buffers, so bee_events_read_total counts other processes' events too (its value is masked).
MACHINE_WIDE = ("bee_events_read_total",)


def run_cases() -> list[RunCase]:
    cases: list[RunCase] = []
    for fmt in ("text", "json"):
        cases += [
            RunCase(f"run_types {fmt}", "run/run_types.o", fmt, steps=TYPES_STEPS),
            RunCase(f"run_tricky {fmt}", "run/run_tricky.o", fmt, steps=TRICKY_STEPS),
            RunCase(f"run_legacy {fmt}", "run/run_legacy.o", fmt, steps=LEGACY_STEPS),
            RunCase(f"opensnoop {fmt} -f", "obj/opensnoop.o", fmt, args=("-f", "print_events,comm,^cmpopen$"),
                    steps=OPEN_STEPS, volatile=OPENSNOOP_VOLATILE, volatile_bee=MACHINE_WIDE),
        ]
    cases += [
        RunCase("run_types text -f -b, SIGTERM", "run/run_types.o", "text",
                args=("-f", "print_events,comm,^cmptrig", "-b", "hist_latency,[1,100]"),
                steps=TYPES_STEPS[:1], stop=signal.SIGTERM),
        # options the base accepts without a word: a filter on a map that prints nothing, -k and -b of a map
        # the program does not have
        RunCase("run_types json -f matching nothing, -f -k -b on other maps", "run/run_types.o", "json",
                args=("-f", "print_events,comm,^nobody$", "-f", "counter_hash,comm,x", "-k", "nomap,le",
                      "-b", "nomap,[1,2]"), steps=(
                    Step("cmptrigger", trigger("cmptrigger"),
                         until=('bee_events_read_total{map="print_events"} 1',
                                'ebpf_solo_io_counter_hash{comm="cmptrigger",slot="1"} 3')),)),
        # my_probe:v1 in the store is tests/data/src/tiny.c built by Bumblebee: every openat's pid and comm
        RunCase("my_probe:v1 from the store json -f", "my_probe:v1", "json", args=("-f", "print_events,comm,^cmpopen$"),
                steps=OPEN_STEPS, volatile=("pid",), volatile_bee=MACHINE_WIDE),
        RunCase("exitsnoop json -f", "obj/exitsnoop.o", "json", args=("-f", "print_exits,comm,^cmpexit$"),
                steps=(Step("cmpexit", trigger("cmpexit", "/bin/false"), events=1),),
                volatile=EXITSNOOP_VOLATILE, volatile_bee=MACHINE_WIDE),
        # every IPv4 connection on the machine (this script's scrapes of 127.0.0.1 among them) gets a series:
        # only the one of the connection to 127.0.0.77 is ours
        RunCase("tcpconnect text", "obj/tcpconnect.o", "text", steps=(
            Step("cmpconn", CONNECT, until=(f"ebpf_solo_io_counter_events_hash{{{CONNECT_LABELS}}} 1",
                                            f"ebpf_solo_io_counter_events_ring{{{CONNECT_LABELS}}} 1")),),
                series=re.escape(CONNECT_LABELS), volatile_bee=MACHINE_WIDE),
        RunCase("xdpcount text --iface veth", "obj/xdpcount.o", "text", veth=True, steps=(
            Step("frames", frames(VETH_FRAMES), until=(
                'ebpf_solo_io_counter_packets{proto="47"} 1', 'ebpf_solo_io_counter_packets{proto="ICMP"} 2',
                'ebpf_solo_io_counter_packets{proto="NON_IP"} 3', 'ebpf_solo_io_counter_packets{proto="UDP"} 5')),)),
        # run_net's uprobe counts getpid calls of every process on the machine: only its XDP counter is compared
        RunCase("run_net json --iface veth", "obj/run_net.o", "json", veth=True, steps=(
            Step("frames", frames(VETH_FRAMES), until=(
                'ebpf_solo_io_counter_packets{proto="47"} 1', 'ebpf_solo_io_counter_packets{proto="PROTO_ICMP"} 2',
                'ebpf_solo_io_counter_packets{proto="PROTO_UDP"} 5')),),
                series=r"^ebpf_solo_io_counter_packets\{"),
    ]
    return cases


# ---------------------------------------------------------------------------------------------------


def check_tree(tree: Tree) -> None:
    """The tree must really be the one imported, in the directory bee runs in (`python -m` puts it first
    on sys.path): PYTHONPATH has to win over any installed bee."""
    path = tree.path
    found = subprocess.run([tree.python, "-c", "import bee; print(bee.__file__)"], capture_output=True, text=True,
                           cwd=tree.work, env=tree.env(), check=False).stdout.strip()
    if not found or Path(found).resolve().parent != (path / "bee").resolve():
        raise SystemExit(f"compare_outputs: PYTHONPATH={path} imports bee from {found or 'nowhere'}")


@contextmanager
def listening() -> Iterator[dict[str, int]]:
    """Ports held while the cases run: "v4" and "any" listen (on 127.0.0.1, on every interface), "down" is
    bound on 127.0.0.1 without listening (a connection to it is refused)."""
    with socket.socket(socket.AF_INET) as v4, socket.socket(socket.AF_INET6) as anywhere, \
            socket.socket(socket.AF_INET) as down:
        v4.bind(("127.0.0.1", 0))
        v4.listen()
        anywhere.bind(("::", 0))
        anywhere.listen()
        down.bind(("127.0.0.1", 0))
        yield {"v4": v4.getsockname()[1], "any": anywhere.getsockname()[1], "down": down.getsockname()[1]}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("before", type=Path, help="the tree before the change")
    parser.add_argument("after", type=Path, help="the tree after the change")
    parser.add_argument("--python", default=sys.executable, help="interpreter for both trees [default: this one]")
    parser.add_argument("--only", default="", help="only the cases whose group or name contains this text")
    parser.add_argument("--no-runs", action="store_true", help="skip the `bee run` cases")
    parser.add_argument("--keep", type=Path, help="work in this (new) directory and keep it, with what each tree "
                        "showed in transcripts/{before,after}/")
    opts = parser.parse_args(argv)

    def log(message: str) -> None:
        print(f"compare_outputs: {message}", file=sys.stderr, flush=True)

    before_path, after_path = opts.before.resolve(), opts.after.resolve()
    if opts.keep:
        opts.keep.mkdir(parents=True)
        work = opts.keep.resolve()
    else:
        work = Path(tempfile.mkdtemp(prefix="bee-compare-"))
    before = Tree("before", before_path, opts.python, work)
    after = Tree("after", after_path, opts.python, work)
    bumblebee_store = before_path / "tests/data/bumblebee_store"
    report = Report(work / "transcripts" if opts.keep else None)
    print(f"before: {before_path} ({git_head(before_path)})\nafter:  {after_path} ({git_head(after_path)})")

    def wanted(group: str, name: str) -> bool:
        return opts.only in f"{group}: {name}"

    try:
        (work / "home").mkdir()
        (work / "out").mkdir()
        for tree in (before, after):
            check_tree(tree)
        inputs = prepare_inputs(before, log)
        report.notes += [f"did not build, not described: {failed}" for failed in inputs.failed]
        with listening() as ports:
            for group, cases in [("describe", describe_cases(inputs)), ("cli", cli_cases()),
                                 ("errors", error_cases(ports))]:
                for name, args in cases:
                    if wanted(group, name):
                        report.add(group, name, invoke(before, args, bumblebee_store),
                                   invoke(after, args, bumblebee_store))
                log(f"{group}: done")
            registry_flows(report, (before, after), bumblebee_store, lambda name: wanted("registry", name),
                           ports["down"])
            log("registry: done")
        for name, args in INIT_CASES:
            if wanted("cli", f"init {name}"):
                report.add("cli", f"init {name}", init_case(before, args, bumblebee_store),
                           init_case(after, args, bumblebee_store))
        if wanted("cli", "build src/hello.c"):
            report.add("cli", "build src/hello.c", build_case(before, bumblebee_store),
                       build_case(after, bumblebee_store))
        runs = [case for case in run_cases() if wanted("runs", case.name)]
        if opts.no_runs:
            runs = []
        elif runs and os.geteuid() != 0:
            report.skipped.append("the `bee run` cases: they need root")
            runs = []
        if runs:
            with veth_pair() as veth:
                context = Context(work, veth if isinstance(veth, Veth) else None)
                for case in runs:
                    if case.veth and context.veth is None:
                        report.skipped.append(f"runs: {case.name}: {veth}")
                        continue
                    report.add("runs", case.name, run_case(before, case, context, bumblebee_store),
                               run_case(after, case, context, bumblebee_store))
            log("runs: done")
    finally:
        if not opts.keep:
            shutil.rmtree(work, ignore_errors=True)
    return report.print(print)


def git_head(path: Path) -> str:
    """`git describe`-like label of a tree, for the report's first lines."""
    proc = subprocess.run(["git", "-C", str(path), "log", "-1", "--format=%h %s"], capture_output=True, text=True,
                          check=False)
    dirty = subprocess.run(["git", "-C", str(path), "status", "--porcelain", "--untracked-files=no"],
                           capture_output=True, text=True, check=False).stdout.strip()
    head = proc.stdout.strip()[:72] or "not a git checkout"
    return head + (", with uncommitted changes" if dirty else "")


if __name__ == "__main__":
    sys.exit(main())
