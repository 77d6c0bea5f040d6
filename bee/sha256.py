"""`sha256_hex(data)`: the SHA-256 of `data` in hex, without importing `hashlib` on CPython.

`hashlib` loads OpenSSL (several milliseconds, paid by every `bee run`); CPython's own SHA-256
module (`_sha256` up to 3.11, `_sha2` from 3.12) gives the same digests and is used when it
exists. Fine for programs and manifests (kilobytes); large transfers use `hashlib` directly.
"""

from __future__ import annotations

from collections.abc import Callable

TYPE_CHECKING = False  # typing's flag without importing typing: ~3 ms of bee run (docs/dev/startup.md)
if TYPE_CHECKING:
    from typing import Any


def _constructor() -> Callable[[bytes], Any]:
    """CPython's own SHA-256 (`_sha2` from 3.12, `_sha256` before), else hashlib's (other Pythons)."""
    for name in ("_sha2", "_sha256"):
        try:
            return __import__(name).sha256
        except ImportError:
            continue
    from hashlib import sha256

    return sha256


_sha256 = _constructor()


def sha256_hex(data: bytes) -> str:
    """The SHA-256 digest of `data` as 64 lower-case hex digits."""
    return str(_sha256(data).hexdigest())
