"""`bee.params`: values → the `.rodata` bytes of tests/data/obj/params.o, and every refusal as one sentence."""

from __future__ import annotations

import random

import pytest

from bee.elf.spec import ObjectSpec, load_spec
from bee.elf.variables import parameters
from bee.errors import UsageError
from bee.params import ParamError, check_name, kind_of, rodata_image
from tests.goldens import object_bytes


def spec_of(name: str = "params") -> ObjectSpec:
    return load_spec(object_bytes(name), name)


def written(values: dict[str, str], name: str = "params") -> dict[str, bytes]:
    """The bytes of each parameter after `values` are written (all parameters, set or not)."""
    spec = spec_of(name)
    image = rodata_image(spec, values, "p")
    found = parameters(spec)
    assert image is not None and found is not None
    assert image.datasec_id == found.datasec_id and len(image.data) == len(found.image)
    return {p.name: image.data[p.offset:p.offset + p.size] for p in found.items}


@pytest.mark.parametrize(("name", "value", "raw"), [
    ("count", "42", (42).to_bytes(4, "little")),
    ("count", "0xffffffff", b"\xff" * 4),
    ("count", "64k", (64000).to_bytes(4, "little")),
    ("offset", "-32768", (-32768).to_bytes(2, "little", signed=True)),
    ("big", "0x8877665544332211", bytes.fromhex("1122334455667788")),
    ("enabled", "no", b"\0"),
    ("enabled", "TRUE", b"\1"),
    ("level", "HIGH", (9).to_bytes(4, "little")),
    ("level", "1", (1).to_bytes(4, "little")),
    ("label", "abcdefg", b"abcdefg\0"),
    ("label", "", bytes(8)),
    ("label", "é", "é".encode().ljust(8, b"\0")),
    ("trigger", "beeparamsx", b"beeparamsx".ljust(16, b"\0")),
    ("addr", "10.1.2.3", bytes([10, 1, 2, 3])),
    ("addr6", "fe80::1", bytes.fromhex("fe800000000000000000000000000001")),
    ("addr6", "::ffff:10.0.0.1", bytes.fromhex("00000000000000000000ffff0a000001")),
    ("wait", "10ms", (10_000_000).to_bytes(8, "little")),
    ("wait", "1h", (3600 * 10**9).to_bytes(8, "little")),
    ("ports", "8080", (8080).to_bytes(2, "little") + bytes(6)),
    ("ports", "1, 2,3,0x4", b"\1\0\2\0\3\0\4\0"),
    ("mask", "255,0x0f,1", b"\xff\x0f\x01"),
])
def test_each_kind_is_written_where_and_as_the_kernel_reads_it(name: str, value: str, raw: bytes) -> None:
    before = written({"count": "7"})
    after = written({name: value})
    assert after[name] == raw
    assert {k: v for k, v in after.items() if k != name} == {k: v for k, v in before.items() if k != name}


def test_big_endian_objects_get_big_endian_integers() -> None:
    after = written({"count": "0x01020304", "ports": "1,2", "wait": "1ns", "addr": "1.2.3.4"}, "params_be")
    assert after["count"] == bytes([1, 2, 3, 4])
    assert after["ports"] == b"\0\1\0\2\0\0\0\0"
    assert after["wait"] == (1).to_bytes(8, "big")
    assert after["addr"] == bytes([1, 2, 3, 4])  # network order in either


def test_no_values_no_image() -> None:
    assert rodata_image(spec_of(), {}, "p") is None


def test_defaults_shown_read_back_as_the_same_bytes() -> None:
    """`format` of every default gives text that `encode` turns into the same bytes (both byte orders)."""
    for name in ("params", "params_be"):
        spec = spec_of(name)
        found = parameters(spec)
        assert found is not None and spec.btf is not None
        for p in found.items:
            kind = kind_of(spec.btf, p.type_id, p.size)
            if kind.settable:
                assert kind.encode(kind.format(p.default, found.endian), found.endian) == p.default, p.name


def test_integers_round_trip_through_every_integer_parameter() -> None:
    spec = spec_of()
    found = parameters(spec)
    assert found is not None and spec.btf is not None
    rng = random.Random(14)
    for name in ("count", "offset", "big"):
        p = found.get(name)
        assert p is not None
        kind = kind_of(spec.btf, p.type_id, p.size)
        signed = name == "offset"
        bits = p.size * 8
        low, high = (-(1 << (bits - 1)), (1 << (bits - 1)) - 1) if signed else (0, (1 << bits) - 1)
        for value in [low, high, 0] + [rng.randint(low, high) for _ in range(300)]:
            raw = kind.encode(str(value), "little")
            assert raw == value.to_bytes(p.size, "little", signed=signed)
            assert kind.format(raw, "little") == str(value)
        for value in (low - 1, high + 1):
            with pytest.raises(ValueError, match="out of range"):
                kind.encode(str(value), "little")


INTS = "(decimal, 0x hex, or with a k, M or G suffix)"


