"""Which values a parameter's C type takes, how they are laid out, and how a value is shown.

`kind_of(btf, type_id, size)` classifies a type as bee's decoder reads it (`bee.decode.layout`: the same
rules for `_Bool`, char arrays and the `solo_types.h` typedefs), so a parameter is written as the
events and metrics of the same type are shown:

| type | value | bytes |
|---|---|---|
| integers (`u8` … `s64`, `int`…) | decimal, `0x` hex, or a k/M/G suffix, range-checked | the object's byte order |
| `bool` | true/false, yes/no, 1/0 | 1 or 0 |
| enums | an enumerator's name, or its value | as an integer of the enum's size |
| `char[N]` | text of at most N-1 bytes (UTF-8) | NUL-terminated and padded |
| `ipv4_addr` | dotted quad (`10.0.0.1`) | network order |
| `ipv6_addr` of 16 bytes | RFC 4291 text (`2001:db8::1`) | network order |
| `duration` | `10ms`, `1.5s`, `250us`, `100ns` | nanoseconds |
| arrays of the above but text | comma-separated, at most N (missing ones are 0) | one after the other |

Each kind's `encode(text, endian)` gives the bytes or raises ValueError (a message adding what is wrong,
possibly empty); `accepted` says what it takes, as words that follow "it takes"; `format(raw, endian)`
shows bytes in a form `encode` reads back.
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass

from bee.decode.duration import format_duration
from bee.decode.layout import is_bool, is_text, special_typedef
from bee.elf.btf import Btf
from bee.elf.btf_types import Array, Enum, Enum64, Int
from bee.params.text import parse_bool, parse_duration, parse_int

_INT_FORMS = "decimal, 0x hex, or with a k, M or G suffix"


class Kind:
    """Base of the kinds: what a type takes (`accepted`), how to write (`encode`) and show (`format`) it."""

    size: int
    text: bool = False  # shown in quotes: a string

    @property
    def accepted(self) -> str:
        raise NotImplementedError

    @property
    def settable(self) -> bool:
        return True

    def encode(self, text: str, endian: str) -> bytes:
        raise NotImplementedError

    def format(self, raw: bytes, endian: str) -> str:
        raise NotImplementedError


def _bounds(size: int, signed: bool) -> tuple[int, int]:
    bits = size * 8
    return (-(1 << (bits - 1)), (1 << (bits - 1)) - 1) if signed else (0, (1 << bits) - 1)


@dataclass(frozen=True, slots=True)
class IntKind(Kind):
    size: int
    signed: bool

    @property
    def accepted(self) -> str:
        low, high = _bounds(self.size, self.signed)
        return f"an integer from {low} to {high} ({_INT_FORMS})"

    def encode(self, text: str, endian: str) -> bytes:
        value = parse_int(text)
        low, high = _bounds(self.size, self.signed)
        if not low <= value <= high:
            raise ValueError(f"{value} is out of range")
        return value.to_bytes(self.size, endian, signed=self.signed)  # type: ignore[arg-type]

    def format(self, raw: bytes, endian: str) -> str:
        return str(int.from_bytes(raw, endian, signed=self.signed))  # type: ignore[arg-type]


@dataclass(frozen=True, slots=True)
class BoolKind(Kind):
    size: int

    @property
    def accepted(self) -> str:
        return "a boolean (true, false, yes, no, 1 or 0)"

    def encode(self, text: str, endian: str) -> bytes:
        return int(parse_bool(text)).to_bytes(self.size, endian)  # type: ignore[arg-type]

    def format(self, raw: bytes, endian: str) -> str:
        return "true" if any(raw) else "false"


@dataclass(frozen=True, slots=True)
class EnumKind(Kind):
    size: int
    signed: bool
    values: tuple[tuple[str, int], ...]

    @property
    def accepted(self) -> str:
        names = ", ".join(f"{name} ({value})" for name, value in self.values)
        return f"one of its enumerators by name or value: {names}" if names else "an enumerator (it has none)"

    def encode(self, text: str, endian: str) -> bytes:
        word = text.strip()
        by_name = dict(self.values)
        if word in by_name:
            value = by_name[word]
        else:
            value = parse_int(word)
            if value not in by_name.values():
                raise ValueError("")
        return value.to_bytes(self.size, endian, signed=self.signed or value < 0)  # type: ignore[arg-type]

    def format(self, raw: bytes, endian: str) -> str:
        value = int.from_bytes(raw, endian, signed=self.signed)  # type: ignore[arg-type]
        return next((name for name, v in self.values if v == value), str(value))


@dataclass(frozen=True, slots=True)
class TextKind(Kind):
    size: int
    text: bool = True

    @property
    def accepted(self) -> str:
        return f"a string of at most {self.size - 1} bytes (UTF-8)"

    def encode(self, text: str, endian: str) -> bytes:
        raw = text.encode("utf-8", errors="surrogateescape")
        if b"\0" in raw:
            raise ValueError("it holds a NUL character")
        if len(raw) > self.size - 1:
            raise ValueError(f"it is {len(raw)} bytes")
        return raw.ljust(self.size, b"\0")

    def format(self, raw: bytes, endian: str) -> str:
        return raw.partition(b"\0")[0].decode("utf-8", "replace")


@dataclass(frozen=True, slots=True)
class Ipv4Kind(Kind):
    size: int = 4

    @property
    def accepted(self) -> str:
        return "an IPv4 address in dotted notation (10.0.0.1)"

    def encode(self, text: str, endian: str) -> bytes:
        try:
            return ipaddress.IPv4Address(text.strip()).packed
        except ValueError:
            raise ValueError("") from None

    def format(self, raw: bytes, endian: str) -> str:
        return socket.inet_ntoa(raw)


@dataclass(frozen=True, slots=True)
class Ipv6Kind(Kind):
    size: int = 16

    @property
    def accepted(self) -> str:
        return "an IPv6 address in colon notation (2001:db8::1)"

    def encode(self, text: str, endian: str) -> bytes:
        try:
            return ipaddress.IPv6Address(text.strip()).packed
        except ValueError:
            raise ValueError("") from None

    def format(self, raw: bytes, endian: str) -> str:
        return ipaddress.IPv6Address(raw).compressed


@dataclass(frozen=True, slots=True)
class DurationKind(Kind):
    """A `duration`: nanoseconds in an integer; an unsigned 8-byte one up to Go's int64 limit, as bee
    shows durations as Go's `time.Duration`."""

    size: int
    signed: bool

    def _range(self) -> tuple[int, int]:
        low, high = _bounds(self.size, self.signed)
        return low, min(high, (1 << 63) - 1)

    @property
    def accepted(self) -> str:
        low, high = self._range()
        return (f"a duration with a unit, from {format_duration(low)} to {format_duration(high)} "
                "(such as 10ms, 1.5s, 250us or 100ns)")

    def encode(self, text: str, endian: str) -> bytes:
        value = parse_duration(text)
        low, high = self._range()
        if not low <= value <= high:
            raise ValueError(f"{format_duration(value)} is out of range")
        return value.to_bytes(self.size, endian, signed=self.signed)  # type: ignore[arg-type]

    def format(self, raw: bytes, endian: str) -> str:
        return format_duration(int.from_bytes(raw, endian, signed=self.signed))  # type: ignore[arg-type]


