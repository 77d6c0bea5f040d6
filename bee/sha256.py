"""`sha256_hex(data)`: the SHA-256 of `data` in hex, without importing `hashlib` on CPython.

`hashlib` loads OpenSSL (several milliseconds, paid by every `bee run`); CPython's own SHA-256
module (`_sha256` up to 3.11, `_sha2` from 3.12) gives the same digests and is used when it
exists. Fine for programs and manifests (kilobytes); large transfers use `hashlib` directly.
"""

from __future__ import annotations

from collections.abc import Callable

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (bee run's start-up)
if TYPE_CHECKING:
    from typing import Any

_sha256: Callable[[bytes], Any]
try:
    from _sha256 import sha256 as _sha256  # type: ignore[import-not-found,no-redef]
except ImportError:  # pragma: no cover - depends on the Python version
    try:
        from _sha2 import sha256 as _sha256  # type: ignore[import-not-found,no-redef]
    except ImportError:
        from hashlib import sha256 as _sha256  # type: ignore[no-redef]


def sha256_hex(data: bytes) -> str:
    """The SHA-256 digest of `data` as 64 lower-case hex digits."""
    return str(_sha256(data).hexdigest())