@pytest.mark.parametrize(("name", "value", "message"), [
    ("count", "-1", f"parameter count (u32) of program p cannot be '-1': it takes an integer from 0 to 4294967295 "
                    f"{INTS}; -1 is out of range"),
    ("count", "5G", f"parameter count (u32) of program p cannot be '5G': it takes an integer from 0 to 4294967295 "
                    f"{INTS}; 5000000000 is out of range"),
    ("count", "seven", f"parameter count (u32) of program p cannot be 'seven': it takes an integer from 0 to "
                       f"4294967295 {INTS}"),
    ("offset", "40000", f"parameter offset (s16) of program p cannot be '40000': it takes an integer from -32768 to "
                        f"32767 {INTS}; 40000 is out of range"),
    ("enabled", "maybe", "parameter enabled (bool) of program p cannot be 'maybe': it takes a boolean (true, false, "
                         "yes, no, 1 or 0)"),
    ("level", "TOP", "parameter level (enum level) of program p cannot be 'TOP': it takes one of its enumerators by "
                     "name or value: LOW (1), MID (5), HIGH (9)"),
    ("level", "2", "parameter level (enum level) of program p cannot be '2': it takes one of its enumerators by "
                   "name or value: LOW (1), MID (5), HIGH (9)"),
    ("label", "abcdefgh", "parameter label (char[8]) of program p cannot be 'abcdefgh': it takes a string of at "
                          "most 7 bytes (UTF-8); it is 8 bytes"),
    ("addr", "1.2.3", "parameter addr (ipv4_addr) of program p cannot be '1.2.3': it takes an IPv4 address in "
                      "dotted notation (10.0.0.1)"),
    ("addr6", "1.2.3.4", "parameter addr6 (ipv6_addr) of program p cannot be '1.2.3.4': it takes an IPv6 address "
                         "in colon notation (2001:db8::1)"),
    ("wait", "10", "parameter wait (duration) of program p cannot be '10': it takes a duration with a unit, from 0s "
                   "to 2562047h47m16.854775807s (such as 10ms, 1.5s, 250us or 100ns)"),
    ("wait", "-1s", "parameter wait (duration) of program p cannot be '-1s': it takes a duration with a unit, from "
                    "0s to 2562047h47m16.854775807s (such as 10ms, 1.5s, 250us or 100ns); -1s is out of range"),
    ("wait", "0.5ns", "parameter wait (duration) of program p cannot be '0.5ns': it takes a duration with a unit, "
                      "from 0s to 2562047h47m16.854775807s (such as 10ms, 1.5s, 250us or 100ns); it is not a whole "
                      "number of nanoseconds"),
    ("ports", "1,2,3,4,5", f"parameter ports (u16[4]) of program p cannot be '1,2,3,4,5': it takes up to 4 "
                           f"comma-separated values, each an integer from 0 to 65535 {INTS}; it has 5"),
    ("ports", "1,x", f"parameter ports (u16[4]) of program p cannot be '1,x': it takes up to 4 comma-separated "
                     f"values, each an integer from 0 to 65535 {INTS}; element 2 is 'x'"),
    ("ports", "1,70000", f"parameter ports (u16[4]) of program p cannot be '1,70000': it takes up to 4 "
                         f"comma-separated values, each an integer from 0 to 65535 {INTS}; element 2 is '70000': "
                         f"70000 is out of range"),
    ("pair", "1,2", "parameter pair (struct pair) of program p cannot be set by bee: it sets integers, bool, enums, "
                    "char arrays, ipv4_addr, ipv6_addr, duration and arrays of these"),
])
def test_a_wrong_value_is_one_sentence(name: str, value: str, message: str) -> None:
    with pytest.raises(ParamError) as caught:
        rodata_image(spec_of(), {name: value}, "p")
    assert str(caught.value) == message
    assert caught.value.exit_code == 1


LISTING = ("trigger (char[16]), count (u32), offset (s16), big (u64), enabled (bool), level (enum level), "
           "label (char[8]), addr (ipv4_addr), addr6 (ipv6_addr), wait (duration), ports (u16[4]), "
           "pair (struct pair), mask (u8[3])")


def test_an_unknown_parameter_lists_those_there_are() -> None:
    with pytest.raises(ParamError) as caught:
        rodata_image(spec_of(), {"cuont": "1"}, "p")
    assert str(caught.value) == f"program p has no parameter cuont (did you mean count?); its parameters are {LISTING}"
    with pytest.raises(ParamError) as caught:
        rodata_image(spec_of(), {"hidden": "1"}, "p")  # static: not a parameter
    assert str(caught.value) == f"program p has no parameter hidden; its parameters are {LISTING}"


@pytest.mark.parametrize("name", ["hello", "spec_legacy_nobtf"])
def test_a_program_without_parameters_says_so(name: str) -> None:
    with pytest.raises(ParamError) as caught:
        rodata_image(spec_of(name), {"target_pid": "1", "x": "y"}, "hello")
    assert str(caught.value) == ("program hello has no parameters (no `const volatile` globals), so target_pid=1, "
                                 "x=y cannot be set")


@pytest.mark.parametrize("name", ["a", "_x", "target_pid", "A9"])
def test_names(name: str) -> None:
    assert check_name(name) == name


@pytest.mark.parametrize("name", ["", "9a", "a-b", "a b", "é", "a.b"])
def test_bad_names(name: str) -> None:
    with pytest.raises(UsageError, match="cannot be a parameter name"):
        check_name(name)
