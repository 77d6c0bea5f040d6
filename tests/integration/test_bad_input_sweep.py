"""The bad-input sweep: a corpus of hostile inputs through the real CLI. Whatever the input, bee ends with a
value or one sentence: never exit status 70 (`internal error`), never a traceback, at most one line on
stderr when it fails, and a failed pull leaves the store as it was.

The corpus: the fuzz targets' seeds and regressions (fuzz/), mutations of every committed test object
(truncated, header fields and BTF bytes overwritten, random bytes flipped with a fixed seed), malformed
references, options and runner configs, corrupted stores, credential files, and manifests served by a
registry on loopback. Commands run two at a time; a case that fails is reported with its command line.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import struct
import subprocess
import sys
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest

from fuzz.targets import OBJECTS, parameter_objects, run_one, seeds
from tests.registry.httpd import LoopbackHTTPServer

INTERNAL_ERROR = 70


@dataclass
class Case:
    label: str
    args: list[str]
    store: Path | None = None  # a store that must be unchanged afterwards (for a failed pull)
    ok_statuses: tuple[int, ...] = (0, 1, 2)
    report: str | None = None  # a line a command prints before its verdict (`store check`'s tally)
    env: dict[str, str] = field(default_factory=dict)


def _run(case: Case, base_env: dict[str, str], cwd: Path) -> str | None:
    """None when the case behaved; else what was wrong, with the command line."""
    before = _snapshot(case.store) if case.store else None
    try:
        proc = subprocess.run([sys.executable, "-m", "bee", *case.args], capture_output=True, text=True,
                              env={**base_env, **case.env}, cwd=cwd, timeout=60, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        return f"{case.label}: bee {' '.join(case.args)!r} took over 60 s"
    problems = []
    if proc.returncode == INTERNAL_ERROR or "internal error" in proc.stderr:
        problems.append("an internal error")
    if "Traceback" in proc.stderr:
        problems.append("a traceback")
    if proc.returncode not in case.ok_statuses:
        problems.append(f"exit status {proc.returncode}")
    if proc.returncode != 0 and len(_message_lines(proc, case.report)) != 1:
        problems.append("not exactly one line on stderr")
    if before is not None and proc.returncode != 0 and _snapshot(case.store) != before:
        problems.append("a changed store")
    if not problems:
        return None
    return f"{case.label}: {', '.join(problems)} from bee {' '.join(case.args)!r}:\n{proc.stderr[-1500:]}"


def _message_lines(proc: subprocess.CompletedProcess[str], report: str | None) -> list[str]:
    """stderr's lines, less the usage lines click prints around a command-line mistake (exit status 2)
    and a report line the command prints before its verdict."""
    lines = [line for line in proc.stderr.strip().splitlines() if not (report and line.startswith(report))]
    if proc.returncode == 2:
        lines = [line for line in lines if line.strip() and not line.startswith(("Usage: ", "Try '"))]
    return lines


def _snapshot(store: Path | None) -> dict[str, str]:
    if store is None or not store.exists():
        return {}
    return {str(p.relative_to(store)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(store.rglob("*")) if p.is_file()}


def _sweep(cases: list[Case], tmp_path: Path) -> None:
    base_env = dict(os.environ, BEE_STORAGE=str(tmp_path / "store"), HOME=str(tmp_path / "home"),
                    BEE_TIMEOUT="5")
    base_env.pop("BEE_DEBUG", None)
    (tmp_path / "home").mkdir(exist_ok=True)
    assert cases
    with ThreadPoolExecutor(max_workers=2) as pool:
        failures = [f for f in pool.map(lambda c: _run(c, base_env, tmp_path), cases) if f]
    assert not failures, f"{len(failures)} of {len(cases)} cases:\n\n" + "\n\n".join(failures)


# -- objects ---------------------------------------------------------------------------------------------

_OBJECT_SAMPLE = ("hello.o", "opensnoop.o", "params.o", "hist_kernel.o", "legacy_maps.o", "lb_ringbuf_be.o",
                  "dec_layout.o", "maps_hashes.o", "legacy_map_in_map.o", "legacy_opensnoop_nobtf.o")


def _btf_range(data: bytes) -> tuple[int, int] | None:
    from bee.elf.elf import read_elf

    elf = read_elf(data, "x", require_bpf=False)
    section = elf.section(".BTF")
    return (section.offset, section.size) if section is not None else None


def _mutations(data: bytes, rng: random.Random) -> Iterator[tuple[str, bytes]]:
    """Truncations, header fields overwritten, BTF bytes overwritten and random flips of one object."""
    for cut in (16, 64, len(data) // 2, len(data) - 1):
        yield f"cut{cut}", data[:cut]
    # e_shoff (0x28, 8 bytes), e_shentsize/e_shnum/e_shstrndx (0x3a, 0x3c, 0x3e: 2 bytes each)
    for name, offset, fmt, value in (("shoff", 0x28, "<Q", 1 << 62), ("shnum", 0x3C, "<H", 0xFFFF),
                                     ("shstrndx", 0x3E, "<H", 0xFFF0), ("shentsize", 0x3A, "<H", 7)):
        out = bytearray(data)
        struct.pack_into(fmt, out, offset, value)
        yield name, bytes(out)
    span = _btf_range(data)
    if span is not None:
        start, size = span
        for i in range(3):  # a type record's info word, a name offset, a size: whatever lands there
            out = bytearray(data)
            at = start + 24 + rng.randrange(max(1, size - 28))
            out[at:at + 4] = rng.choice((b"\xff\xff\xff\xff", b"\x00\x00\x00\x80", b"\x01\x00\x00\x00"))
            yield f"btf{i}", bytes(out)
    for i in range(3):
        out = bytearray(data)
        for _ in range(8):
            out[rng.randrange(len(out))] = rng.randrange(256)
        yield f"flip{i}", bytes(out)


def test_hostile_objects_are_described_or_refused_in_one_sentence(tmp_path: Path) -> None:
    rng = random.Random(20261205)
    files = tmp_path / "objects"
    files.mkdir()
    cases = []
    for stem in _OBJECT_SAMPLE:
        for name, data in _mutations((OBJECTS / stem).read_bytes(), rng):
            path = files / f"{stem}-{name}"
            path.write_bytes(data)
            cases.append(Case(path.name, ["describe", *(["--json"] if len(cases) % 2 else []), str(path)]))
    for label, data in seeds("object_spec"):
        if not label.startswith("tests/"):
            path = files / label.replace("/", "_")
            path.write_bytes(data)
            cases.append(Case(label, ["describe", str(path)]))
    _sweep(cases, tmp_path)


def test_hostile_objects_given_to_run_and_build_are_refused_in_one_sentence(tmp_path: Path) -> None:
    rng = random.Random(7)
    files = tmp_path / "objects"
    files.mkdir()
    cases = []
    for stem in ("hello.o", "opensnoop.o"):
        for name, data in _mutations((OBJECTS / stem).read_bytes(), rng):
            if name.startswith(("cut", "sh")):  # refused before anything is loaded, as root or not
                path = files / f"{stem}-{name}.o"
                path.write_bytes(data)
                cases.append(Case(path.name, ["run", str(path), "--no-tty", "--prom-port", "0"], ok_statuses=(1, 2)))
    cases.append(Case("build of an object", ["build", str(OBJECTS / "hello.o"), "x:v1", "--local"],
                      ok_statuses=(1, 2)))
    _sweep(cases, tmp_path)


# -- references, options and runner configs --------------------------------------------------------------

BAD_REFERENCES = ["", ":", "@", "a:", "a@sha256:", "a@sha256:xyz", "UPPER", "a//b", "/a", "a/", "-a", "a:-tag",
                  "127.0.0.1:99999/x:y", "localhost:0/x", "a" * 256, "x:" + "t" * 129, "x@md5:" + "0" * 32,
                  "ghcr.io/a/b:v1@sha256:" + "0" * 63, "a\nb", "a b", "é/x", "[::1/x", "..", "."]


def test_bad_references_are_refused_in_one_sentence(tmp_path: Path) -> None:
    references = BAD_REFERENCES + [data.decode("utf-8", "replace").replace("\x00", "") for _, data in
                                   seeds("reference")]
    cases = []
    for ref in references:
        cases.append(Case(f"describe {ref[:40]!r}", ["describe", ref]))
        cases.append(Case(f"tag {ref[:40]!r}", ["tag", ref, "fine:v1"]))
        cases.append(Case(f"tag to {ref[:40]!r}", ["tag", "missing:v1", ref]))
        cases.append(Case(f"rm {ref[:40]!r}", ["rm", ref]))
    _sweep(cases, tmp_path)


# (object, option, value) given to `bee run OBJECT OPTION VALUE`
BAD_RUN_OPTIONS = [("hello.o", "--poll-interval", value) for value in ("nan", "inf", "-1")] + [
    ("hello.o", "--prom-port", "99999"), ("hello.o", "--prom-port", "x"), ("hello.o", "--format", "xml"),
    ("hello.o", "-f", "nomap,comm,x"), ("hello.o", "-f", "unbalanced,(,x"), ("hello.o", "-b", "nomap,1,2"),
    ("hello.o", "-k", "nomap,x"), ("params.o", "--param", "nosuch=1"), ("params.o", "--param", "=1"),
    ("params.o", "--param", "novalue"),
]
BAD_OPTIONS = [["run", str(OBJECTS / name), option, value] for name, option, value in BAD_RUN_OPTIONS] + [
    ["run", "--config", "/nonexistent/runner.yaml"],
    ["run", "--config", "~nosuchuser/runner.yaml"],  # a user unknown here: the path is simply missing
    ["describe", "~nosuchuser/x.o"],
    ["--storage", "~nosuchuser/store", "rm", "x:v1"],
    ["run"],
    ["--timeout", "nan", "pull", "127.0.0.1:1/x:y"],
    ["--timeout", "0", "pull", "127.0.0.1:1/x:y"],
    ["--storage", "/dev/null", "list"],
    ["--storage", "/proc/self/nope", "build", str(OBJECTS / "hello.o"), "x:v1"],
    ["build", "/nonexistent.c", "x:v1", "--local"],
    ["build", str(OBJECTS / "README.md"), "x:v1", "--local", "--cflags", "'unbalanced"],
    ["describe", "/dev/null"],
    ["describe", "/proc/self/status"],
    ["describe", "/"],
    ["init", "--help-me"],
    ["k8s", "manifest", "bad ref!"],
    ["completion", "tcsh"],
]


def test_bad_options_are_refused_in_one_sentence(tmp_path: Path) -> None:
    _sweep([Case(" ".join(args)[:60], args, ok_statuses=(1, 2)) for args in BAD_OPTIONS], tmp_path)


def test_refused_runner_configs_and_param_values_are_one_sentence(tmp_path: Path) -> None:
    cases = []
    for label, data in seeds("runner_config"):
        if run_one("runner_config", data) is not None:  # only configs bee refuses: a valid one would run
            path = tmp_path / label.replace("/", "_")
            path.write_bytes(data)
            cases.append(Case(label, ["run", "--config", str(path), "--no-tty"], ok_statuses=(1, 2)))
    assert len(cases) >= 3
    names = parameter_objects()[0].names
    for label, data in seeds("param_value"):
        if len(data) > 2 and data[0] == 0 and run_one("param_value", data) is None:
            continue
        for value in ("", "x" * 300, "0x", "1e3", "-0", "99999999999999999999999", "1.5", "true false", "::g"):
            name = names[data[1] % len(names)]
            if run_one("param_value", bytes([0, data[1]]) + value.encode()) is not None:
                cases.append(Case(f"{label} {name}={value[:20]}",
                                  ["run", str(OBJECTS / "params.o"), "--no-tty", "--param", f"{name}={value}"],
                                  ok_statuses=(1, 2)))
    assert len(cases) >= 20
    _sweep(cases, tmp_path)


# -- stores and credential files ---------------------------------------------------------------------------


def test_corrupted_stores_are_reported_in_one_sentence(tmp_path: Path) -> None:
    cases = []
    documents = [data for _, data in seeds("store_index")] + [data[1:] for _, data in seeds("manifest")]
    documents += [b"", b"\xff\xfe", b"[]", b"{}", b'{"schemaVersion":2,"manifests":{}}', b"{" * 10000]
    for number, document in enumerate(documents):
        store = tmp_path / f"store{number}"
        (store / "blobs" / "sha256").mkdir(parents=True)
        (store / "oci-layout").write_text('{"imageLayoutVersion":"1.0.0"}')
        (store / "index.json").write_bytes(document)
        for args in (["list"], ["describe", "localhost/fuzz:v1"], ["store", "check"], ["rm", "localhost/fuzz:v1"],
                     ["push", "localhost/fuzz:v1"]):
            cases.append(Case(f"store{number} {args[0]}", ["--storage", str(store), *args],
                              report="Checked " if args[0] == "store" else None))
    _sweep(cases, tmp_path)


def test_bad_credential_files_are_reported_in_one_sentence(tmp_path: Path) -> None:
    cases = []
    documents = [data for _, data in seeds("docker_config")]
    documents += [b"", b"[1]", b"\xff", b"{" * 5000, b'{"auths":{"127.0.0.1:1":{"auth":"%%%"}}}',
                  b'{"auths":{"127.0.0.1:1":{"auth":"' + b"QQ==" * 2 + b'"}}}', b'{"auths":[]}']
    for number, document in enumerate(documents):
        path = tmp_path / f"config{number}.json"
        path.write_bytes(document)
        cases.append(Case(f"config{number}", ["-c", str(path), "--plain-http", "pull", "127.0.0.1:1/x:v1"],
                          ok_statuses=(1, 2)))
    _sweep(cases, tmp_path)


# -- a registry that answers with hostile manifests ----------------------------------------------------------


def _registry(manifests: dict[str, tuple[str, bytes]]) -> LoopbackHTTPServer:
    """A plain-HTTP registry on loopback answering `/v2/` and `/v2/m/manifests/<tag>` from `manifests`
    (tag → content type, body); every blob is missing."""

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def _answer(self, body: bool) -> None:
            path = self.path.split("?")[0]
            if path == "/v2/":
                status, content_type, data = 200, "application/json", b"{}"
            elif path.startswith("/v2/m/manifests/") and path.rsplit("/", 1)[1] in manifests:
                content_type, data = manifests[path.rsplit("/", 1)[1]]
                status = 200
            else:
                status, content_type, data = 404, "application/json", b'{"errors":[{"code":"NOT_FOUND"}]}'
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            if body:
                self.wfile.write(data)

        def do_GET(self) -> None:  # noqa: N802 - http.server's naming
            self._answer(True)

        def do_HEAD(self) -> None:  # noqa: N802
            self._answer(False)

    return LoopbackHTTPServer(Handler, "hostile-registry").start()


CONTENT_TYPES = ("application/json", "application/vnd.oci.image.manifest.v1+json",
                 "application/vnd.oci.image.index.v1+json", "text/html", "application/octet-stream")


@pytest.fixture
def hostile_manifests() -> Iterator[Callable[[], dict[str, tuple[str, bytes]]]]:
    manifests: dict[str, tuple[str, bytes]] = {}
    rng = random.Random(5)
    for number, (_, data) in enumerate(seeds("manifest")):
        body = data[1:]
        manifests[f"seed{number}"] = (CONTENT_TYPES[data[0] % len(CONTENT_TYPES)], body)
        for flip in range(3):
            mutated = bytearray(body)
            for _ in range(3):
                if mutated:
                    mutated[rng.randrange(len(mutated))] = rng.choice(b'{}[]",:0x\x00\xff')
            manifests[f"seed{number}m{flip}"] = (CONTENT_TYPES[flip % len(CONTENT_TYPES)], bytes(mutated))
    manifests["huge-size"] = (CONTENT_TYPES[1], json.dumps({
        "schemaVersion": 2, "config": {"mediaType": "application/ebpf.oci.image.config.v1+json",
                                       "digest": "sha256:" + "1" * 64, "size": 1 << 62},
        "layers": [{"mediaType": "application/ebpf.oci.image.program.v1+binary", "digest": "sha256:" + "2" * 64,
                    "size": -5}]}).encode())
    yield lambda: manifests


def test_hostile_manifests_leave_the_store_as_it_was(tmp_path: Path, hostile_manifests) -> None:
    manifests = hostile_manifests()
    server = _registry(manifests)
    try:
        store = tmp_path / "store"
        store.mkdir()
        cases = [Case(tag, ["--storage", str(store), "--plain-http", "pull", f"127.0.0.1:{server.port}/m:{tag}"],
                      store=store, ok_statuses=(1, 2)) for tag in manifests]
        _sweep(cases, tmp_path)
    finally:
        server.close()
