"""Values from dec_values.c and dec_ipv6.c: how each kind of member is presented.

Structs are decoded from clang's bytes for their `*_sample` globals and from bytes built
here at the offsets `bpftool btf dump` shows.
"""

from __future__ import annotations

import struct
from collections.abc import Callable

import pytest

from bee.decode import SCALAR_FIELD, DecodeError, compile_decoder
from bee.elf import ObjectSpec
from tests.unit.decode.support import build, sample, struct_decoder

SCALARS = {
    "ok": True, "yes": False, "c": ord("x"), "u": 200, "s": -100, "h": -30000, "i": 4_000_000_000,
    "q": -9_000_000_000_000_000_000, "big": (1 << 100) + 7, "sbig": -(1 << 90), "ratio": 1.5, "precise": -2.25,
    "ptr": 0x1234, "name": 0, "counter": 7, "saddr": "127.0.0.1", "peer": "192.168.1.1", "daddr6": 0x01020304,
    "elapsed": "1.5ms", "state": "DEC_RUNNING", "neg_state": "DEC_NEG",
}
NESTED = {"id": 7, "where_port": 8080, "where_proto": 6, "as_u32": 0x04030201, "as_bytes": [1, 2, 3, 4], "lo": 1,
          "hi": 2, "num_i": -2, "num_u": 65534,
          "pair": [{"port": 80, "proto": 6}, {"port": 53, "proto": 17}]}
ARRAYS = {"comm": "bash", "ucomm": "héllo", "scomm": "abcd", "raw": [1, 2, 3, 4, 5, 6], "samples": [1, 2, 3],
          "grid": [[1, 2, 3], [4, 5, 6]], "many": [1] + [0] * 38 + [40], "states": ["DEC_RUNNING", 5],
          "bools": [True, False, True], "hops": ["127.0.0.1", "192.168.1.1"], "names": ["ab", "cd"], "tail": ""}
CONN = {"pid": 1234, "uid": 1000, "saddr": "127.0.0.1", "daddr": "10.0.0.2", "dport": 443, "comm": "curl",
        "latency": "1.532ms"}
V6 = {"saddr": "2001:db8::1", "daddr": "::1", "dport": 443, "hops": ["fe80::1", "::"]}


@pytest.fixture
def values(spec: Callable[[str], ObjectSpec]) -> ObjectSpec:
    return spec("values")


def test_scalars(values: ObjectSpec) -> None:
    decoder = struct_decoder(values, "scalars")
    assert decoder.fields == tuple(SCALARS)
    assert decoder.decode(sample(values, "scalars_sample")) == SCALARS
    built = build(decoder.size, [
        (0, "?", True), (1, "?", False), (2, "b", ord("x")), (3, "B", 200), (4, "b", -100), (6, "h", -30000),
        (8, "I", 4_000_000_000), (16, "q", -9_000_000_000_000_000_000),
        (32, "16s", ((1 << 100) + 7).to_bytes(16, "little")),
        (48, "16s", (-(1 << 90)).to_bytes(16, "little", signed=True)),
        (64, "f", 1.5), (72, "d", -2.25), (80, "Q", 0x1234), (88, "Q", 0), (96, "I", 7),
        (100, "4s", bytes([127, 0, 0, 1])), (104, "4s", bytes([192, 168, 1, 1])), (108, "I", 0x01020304),
        (112, "Q", 1_500_000), (120, "I", 1), (124, "i", -2),
    ])
    assert decoder.decode(built) == SCALARS


def test_scalar_types(values: ObjectSpec) -> None:
    got = struct_decoder(values, "scalars").decode(sample(values, "scalars_sample"))
    assert {k: type(v) for k, v in got.items() if k in ("ok", "c", "u", "big", "ratio", "ptr")} == {
        "ok": bool, "c": int, "u": int, "big": int, "ratio": float, "ptr": int}


def test_bool_is_any_non_zero_byte(values: ObjectSpec) -> None:
    decoder = struct_decoder(values, "scalars")
    data = bytearray(sample(values, "scalars_sample"))
    data[0], data[1] = 2, 0xFF
    got = decoder.decode(bytes(data))
    assert (got["ok"], got["yes"]) == (True, True)


def test_enum_unknown_value_is_the_number(values: ObjectSpec) -> None:
    decoder = struct_decoder(values, "scalars")
    data = bytearray(sample(values, "scalars_sample"))
    struct.pack_into("<II", data, 120, 0, 42)
    got = decoder.decode(bytes(data))
    assert (got["state"], got["neg_state"]) == ("DEC_IDLE", 42)


