"""Helpers for the decoder tests: find types and sample bytes in compiled objects, pack bitfields."""

from __future__ import annotations

import struct

from bee.decode import Decoder, compile_decoder
from bee.elf import ObjectSpec
from bee.elf.btf_types import Kind


def struct_decoder(spec: ObjectSpec, name: str) -> Decoder:
    """The decoder of `struct name` in the object, for the object's byte order."""
    assert spec.btf is not None
    t = spec.btf.find(name, Kind.STRUCT)
    assert t is not None, name
    return compile_decoder(spec.btf, t.id, endian=spec.endian)


def sample(spec: ObjectSpec, symbol: str) -> bytes:
    """The initial bytes clang wrote for global variable `symbol` (its layout, clang's own)."""
    sym = next(s for s in spec.elf.symbols if s.name == symbol)
    section = next(s for s in spec.elf.sections if s.index == sym.shndx)
    return spec.elf.section_data(section)[sym.value:sym.value + sym.size]


def pack_bits(size: int, fields: list[tuple[int, int, int]], endian: str) -> bytes:
    """`size` bytes holding each (first bit, bit count, value) where the C ABI puts it.

    The whole object is one integer: little-endian counts bits from the least significant
    end of byte 0, big-endian from the most significant end. Whole bytes work the same way.
    """
    total = 0
    for bit, bits, value in fields:
        value &= (1 << bits) - 1
        total |= value << (bit if endian == "little" else size * 8 - bit - bits)
    return total.to_bytes(size, endian)


def build(size: int, items: list[tuple[int, str, object]], *, order: str = "<", fill: int = 0xEE) -> bytes:
    """`size` bytes of `fill` with each (byte offset, struct code, value) packed in `order`."""
    data = bytearray([fill] * size)
    for offset, code, value in items:
        struct.pack_into(order + code, data, offset, value)
    return bytes(data)
