"""The errors of `bee run`'s stages (all `BeeError`s: one sentence, no traceback)."""

from __future__ import annotations

from bee.errors import BeeError


class RunError(BeeError):
    """`bee run` cannot go on (attach target missing, map not usable, no privileges)."""


class RunSetupError(BeeError):
    """A tracked map cannot be turned into output as declared (wrong key, value or field)."""