@dataclass(frozen=True, slots=True)
class ArrayKind(Kind):
    """An array of `count` elements of a scalar kind, written comma-separated; elements not given are 0."""

    element: Kind
    count: int
    size: int

    @property
    def accepted(self) -> str:
        return f"up to {self.count} comma-separated values, each {self.element.accepted}"

    def encode(self, text: str, endian: str) -> bytes:
        items = text.split(",")
        if len(items) > self.count:
            raise ValueError(f"it has {len(items)}")
        encoded = []
        for number, item in enumerate(items, 1):
            try:
                encoded.append(self.element.encode(item, endian))
            except ValueError as exc:
                raise ValueError(f"element {number} is {item.strip()!r}" + (f": {exc}" if str(exc) else "")) from None
        return b"".join(encoded).ljust(self.size, b"\0")

    def format(self, raw: bytes, endian: str) -> str:
        step = self.element.size
        return ",".join(self.element.format(raw[i:i + step], endian) for i in range(0, step * self.count, step))


@dataclass(frozen=True, slots=True)
class Unsettable(Kind):
    """A type no value can be written for (structs, pointers, floats, nested arrays, arrays of text)."""

    size: int

    @property
    def accepted(self) -> str:
        return ("nothing: bee sets integers, bool, enums, char arrays, ipv4_addr, ipv6_addr, duration and "
                "arrays of these")

    @property
    def settable(self) -> bool:
        return False

    def encode(self, text: str, endian: str) -> bytes:
        raise ValueError("")

    def format(self, raw: bytes, endian: str) -> str:
        return "0x" + raw.hex() if raw else "(empty)"


def _special(btf: Btf, type_id: int, size: int) -> Kind | None:
    """The kind one of bee's typedefs gives (`ipv4_addr`, `ipv6_addr`, `duration`), or None."""
    special = special_typedef(btf, type_id, size)
    t = btf.resolve(type_id)
    if special == "ipv4_addr":
        return Ipv4Kind()
    if special == "ipv6_addr":
        return Ipv6Kind()
    if special == "duration" and isinstance(t, Int):
        return DurationKind(t.size, t.signed)
    return None


def _scalar(btf: Btf, type_id: int, size: int) -> Kind | None:
    """The kind of a non-array type of `size` bytes, or None when none fits."""
    special = _special(btf, type_id, size)
    if special is not None:
        return special
    t = btf.resolve(type_id)
    if isinstance(t, Int) and t.size in (1, 2, 4, 8, 16):
        return BoolKind(t.size) if is_bool(t) else IntKind(t.size, t.signed)
    if isinstance(t, (Enum, Enum64)) and t.size in (1, 2, 4, 8):
        return EnumKind(t.size, t.signed, tuple((v.name, v.value) for v in t.values))
    return None


MAX_ARRAY = 1024  # elements of an array parameter bee sets and shows


def kind_of(btf: Btf, type_id: int, size: int) -> Kind:
    """The kind of a parameter of type `type_id` taking `size` bytes (an `Unsettable` when bee cannot
    write it). Raises ElfError only for malformed BTF."""
    special = _special(btf, type_id, size)  # first, as the decoder: a 16-byte ipv6_addr is an array
    if special is not None:
        return special
    t = btf.resolve(type_id)
    if isinstance(t, Array):
        if is_text(btf, t):
            return TextKind(size) if size > 0 else Unsettable(size)
        element_size = btf.size_of(t.type_id)
        element = _scalar(btf, t.type_id, element_size) if element_size else None
        # the declared shape must be the variable's size (damaged BTF may say otherwise), and a list typed on
        # a command line stays short
        if element is None or t.nelems == 0 or t.nelems > MAX_ARRAY or t.nelems * element_size != size:
            return Unsettable(size)
        return ArrayKind(element, t.nelems, size)
    return _scalar(btf, type_id, size) or Unsettable(size)
