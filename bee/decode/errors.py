"""The decoder's one error type."""

from __future__ import annotations

from bee.errors import BeeError


class DecodeError(BeeError):
    """A BTF type cannot be decoded (unsupported kind, malformed layout), or the bytes are too short for it."""
