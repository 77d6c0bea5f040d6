"""Layouts from dec_layout.c: the decoder follows clang's offsets (padding, packing, bitfields), in both byte orders.

Each struct is decoded from two sources: the bytes clang wrote for its `*_sample` global,
and bytes built here at the offsets `bpftool btf dump` shows, with padding filled with junk.
"""

from __future__ import annotations

import struct
from collections.abc import Callable

import pytest

from bee.elf import ObjectSpec
from tests.unit.decode.support import pack_bits, sample, struct_decoder

JUNK = 0xEE  # padding bytes: the decoder must never read them

PADDED = {"a": 0xA1, "b": 0x1122334455667788, "c": 0xC3C3, "d": -5, "e": -6, "f": -7}
PACKED = {"a": 0xA1, "b": 0xB2B2B2B2, "c": 0x0102030405060708, "d": -300}
BITS = {"lead": 0xAB, "u3": 5, "s5": -3, "span": 0xABC, "neg": -60, "wide": 0x1ABCDEF1, "flag": True,
        "small": "DEC_SMALL_A", "tail": 0xBEEF, "last": -123456}
WIDE_BITS = {"a": 0x11, "b": 0xFEDCBA987654321, "c": -0x123456789ABCDEF, "z": 0x99}

# (first bit, bit count) of each member of struct bits and struct wide_bits, as BTF records them.
BITS_LAYOUT = {"lead": (0, 8), "u3": (8, 3), "s5": (11, 5), "span": (16, 12), "neg": (28, 7), "wide": (35, 29),
               "flag": (64, 1), "small": (65, 7), "tail": (80, 16), "last": (96, 20)}
WIDE_BITS_LAYOUT = {"a": (0, 8), "b": (8, 60), "c": (68, 60), "z": (128, 8)}


@pytest.fixture(params=["little", "big"])
def layout(request: pytest.FixtureRequest, spec: Callable[[str], ObjectSpec], layout_be: ObjectSpec) -> ObjectSpec:
    return spec("layout") if request.param == "little" else layout_be


def _with_junk(size: int, fmt: str, offsets: list[int], values: list[int]) -> bytes:
    data = bytearray([JUNK] * size)
    for code, offset, value in zip(fmt[1:], offsets, values, strict=True):
        struct.pack_into(fmt[0] + code, data, offset, value)
    return bytes(data)


def test_object_byte_order(layout: ObjectSpec, request: pytest.FixtureRequest) -> None:
    assert layout.endian == request.node.callspec.params["layout"]


def test_padding_is_skipped(layout: ObjectSpec) -> None:
    decoder = struct_decoder(layout, "padded")
    assert (decoder.size, decoder.fields) == (40, ("a", "b", "c", "d", "e", "f"))
    order = "<" if layout.endian == "little" else ">"
    built = _with_junk(40, order + "BQHibq", [0, 8, 16, 20, 24, 32], list(PADDED.values()))
    assert decoder.decode(built) == PADDED
    assert decoder.decode(sample(layout, "padded_sample")) == PADDED


def test_packed_members_at_unaligned_offsets(layout: ObjectSpec) -> None:
    decoder = struct_decoder(layout, "packed")
    assert decoder.size == 15
    order = "<" if layout.endian == "little" else ">"
    built = _with_junk(15, order + "BIQh", [0, 1, 5, 13], list(PACKED.values()))
    assert decoder.decode(built) == PACKED
    assert decoder.decode(sample(layout, "packed_sample")) == PACKED


def test_bitfields_signed_unsigned_crossing_bytes(layout: ObjectSpec) -> None:
    decoder = struct_decoder(layout, "bits")
    assert decoder.fields == tuple(BITS)
    values = dict(BITS, flag=1, small=1)
    built = pack_bits(16, [(*BITS_LAYOUT[name], value) for name, value in values.items()], layout.endian)
    assert decoder.decode(built) == BITS
    assert decoder.decode(sample(layout, "bits_sample")) == BITS


def test_bitfields_ignore_neighbouring_bits(layout: ObjectSpec) -> None:
    """All bits set: each field gets exactly its own bits (signed ones are -1)."""
    decoder = struct_decoder(layout, "bits")
    got = decoder.decode(b"\xff" * 16)
    assert got == {"lead": 0xFF, "u3": 7, "s5": -1, "span": 0xFFF, "neg": -1, "wide": (1 << 29) - 1, "flag": True,
                   "small": 0x7F, "tail": 0xFFFF, "last": -1}


@pytest.mark.parametrize("name", ["u3", "s5", "span", "neg", "wide", "last"])
def test_each_bitfield_alone(layout: ObjectSpec, name: str) -> None:
    decoder = struct_decoder(layout, "bits")
    bit, bits = BITS_LAYOUT[name]
    value = -1 if name in ("s5", "neg", "last") else (1 << bits) - 1
    got = decoder.decode(pack_bits(16, [(bit, bits, value)], layout.endian))
    assert got[name] == value
    assert all(not v for k, v in got.items() if k not in (name, "small")) and got["small"] == 0


def test_bitfields_wider_than_eight_bytes(layout: ObjectSpec) -> None:
    decoder = struct_decoder(layout, "wide_bits")
    built = pack_bits(17, [(*WIDE_BITS_LAYOUT[name], value) for name, value in WIDE_BITS.items()], layout.endian)
    assert decoder.decode(built) == WIDE_BITS
    assert decoder.decode(sample(layout, "wide_bits_sample")) == WIDE_BITS


def test_one_struct_format_with_pad_bytes(layout: ObjectSpec) -> None:
    """Members that do not overlap are read by one format at their offsets; padding becomes pad bytes."""
    order = "<" if layout.endian == "little" else ">"
    assert struct_decoder(layout, "padded").formats == (order + "B7xQH2xib7xq",)
    assert struct_decoder(layout, "packed").formats == (order + "BIQh",)
    # lead; u3..small as one u64 read at byte 1; tail; last (3 bytes) as a u16 and a u8
    assert struct_decoder(layout, "bits").formats == (order + "BQxHHB",)
