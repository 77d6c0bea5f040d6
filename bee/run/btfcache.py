"""A minimal copy of the kernel's BTF per object, so that libbpf relocates CO-RE without parsing all of it.

libbpf parses the whole kernel BTF (/sys/kernel/btf/vmlinux, 5 MiB here) at every load of an
object with CO-RE relocations: about 20 of the 26 ms of opensnoop's `bpf_object__load`, measured
with libbpf 1.1.2 on Linux 6.18, against 5 ms with the few hundred bytes that `bpftool gen
min_core_btf` keeps (the types those relocations use, laid out as in the kernel), handed to libbpf
as `btf_custom_path`.

An entry is `$XDG_CACHE_HOME/bee/btf/<object>-<kernel>.btf`: the object is the sha256 of the bytes
libbpf loads, the kernel is the sha256 of its release, version and machine, the size and first and
last 4 KiB of its BTF, and libbpf's version. An entry is written only after a load against the
kernel's own BTF matched every CO-RE relocation of the object, by a background `bpftool` run
(`Filler`) that the run stops when it ends. The runner loads against an entry only while every
relocation matches it too; otherwise it loads again against the kernel's BTF and leaves an empty
entry, which means "never for this object". Without bpftool there are no entries, and runs load
as they did. Writing an entry removes the oldest beyond `MAX_ENTRIES`.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from pathlib import Path

from bee.log import get as get_logger
from bee.sha256 import sha256_hex

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing: see docs/dev/startup.md
if TYPE_CHECKING:
    from typing import Any

log = get_logger("bee.run")

KERNEL_BTF = Path("/sys/kernel/btf/vmlinux")
_SAMPLE = 1 << 12  # bytes of the kernel BTF's head and tail that go into its identity
_STALE_TMP_SECONDS = 3600  # temporary directories of a run that died are removed after this
MAX_ENTRIES = 256  # older entries are removed when a new one is written (a few hundred bytes each)


def cache_root() -> Path:
    """`$XDG_CACHE_HOME/bee/btf` (default `~/.cache/bee/btf`), next to bee build's vmlinux.h cache."""
    from bee.inputs import cache_home

    return cache_home() / "bee" / "btf"


def entry_for(data: bytes, libbpf_version: str) -> Path | None:
    """The cache entry of object `data` on the running kernel; None when the kernel's BTF cannot be read."""
    try:
        with KERNEL_BTF.open("rb") as btf:
            size = os.fstat(btf.fileno()).st_size
            head = btf.read(_SAMPLE)
            btf.seek(max(size - _SAMPLE, 0))
            tail = btf.read(_SAMPLE)
    except OSError:
        return None
    uname = os.uname()
    identity = "\0".join((uname.release, uname.version, uname.machine, str(size), libbpf_version)).encode()
    kernel = sha256_hex(identity + head + tail)[:24]
    return cache_root() / f"{sha256_hex(data)[:40]}-{kernel}.btf"


def usable(entry: Path) -> str | None:
    """`entry` as the path to hand libbpf when it holds BTF; None when it is missing or marked unusable."""
    try:
        return str(entry) if entry.stat().st_size > 0 else None
    except OSError:
        return None


def mark_unusable(entry: Path) -> None:
    """Leave an empty `entry`: the object is never loaded against a minimal BTF again (best effort)."""
    try:
        entry.parent.mkdir(parents=True, exist_ok=True)
        tmp = entry.with_name(f".{entry.name}.{os.getpid()}")
        tmp.write_bytes(b"")
        os.replace(tmp, entry)
    except OSError as exc:
        log.debug("cannot mark %s unusable: %s", entry, exc)


class Filler:
    """Writes one entry in the background: `bpftool gen min_core_btf` on a thread (`bee-btf-cache`).

    `start()` returns at once; `stop()` lets a job about to end finish, terminates bpftool if it
    still runs, waits for the thread and leaves no temporary file. Failures (no bpftool, a kernel
    bpftool cannot read, output that is not BTF) only mean no entry, logged at debug level.
    """

    def __init__(self, data: bytes, entry: Path) -> None:
        self._data = data
        self._entry = entry
        self._lock = threading.Lock()
        self._stopped = False
        self._proc: Any = None
        self._thread = threading.Thread(target=self._run, name="bee-btf-cache", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self, grace: float = 0.5, timeout: float = 2.0) -> None:
        """End the job: wait up to `grace` seconds for it to finish (bpftool takes about 40 ms), then
        terminate bpftool; temporary files are removed. Returns within `grace + timeout` seconds."""
        if self._thread.is_alive():
            self._thread.join(grace)
        with self._lock:
            self._stopped = True
            proc = self._proc
        if proc is not None and proc.poll() is None:
            proc.terminate()
        if self._thread.is_alive():
            self._thread.join(timeout)

    def _run(self) -> None:
        try:
            self._fill()
        except Exception as exc:  # noqa: BLE001 - a cache miss, never an error of the run
            log.debug("no minimal BTF cached for %s: %s", self._entry.name, exc)

    def _fill(self) -> None:
        import shutil
        import subprocess
        import tempfile

        from bee.elf.btf import parse_btf

        bpftool = shutil.which("bpftool") or next(
            (p for p in ("/usr/sbin/bpftool", "/sbin/bpftool") if os.access(p, os.X_OK)), None)
        if bpftool is None:
            return
        root = self._entry.parent
        root.mkdir(parents=True, exist_ok=True)
        _remove_stale(root)
        with tempfile.TemporaryDirectory(dir=root, prefix=".tmp-") as tmp:
            obj, out = Path(tmp) / "object.o", Path(tmp) / "min.btf"
            obj.write_bytes(self._data)
            with self._lock:
                if self._stopped:
                    return
                self._proc = subprocess.Popen([bpftool, "gen", "min_core_btf", str(KERNEL_BTF), str(out), str(obj)],
                                              stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                              stderr=subprocess.PIPE)
            _, stderr = self._proc.communicate()
            if self._stopped:
                return
            if self._proc.returncode != 0:
                raise RuntimeError(f"bpftool exited {self._proc.returncode}: {stderr.decode(errors='replace').strip()}")
            parse_btf(out.read_bytes())  # ElfError when bpftool wrote something else
            os.replace(out, self._entry)
        evict(root, MAX_ENTRIES)


def evict(root: Path, keep: int) -> None:
    """Remove the oldest entries (by the time they were written) beyond the `keep` newest, so the
    cache does not grow with every object and kernel ever run. A removed entry that is needed
    again is simply written again. Best effort."""
    entries = []
    for path in root.glob("*.btf"):
        with contextlib.suppress(OSError):
            entries.append((path.stat().st_mtime, path))
    entries.sort(reverse=True)
    for _, path in entries[keep:]:
        with contextlib.suppress(OSError):
            path.unlink()


def _remove_stale(root: Path) -> None:
    """Remove the temporary directories that runs killed meanwhile left (older than an hour)."""
    import shutil

    now = time.time()
    for path in root.glob(".tmp-*"):
        try:
            if now - path.stat().st_mtime > _STALE_TMP_SECONDS:
                shutil.rmtree(path, ignore_errors=True)
        except OSError:
            pass
