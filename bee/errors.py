"""One exception base for every expected failure.

`bee.cli.main()` turns a `BeeError` into one line on stderr and `exit_code`;
anything else is a bug and keeps its traceback. Each area has its own subclass
so callers and tests can tell failures apart.
"""

from __future__ import annotations


class BeeError(Exception):
    """An expected failure: its message is one sentence a user can act on."""

    exit_code = 1

    def __init__(self, message: str, *, detail: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        #: Text shown verbatim before the message (a compiler's or verifier's output), or None.
        self.detail = detail

    def __str__(self) -> str:
        return self.message


class UsageError(BeeError):
    """Bad flags or arguments given on the command line."""

    exit_code = 2


class InputFileError(BeeError):
    """An input file is missing, unreadable or of the wrong kind."""


class ScaffoldError(BeeError):
    """`bee init` could not write its skeleton."""


class BuildError(BeeError):
    """Compiling a program failed, or the toolchain is missing."""


class InvalidReferenceError(BeeError):
    """An OCI reference is malformed."""


class StoreError(BeeError):
    """The local OCI store cannot be read or written."""


class RefNotFoundError(StoreError):
    """A reference is not in the local store."""


class PlatformError(BeeError):
    """A program was built for another platform (architecture, byte order) than the one asked for."""


class ElfError(BeeError):
    """A file is not an ELF, not a BPF object, or its BTF is malformed."""


class MissingExtraError(BeeError):
    """A command needs an optional part of bee (a pip extra) that is not installed."""
