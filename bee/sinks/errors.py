"""Errors raised by the sinks (metrics server, event log)."""

from __future__ import annotations

from bee.errors import BeeError


class SinkError(BeeError):
    """A sink cannot start or write: a port in use, an invalid listen address, bad histogram buckets."""
