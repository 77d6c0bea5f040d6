"""`bee describe` lists an object's parameters (type, size, default) and its mutable globals, through the real
CLI, on the committed tests/data/obj/params.o (no kernel, no root)."""

from __future__ import annotations

import json
from pathlib import Path

from tests.goldens import object_bytes

PARAMS_TABLE = """\
Parameters (bee run --param NAME=VALUE):
  Name     Type         Size  Default
  trigger  char[16]     16B   "beeparams"
  count    u32          4B    7
  offset   s16          2B    -3
  big      u64          8B    1234605616436508552
  enabled  bool         1B    true
  level    enum level   4B    MID
  label    char[8]      8B    "bee"
  addr     ipv4_addr    4B    127.0.0.1
  addr6    ipv6_addr    16B   2001:db8::1
  wait     duration     8B    1.5ms
  ports    u16[4]       8B    80,443,0,0
  pair     struct pair  8B    0x0100000002000000 (bee cannot set this type)
  mask     u8[3]        3B    0,0,0
  mutable globals (not parameters): total, seen
"""


def test_parameters_with_types_sizes_and_defaults(bee, tmp_path: Path) -> None:
    for name in ("params", "params_be"):  # the defaults read the same from either byte order (raw bytes aside)
        obj = tmp_path / f"{name}.o"
        obj.write_bytes(object_bytes(name))
        proc = bee("describe", str(obj))
        assert proc.returncode == 0, proc.stderr
        table = PARAMS_TABLE if name == "params" else PARAMS_TABLE.replace("0x0100000002000000", "0x0000000100000002")
        assert proc.stdout.endswith("\n\n" + table), proc.stdout
        described = json.loads(bee("describe", "--json", str(obj)).stdout)
        assert described["mutable_globals"] == ["total", "seen"]
        assert described["parameters"][0] == {"name": "trigger", "type": "char[16]", "size": 16,
                                              "default": "beeparams", "text": True, "settable": True}
        assert [p["name"] for p in described["parameters"] if not p["settable"]] == ["pair"]


def test_the_opensnoop_example_has_two(bee, tmp_path: Path) -> None:
    obj = tmp_path / "opensnoop.o"
    obj.write_bytes(object_bytes("opensnoop"))
    out = bee("describe", str(obj)).stdout
    assert out.endswith("""
Parameters (bee run --param NAME=VALUE):
  Name         Type      Size  Default
  target_pid   u32       4B    0
  target_comm  char[16]  16B   ""
""")
    assert "mutable globals" not in out


def test_an_object_without_parameters_says_none(bee, tmp_path: Path) -> None:
    for name in ("hello", "spec_legacy_nobtf"):
        obj = tmp_path / f"{name}.o"
        obj.write_bytes(object_bytes(name))
        proc = bee("describe", str(obj))
        assert proc.returncode == 0, proc.stderr
        assert proc.stdout.endswith("\nParameters (bee run --param NAME=VALUE):\n  (none)\n")
        assert json.loads(bee("describe", "--json", str(obj)).stdout)["parameters"] == []
