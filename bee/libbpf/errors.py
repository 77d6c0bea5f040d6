"""The failures `bee.libbpf` raises: all are `BeeError`s, so `bee` prints them as one line.

Each carries the context a caller can act on (program, section, map, errno) as fields.
"""

from __future__ import annotations

import errno as _errno
import os

from bee.errors import BeeError

#: The kernel's internal "not supported" code (524), which BPF syscalls return to user space.
ENOTSUPP = 524
#: libbpf's own error codes (malformed ELF, bad relocation, ...) start here.
LIBBPF_ERRNO_START = 4000


def describe_errno(code: int) -> str:
    """What an errno means: `os.strerror`, plus the kernel's ENOTSUPP and libbpf's own codes (>= 4000)."""
    code = abs(code)
    if code == ENOTSUPP:
        return "Operation not supported"
    if code >= LIBBPF_ERRNO_START:
        from bee.libbpf import _ffi  # here, not above: _ffi imports this module

        return _ffi.errno_text(code)
    return os.strerror(code)


class LibbpfError(BeeError):
    """A libbpf call failed; `errno` is the positive error code, or 0 when there was none.

    `libbpf_log` keeps what libbpf itself printed about the failure. It is not the error's
    `detail` (shown before the one-line message): libbpf's lines are logged at debug level,
    which `bee run -d` / `--debug` shows.
    """

    def __init__(self, message: str, *, errno: int = 0, detail: str | None = None) -> None:
        super().__init__(message)
        self.errno = abs(errno)
        self.libbpf_log = detail


class LibbpfMissingError(LibbpfError):
    """`libbpf.so.1` cannot be loaded on this machine."""

    def __init__(self) -> None:
        super().__init__("libbpf.so.1 was not found; install it (apt-get install libbpf1)", errno=_errno.ENOENT)


class LoadError(LibbpfError):
    """Loading an object failed; `program` (and `section`) or `map_name` say what failed, when known."""

    def __init__(self, message: str, *, errno: int = 0, detail: str | None = None, program: str | None = None,
                 section: str | None = None, map_name: str | None = None) -> None:
        super().__init__(message, errno=errno, detail=detail)
        self.program = program
        self.section = section
        self.map_name = map_name


class VerifierError(LoadError):
    """The kernel's verifier rejected a program; `log` holds the verifier's full output.

    `summary()` is one line; `tail` the last lines of the log, which usually show the reason.
    """

    TAIL_LINES = 10
    program: str
    section: str

    def __init__(self, program: str, section: str, errno: int, log: str) -> None:
        self.errno = abs(errno)
        self.log = log
        self.tail = _tail(log, self.TAIL_LINES)
        self.program, self.section = program, section
        super().__init__(self.summary(), errno=errno, program=program, section=section)
        self.detail = self.tail or None  # the verifier's last lines do come before the message

    def summary(self) -> str:
        """One line: which program was rejected and the last meaningful line of the log."""
        reason = _last_meaningful_line(self.log) or describe_errno(self.errno)
        return f"program {self.program} (section {self.section}) was rejected by the verifier: {reason}"


class AttachError(LibbpfError):
    """A loaded program could not be attached to its hook."""

    def __init__(self, message: str, *, program: str, section: str, errno: int = 0,
                 detail: str | None = None) -> None:
        super().__init__(message, errno=errno, detail=detail)
        self.program = program
        self.section = section


class NeedsTargetError(AttachError):
    """The program cannot attach by its section alone: it needs an interface, cgroup or other target."""


class KprobesUnsupportedError(AttachError):
    """The program is a kprobe and the running kernel was built without kprobe support."""


class StatsUnavailableError(LibbpfError):
    """The kernel's BPF run-time statistics cannot be turned on: a kernel without them, or no CAP_SYS_ADMIN."""


class ClosedError(LibbpfError):
    """A program, map, link or ring buffer was used after it (or its object) was closed."""


def _tail(log: str, count: int) -> str:
    lines = [line for line in log.rstrip("\n").splitlines() if line.strip()]
    return "\n".join(lines[-count:])


# Lines the verifier prints after the reason, which say nothing about it.
_NOISE_PREFIXES = ("processed ", "verification time", "stack depth", "-- END PROG LOAD LOG --", "max_states_per_insn")


def _last_meaningful_line(log: str) -> str:
    for line in reversed(log.splitlines()):
        text = line.strip()
        if text and not text.startswith(_NOISE_PREFIXES):
            return text
    return ""
