"""Presentation helpers the compiled decoders use: C strings, addresses, enum names, element lists."""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable
from functools import lru_cache

TYPE_CHECKING = False  # typing's flag without importing typing: ~3 ms of bee run (docs/dev/startup.md)
if TYPE_CHECKING:
    from typing import Any

#: A decoded field in presentation form; a list holds values, or dicts for an array of structs.
Value = int | bool | str | float | list["Any"]


@lru_cache(maxsize=4096)
def ipv4_text(raw: bytes) -> str:
    """Four bytes in network order as a dotted quad (`127.0.0.1`); cached, addresses repeat."""
    return socket.inet_ntoa(raw)


#: A `char[N]` as text, as an expression on the bytes `{0}` for generated code (inlined: no call per
#: field): cut at the first NUL, decoded as UTF-8 with replacement characters.
C_STRING_EXPR = "{0}.partition(b'\\x00')[0].decode('utf-8', 'replace')"


@lru_cache(maxsize=4096)
def ipv6_text(raw: bytes) -> str:
    """Sixteen bytes in network order as RFC 5952 text (`2001:db8::1`); cached, addresses repeat."""
    return ipaddress.IPv6Address(raw).compressed


class EnumNames(dict[int, int | str]):
    """Enumerator names by value; an unknown value looks up to itself (`names[42] == 42`)."""

    def __missing__(self, key: int) -> int:
        return key


def element_list(element: Callable[[bytes], Any], size: int, count: int) -> Callable[[bytes], list[Any]]:
    """A function turning the bytes of an array into the list of its `count` elements of `size` bytes."""
    offsets = range(0, size * count, size)  # not a tuple: count comes from BTF and may be large

    def decode(raw: bytes) -> list[Any]:
        return [element(raw[o:o + size]) for o in offsets]

    return decode
