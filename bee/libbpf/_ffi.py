"""The cffi boundary: the `ffi` of the libbpf >= 1.0 API bee uses (`_cdef`), and a lazy `dlopen`.

`ffi` comes from the committed `_libbpf_cffi` module (cffi's out-of-line ABI mode, written by
`python -m bee.libbpf._build`), which imports without parsing any C. When that module cannot be
imported (a cffi that does not know its format), the declarations are parsed here instead.

libbpf's own log goes to the `bee.libbpf` logger: warnings as warnings, the rest as debug.
Inside bee's calls that turn failures into errors (`capture_log`), libbpf's warnings become
the error's detail instead, and are logged as warnings only when the call succeeds.
Nothing outside `bee.libbpf` may import this module.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from bee.libbpf._cdef import CDEF, LIBC_CDEF
from bee.libbpf.errors import LibbpfMissingError
from bee.log import DEBUG, WARNING
from bee.log import get as get_logger  # imports logging only for a message: ~6 ms (docs/dev/startup.md)

TYPE_CHECKING = False  # typing's flag without importing typing: ~3 ms of bee run (docs/dev/startup.md)
if TYPE_CHECKING:
    from typing import Any


def declared_functions() -> tuple[str, ...]:
    """Every libbpf function declared (for the test that checks their symbol versions)."""
    return tuple(re.findall(r"(\w+)\(", CDEF))

LIBBPF_SONAME = "libbpf.so.1"

logger = get_logger("bee.libbpf")


def parse_cdef() -> Any:
    """A new FFI made by parsing `_cdef`'s declarations (pycparser; tens of milliseconds)."""
    from cffi import FFI  # pycparser and tens of ms of parsing: only without the compiled module (docs/dev/startup.md)

    parsed = FFI()
    parsed.cdef(CDEF)
    parsed.cdef(LIBC_CDEF)
    return parsed


try:
    from bee.libbpf._libbpf_cffi import ffi
except ImportError as _exc:  # e.g. "cffi out-of-line Python module ... has unknown version"
    logger.debug("using the C declarations parsed in-line: %s", _exc)
    ffi = parse_cdef()

_lock = threading.Lock()
_lib: Any = None
_libc: Any = None
_print_callback: Any = None  # kept alive for the process lifetime: libbpf holds its address
_capture = threading.local()

# libbpf's print levels
LIBBPF_WARN, LIBBPF_INFO, LIBBPF_DEBUG = 0, 1, 2
_LOG_BUFFER_SIZE = 64 * 1024


def lib() -> Any:
    """The loaded `libbpf.so.1`, opened on first use; raises LibbpfMissingError when it is absent."""
    global _lib
    if _lib is not None:
        return _lib
    with _lock:
        if _lib is None:
            try:
                loaded = ffi.dlopen(LIBBPF_SONAME)
            except OSError as exc:
                raise LibbpfMissingError() from exc
            _install_print(loaded)
            _lib = loaded
    return _lib


def libc() -> Any:
    """The C library of this process (for vsnprintf and mount)."""
    global _libc
    if _libc is None:
        _libc = ffi.dlopen(None)
    return _libc


def _install_print(loaded: Any) -> None:
    global _print_callback
    libc()
    _print_callback = ffi.callback("libbpf_print_fn_t", _on_print)
    loaded.libbpf_set_print(_print_callback)


def _on_print(level: int, fmt: Any, args: Any) -> int:
    """libbpf's print hook: format with libc's vsnprintf, then log (or capture, inside `capture_log`)."""
    try:
        records = getattr(_capture, "records", None)
        py_level = WARNING if level == LIBBPF_WARN and records is None else DEBUG
        if records is None and not logger.isEnabledFor(py_level):
            return 0
        buf = getattr(_capture, "buffer", None)
        if buf is None:  # one per thread, kept: zeroing 64 KiB for each message costs more than the rest
            buf = _capture.buffer = ffi.new("char[]", _LOG_BUFFER_SIZE)
        _libc.vsnprintf(buf, _LOG_BUFFER_SIZE, fmt, args)
        text = ffi.string(buf).decode("utf-8", "replace").rstrip("\n").removeprefix("libbpf: ")
        if records is not None:
            records.append((level, text))
        logger.log(py_level, "%s", text)
    except BaseException:  # noqa: BLE001 - nothing may escape into C
        pass
    return 0


@contextmanager
def capture_log() -> Iterator[list[tuple[int, str]]]:
    """Collect libbpf's messages printed by this thread inside the block, as (level, text).

    Inside the block every message is logged at debug level only: the caller either turns
    the warnings into the detail of the error it raises, or calls `log_warnings` on success.
    """
    lib()
    saved = getattr(_capture, "records", None)
    records: list[tuple[int, str]] = []
    _capture.records = records
    try:
        yield records
    finally:
        _capture.records = saved


def warnings(records: list[tuple[int, str]]) -> list[str]:
    """The warning texts among captured records."""
    return [text for level, text in records if level == LIBBPF_WARN]


def log_warnings(records: list[tuple[int, str]], expected: tuple[str, ...] = ()) -> None:
    """Log captured warnings at warning level, except those containing an `expected` fragment."""
    for text in warnings(records):
        if not any(fragment in text for fragment in expected):
            logger.warning("%s", text)


def errno_text(code: int) -> str:
    """libbpf's description of an errno (it knows libbpf's own codes too)."""
    buf = ffi.new("char[]", 256)
    lib().libbpf_strerror(abs(code), buf, 256)
    return str(ffi.string(buf).decode("utf-8", "replace"))


def string(ptr: Any) -> str:
    """A C string as str; '' for NULL."""
    if ptr == ffi.NULL:
        return ""
    return str(ffi.string(ptr).decode("utf-8", "replace"))


def version() -> tuple[int, int]:
    """(major, minor) of the loaded libbpf."""
    loaded = lib()
    return int(loaded.libbpf_major_version()), int(loaded.libbpf_minor_version())