def test_nested_structs_and_unions_are_flattened(values: ObjectSpec) -> None:
    decoder = struct_decoder(values, "nested")
    assert decoder.fields == tuple(NESTED)
    assert decoder.decode(sample(values, "nested_sample")) == NESTED
    built = build(decoder.size, [(0, "I", 7), (4, "H", 8080), (6, "B", 6), (8, "4s", b"\1\2\3\4"),
                                 (12, "H", 1), (14, "H", 2), (16, "h", -2),
                                 (18, "H", 80), (20, "B", 6), (22, "H", 53), (24, "B", 17)])
    assert decoder.decode(built) == NESTED


def test_union_members_overlap_in_separate_formats(values: ObjectSpec) -> None:
    decoder = struct_decoder(values, "nested")
    assert len(decoder.formats) == 2


def test_arrays(values: ObjectSpec) -> None:
    decoder = struct_decoder(values, "arrays")
    assert decoder.fields == tuple(ARRAYS)
    assert decoder.decode(sample(values, "arrays_sample")) == ARRAYS


def test_char_arrays_cut_at_nul_and_replace_bad_utf8(values: ObjectSpec) -> None:
    decoder = struct_decoder(values, "arrays")
    data = bytearray(sample(values, "arrays_sample"))
    data[0:16] = b"no-nul-anywhere!"
    data[16:24] = b"\xffa\0junk\0"
    got = decoder.decode(bytes(data))
    assert (got["comm"], got["ucomm"]) == ("no-nul-anywhere!", "\ufffda")


def test_typical_event(values: ObjectSpec) -> None:
    decoder = struct_decoder(values, "conn_event")
    assert (decoder.size, decoder.fields, decoder.scalar) == (48, tuple(CONN), False)
    built = struct.pack("<II4s4sH16s6xQ", 1234, 1000, bytes([127, 0, 0, 1]), bytes([10, 0, 0, 2]), 443, b"curl",
                        1_532_000)
    assert decoder.decode(built) == CONN
    assert decoder.decode(sample(values, "conn_sample")) == CONN
    assert decoder.decode(memoryview(built)) == CONN
    assert decoder.decode(bytearray(built) + b"\0" * 8) == CONN  # ring-buffer records may be longer
    assert len(decoder.formats) == 1


def test_short_data_is_an_error(values: ObjectSpec) -> None:
    decoder = struct_decoder(values, "conn_event")
    with pytest.raises(DecodeError, match="struct conn_event needs 48 bytes, got 20"):
        decoder.decode(b"\0" * 20)


def test_map_keys_and_values_that_are_not_structs(values: ObjectSpec) -> None:
    assert values.btf is not None
    by_pid = values.map("counter_by_pid")
    by_port = values.map("gauge_by_port")
    assert by_pid is not None and by_port is not None
    assert by_pid.key_type_id is not None and by_pid.value_type_id is not None
    assert by_port.key_type_id is not None and by_port.value_type_id is not None

    key = compile_decoder(values.btf, by_pid.key_type_id)
    assert (key.scalar, key.fields, key.size, key.type_name) == (True, (SCALAR_FIELD,), 4, "u32")
    assert key.decode(struct.pack("<I", 4321)) == {"value": 4321}
    assert key.decode_scalar(struct.pack("<I", 4321)) == 4321

    value = compile_decoder(values.btf, by_pid.value_type_id)
    assert value.decode_scalar(struct.pack("<Q", 2**64 - 1)) == 2**64 - 1

    elapsed = compile_decoder(values.btf, by_port.value_type_id)
    assert elapsed.decode_scalar(struct.pack("<Q", 1_500_000)) == "1.5ms"

    port = compile_decoder(values.btf, by_port.key_type_id)
    assert (port.scalar, port.fields) == (False, ("port", "proto"))
    assert port.decode(struct.pack("<HBx", 53, 17)) == {"port": 53, "proto": 17}
    with pytest.raises(DecodeError, match="struct inner is a struct or union"):
        port.decode_scalar(b"\0" * 4)


def test_ipv6_addr_of_sixteen_bytes(spec: Callable[[str], ObjectSpec]) -> None:
    ipv6 = spec("ipv6")
    decoder = struct_decoder(ipv6, "v6_event")
    assert decoder.fields == tuple(V6)
    assert decoder.decode(sample(ipv6, "v6_sample")) == V6
    addr = bytes.fromhex("20010db8000000000000000000000001")
    built = struct.pack("<16s16sH16s16s", addr, bytes(15) + b"\1", 443, bytes.fromhex("fe80" + "00" * 13 + "01"),
                        bytes(16))
    assert decoder.decode(built) == V6
    mapped = struct.pack("<16s16sH32x", bytes.fromhex("00000000000000000000ffff7f000001"), bytes(16), 0)
    assert decoder.decode(mapped)["saddr"] == "::ffff:7f00:1"
