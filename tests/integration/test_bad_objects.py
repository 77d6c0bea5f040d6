"""Objects bee must not treat as runnable here, and inputs too big to read: each refused (or described)
with one sentence naming the cause, through the real CLI and real files (issue 15)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from tests.helpers import DATA, assert_one_line_error

HELLO_O = DATA / "obj" / "hello.o"
BIG_ENDIAN = DATA / "obj" / "lb_ringbuf_be.o"  # committed, built with -target bpfeb

CLASS32 = "says it is a 32-bit ELF file (class byte ELFCLASS32), but BPF objects are always 64-bit"


@pytest.fixture
def class32(tmp_path: Path) -> Path:
    """A real 64-bit object whose class byte (e_ident[EI_CLASS]) was changed to ELFCLASS32."""
    data = bytearray(HELLO_O.read_bytes())
    assert data[4] == 2
    data[4] = 1
    path = tmp_path / "class32.o"
    path.write_bytes(bytes(data))
    return path


@pytest.mark.skipif(sys.byteorder != "little", reason="the committed foreign-order object is big-endian")
def test_describe_says_a_big_endian_object_cannot_run_here(bee) -> None:
    text = bee("describe", str(BIG_ENDIAN))
    assert text.returncode == 0, text.stderr
    assert (f"Runs here:    no: {BIG_ENDIAN} is a big-endian BPF object (built with -target bpfeb) and this "
            "machine is little-endian, so it cannot run here; rebuild it for this machine") in text.stdout
    doc = json.loads(bee("describe", "--json", str(BIG_ENDIAN)).stdout)
    assert "big-endian BPF object" in doc["cannot_run"]
    assert json.loads(bee("describe", "--json", str(HELLO_O)).stdout)["cannot_run"] is None
    assert "Runs here" not in bee("describe", str(HELLO_O)).stdout


@pytest.mark.parametrize("command", [["describe"], ["run", "--no-tty", "--prom-port", "0"]])
def test_a_wrong_class_byte_is_named_not_described_as_empty(bee, class32: Path, command: list[str]) -> None:
    proc = bee(*command[:1], str(class32), *command[1:])
    assert proc.returncode == 1
    assert_one_line_error(proc, f"{class32} {CLASS32}", "rebuild it from its source")
