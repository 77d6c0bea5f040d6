"""`bee.sha256` gives hashlib's digests."""

from __future__ import annotations

import hashlib

from bee.sha256 import sha256_hex


def test_same_digests_as_hashlib() -> None:
    for data in (b"", b"abc", bytes(range(256)) * 1000, b"\x00" * 65):
        assert sha256_hex(data) == hashlib.sha256(data).hexdigest()
