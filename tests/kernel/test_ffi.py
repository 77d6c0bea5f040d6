"""The cffi boundary: libbpf 1.0 symbols only, a clear error without libbpf, libbpf's log routed."""

from __future__ import annotations

import logging
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from bee.errors import BeeError
from bee.libbpf import BpfObject, LibbpfError, LibbpfMissingError, _ffi, libbpf_version
from tests.helpers import require


def _symbol_versions(path: str) -> dict[str, tuple[int, ...]]:
    tool = shutil.which("objdump") or shutil.which("llvm-objdump")
    require(tool is not None, "needs objdump to read libbpf's symbol versions")
    assert tool is not None
    out = subprocess.run([tool, "-T", path], capture_output=True, text=True, check=True).stdout
    versions: dict[str, tuple[int, ...]] = {}
    for match in re.finditer(r"LIBBPF_(\d+)\.(\d+)\.(\d+)\)?\s+(\w+)$", out, re.MULTILINE):
        versions[match[4]] = (int(match[1]), int(match[2]), int(match[3]))
    return versions


def _libbpf_path() -> str:
    for line in Path("/proc/self/maps").read_text().splitlines():
        if "libbpf.so" in line:
            return line.split()[-1]
    raise AssertionError("libbpf.so.1 is not mapped")


def test_only_functions_of_libbpf_1_0_are_bound() -> None:
    _ffi.lib()
    versions = _symbol_versions(_libbpf_path())
    too_new = {name: v for name in _ffi.declared_functions() if (v := versions.get(name, (99, 0, 0))) > (1, 0, 0)}
    assert too_new == {}, f"missing from, or newer than, libbpf 1.0: {too_new}"


def test_libbpf_version_is_at_least_1_0() -> None:
    assert libbpf_version() >= (1, 0)


def test_missing_libbpf_is_one_clear_sentence(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_ffi, "_lib", None)
    monkeypatch.setattr(_ffi, "LIBBPF_SONAME", "libbpf-absent.so.9")
    with pytest.raises(LibbpfMissingError) as caught:
        _ffi.lib()
    assert isinstance(caught.value, BeeError)
    assert str(caught.value) == "libbpf.so.1 was not found; install it (apt-get install libbpf1)"


def test_libbpf_messages_are_formatted_into_the_logger(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="bee.libbpf")
    with pytest.raises(LibbpfError) as caught:
        BpfObject.open(b"\x7fELF but not really" * 4, "garbage")
    assert "libbpf cannot open garbage: elf: 'garbage' is not a proper ELF object" in str(caught.value)
    messages = [r.getMessage() for r in caplog.records if r.name == "bee.libbpf"]
    # printf-style arguments were expanded by vsnprintf, and libbpf's prefix dropped
    assert "loading object 'garbage' from buffer" in messages
    assert "elf: 'garbage' is not a proper ELF object" in messages


def test_libbpf_warnings_outside_bee_calls_are_warnings(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="bee.libbpf")
    lib = _ffi.lib()
    assert lib.bpf_object__open_mem(b"x" * 64, 64, _ffi.ffi.NULL) == _ffi.ffi.NULL
    levels = {r.getMessage(): r.levelno for r in caplog.records if r.name == "bee.libbpf"}
    proper = [m for m in levels if m.endswith("is not a proper ELF object")]
    assert proper and levels[proper[0]] == logging.WARNING
    assert any(level == logging.DEBUG for level in levels.values())


FALLBACK_PROBE = """
import sys
sys.modules["bee.libbpf._libbpf_cffi"] = None  # as if it could not be imported
import cffi
from bee.libbpf import BpfObject, LibbpfError, _ffi
assert isinstance(_ffi.ffi, cffi.FFI), type(_ffi.ffi)
assert _ffi.version() >= (1, 0)
try:
    BpfObject.open(b"\\x7fELF but not really" * 4, "garbage")
except LibbpfError as exc:
    print(exc)
"""


def test_without_the_committed_module_the_declarations_are_parsed_in_line() -> None:
    proc = subprocess.run([sys.executable, "-c", FALLBACK_PROBE], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    # libbpf's log reached bee through the print callback made by the parsed declarations
    assert "elf: 'garbage' is not a proper ELF object" in proc.stdout, proc.stdout
