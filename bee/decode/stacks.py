"""Kernel stacks for `kstack_t` labels: the id `bpf_get_stackid()` returned → the stack it names in the
program's `BPF_MAP_TYPE_STACK_TRACE` map, as kernel symbols in flame-graph order (`root;...;leaf`, the
"folded" form flamegraph.pl and speedscope read; no offsets, so one code path is one label value).

The map is read through the `lookup` the run binds once the program is loaded (this module needs no
kernel itself). What is shown when there is no stack to show:

- `[EEXIST]`, `[EFAULT]`, ...: the id is an error `bpf_get_stackid()` returned (EEXIST: another stack had
  that bucket and BPF_F_REUSE_STACKID was not given; EFAULT: no stack to take);
- `[stack 17]`: the id names no stack (any more), or the map cannot be read (before the load, after close).
"""

from __future__ import annotations

import struct
from collections.abc import Callable

from bee.decode.errors import DecodeError
from bee.decode.system_names import errno_name, ksym_name

Lookup = Callable[[bytes], "bytes | None"]
CACHE_MAX = 4096  # stacks remembered by their bytes (symbolizing costs ~1 µs a frame); cleared when full


class KernelStacks:
    """The stacks of one program's stack-trace map (`maps`: the names of the program's STACK_TRACE maps;
    exactly one is needed for `kstack_t`, see `check`). Thread-safe enough for readers on several threads:
    the cache is a dict whose worst case under a race is symbolizing a stack twice."""

    def __init__(self, maps: tuple[str, ...], endian: str = "little") -> None:
        self.maps = maps
        self._lookup: Lookup | None = None
        self._key = struct.Struct("<I" if endian == "little" else ">I")
        self._address = "<Q" if endian == "little" else ">Q"
        self._cache: dict[bytes, str] = {}

    def check(self, what: str) -> None:
        """Raise DecodeError (one sentence naming `what`, the field) unless the program has exactly one
        stack-trace map for `kstack_t` ids to name."""
        if len(self.maps) == 1:
            return
        if not self.maps:
            raise DecodeError(f"{what} is a kstack_t, but the program has no BPF_MAP_TYPE_STACK_TRACE map "
                              "for its ids to name")
        raise DecodeError(f"{what} is a kstack_t, but the program has {len(self.maps)} BPF_MAP_TYPE_STACK_TRACE "
                          f"maps ({', '.join(self.maps)}): bee names ids from one only")

    def bind(self, lookup: Lookup | None) -> None:
        """Read stacks with `lookup` (the stack map's, u32 key → value bytes or None) from now on; None
        stops reading (before the map is closed)."""
        self._lookup = lookup
        self._cache.clear()

    def __call__(self, stack_id: int) -> str:
        if stack_id < 0:
            return f"[{errno_name(stack_id)}]"
        lookup = self._lookup
        try:
            frames = lookup(self._key.pack(stack_id)) if lookup is not None else None
        except Exception:  # noqa: BLE001 - a map closed under a late reader, a failed lookup: no stack to show
            frames = None
        if not frames:
            return f"[stack {stack_id}]"
        text = self._cache.get(frames)
        if text is None:
            if len(self._cache) >= CACHE_MAX:
                self._cache.clear()
            text = self._cache[frames] = self._fold(frames)
        return text

    def _fold(self, frames: bytes) -> str:
        """Root first, leaf last; the map's value is leaf first, ended by the first zero address."""
        names = []
        for (address,) in struct.iter_unpack(self._address, frames):
            if not address:
                break
            names.append(ksym_name(address))
        return ";".join(reversed(names))
