"""`Map`: one map of a `BpfObject`, its definition before load and its contents after.

Keys and values are raw bytes (the caller decodes them with the map's BTF). Per-CPU maps
return one value per possible CPU, each rounded up to 8 bytes, concatenated (`lookup`, `items`);
`per_cpu_items` splits them into one value per CPU. The map's fd belongs to libbpf and is closed
with the object: never close it yourself.
"""

from __future__ import annotations

import errno as E

from bee.libbpf import _ffi
from bee.libbpf.constants import PERCPU_MAP_TYPES, MapType, UpdateFlags
from bee.libbpf.errors import ENOTSUPP, LibbpfError, describe_errno

TYPE_CHECKING = False  # typing's flag without importing typing: ~3 ms of bee run (docs/dev/startup.md)
if TYPE_CHECKING:
    from typing import Any

    from bee.libbpf.object import BpfObject

ffi = _ffi.ffi

# get_next_key iteration restarts from the first key when the current one is deleted under it:
# bound it by max_entries plus this slack so a map being rewritten cannot keep us looping.
KEYS_SLACK = 64
# Errors of BPF_MAP_LOOKUP_BATCH meaning "not for this map type or kernel": fall back to key walking.
_NO_BATCH = frozenset({E.EINVAL, E.EOPNOTSUPP, ENOTSUPP, E.ENOSYS})


def split_per_cpu(value: bytes, value_size: int) -> list[bytes]:
    """The values of each CPU in one per-CPU lookup result: the kernel lays them out one per possible CPU,
    CPU 0 first, each `value_size` bytes padded to a multiple of 8; the padding is left out."""
    stride = (value_size + 7) // 8 * 8
    return [value[offset:offset + value_size] for offset in range(0, len(value), stride)]


class Map:
    """A map of an opened `BpfObject`. Created by the object; valid until the object closes.

    Before load its definition can be changed (`max_entries`, sizes, `pin_path`, `autocreate`);
    after load `fd`, `lookup`, `update`, `delete`, `keys` and `items` reach the kernel map.
    Kernel-side failures raise LibbpfError naming the map; use after close raises ClosedError.
    """

    def __init__(self, owner: BpfObject, ptr: Any) -> None:
        self._owner = owner
        self._ptr = ptr
        lib = _ffi.lib()
        self.name: str = _ffi.string(lib.bpf_map__name(ptr))
        #: BTF type ids of key and value as the object declares them, read at open before any
        #: fixup (libbpf forgets the value type of a ring buffer whose size bee clears).
        self.btf_key_type_id: int = int(lib.bpf_map__btf_key_type_id(ptr))
        self.btf_value_type_id: int = int(lib.bpf_map__btf_value_type_id(ptr))
        #: Value size declared in the object (for a ring buffer: the size of its event struct).
        self.declared_value_size: int = int(lib.bpf_map__value_size(ptr))
        self.is_internal: bool = bool(lib.bpf_map__is_internal(ptr))  # .data/.bss/.rodata/.kconfig

    def __repr__(self) -> str:
        return f"<Map {self.name} {self.type_name}>"

    # -- definition ---------------------------------------------------------------------------

    def _live(self) -> Any:
        self._owner._require_open()
        return self._ptr

    @property
    def type(self) -> int:
        """`enum bpf_map_type` (compare with `MapType`)."""
        return int(_ffi.lib().bpf_map__type(self._live()))

    @property
    def type_name(self) -> str:
        """libbpf's name of the type (`ringbuf`, `hash`, ...)."""
        return _ffi.string(_ffi.lib().libbpf_bpf_map_type_str(self.type)) or str(self.type)

    @property
    def key_size(self) -> int:
        return int(_ffi.lib().bpf_map__key_size(self._live()))

    @key_size.setter
    def key_size(self, size: int) -> None:
        self._set("key size", _ffi.lib().bpf_map__set_key_size, size)

    @property
    def value_size(self) -> int:
        return int(_ffi.lib().bpf_map__value_size(self._live()))

    @value_size.setter
    def value_size(self, size: int) -> None:
        self._set("value size", _ffi.lib().bpf_map__set_value_size, size)

    @property
    def max_entries(self) -> int:
        return int(_ffi.lib().bpf_map__max_entries(self._live()))

    @max_entries.setter
    def max_entries(self, count: int) -> None:
        self._set("max_entries", _ffi.lib().bpf_map__set_max_entries, count)

    @property
    def autocreate(self) -> bool:
        """Whether load creates this map (False: skipped; programs using it then fail to load)."""
        return bool(_ffi.lib().bpf_map__autocreate(self._live()))

    @autocreate.setter
    def autocreate(self, value: bool) -> None:
        self._set("autocreate", _ffi.lib().bpf_map__set_autocreate, bool(value))

    def set_pin_path(self, path: str) -> None:
        """Before load: pin the map at `path` (on bpffs) at load, reusing a compatible map already there."""
        self._set("pin path", _ffi.lib().bpf_map__set_pin_path, path.encode())

    @property
    def initial_value(self) -> bytes | None:
        """The bytes an internal map (.rodata, .data, .bss) is created with, or None for other maps."""
        size = ffi.new("size_t *")
        data = _ffi.lib().bpf_map__initial_value(self._live(), size)
        if data == ffi.NULL:
            return None
        return bytes(ffi.buffer(data, size[0]))

    def set_initial_value(self, data: bytes) -> None:
        """Before load: create the internal map (`.rodata`, `.data`, `.bss`) with `data`, which must be
        exactly its value size. For `.rodata`, libbpf then freezes the map, so the verifier knows these
        bytes as constants. LibbpfError after load, for another map, or for another size."""
        if self.initial_value is None:
            raise LibbpfError(f"cannot set the initial value of map {self.name}: it is not a global data map")
        if _ffi.lib().bpf_map__fd(self._ptr) >= 0:
            raise LibbpfError(f"cannot set the initial value of map {self.name}: the object is already loaded")
        if len(data) != self.value_size:
            raise LibbpfError(f"cannot set the initial value of map {self.name}: it takes {self.value_size} bytes, "
                              f"got {len(data)}")
        self._set("initial value", lambda ptr, raw: _ffi.lib().bpf_map__set_initial_value(ptr, raw, len(raw)),
                  data)

    def _set(self, what: str, setter: Any, value: Any) -> None:
        ret = setter(self._live(), value)
        if ret < 0:
            reason = "the object is already loaded" if -ret == E.EBUSY else describe_errno(-ret)
            raise LibbpfError(f"cannot set the {what} of map {self.name}: {reason}", errno=-ret)

    @property
    def fd(self) -> int:
        """The map's file descriptor, owned by the object; LibbpfError before load."""
        fd = int(_ffi.lib().bpf_map__fd(self._live()))
        if fd < 0:
            raise LibbpfError(f"map {self.name} has no file descriptor: it is created when the object loads")
        return fd

    # -- pinning ------------------------------------------------------------------------------

    def pin(self, path: str) -> None:
        """Pin the loaded map at `path` on a BPF filesystem; it outlives the process until unpinned."""
        ret = _ffi.lib().bpf_map__pin(self._live(), path.encode())
        if ret < 0:
            raise LibbpfError(f"cannot pin map {self.name} at {path}: {describe_errno(-ret)}", errno=-ret)

    def unpin(self, path: str) -> None:
        """Remove the pin at `path`."""
        ret = _ffi.lib().bpf_map__unpin(self._live(), path.encode())
        if ret < 0:
            raise LibbpfError(f"cannot unpin map {self.name} at {path}: {describe_errno(-ret)}", errno=-ret)

    # -- contents -----------------------------------------------------------------------------

    @property
    def per_cpu(self) -> bool:
        """True when a lookup gives one value per possible CPU (PERCPU_HASH, PERCPU_ARRAY, LRU_PERCPU_HASH...)."""
        return self.type in PERCPU_MAP_TYPES

    @property
    def lookup_value_size(self) -> int:
        """Bytes a lookup returns: the value size, times the possible CPUs (rounded to 8) for per-CPU maps."""
        size = self.value_size
        if self.type in PERCPU_MAP_TYPES:
            return (size + 7) // 8 * 8 * int(_ffi.lib().libbpf_num_possible_cpus())
        return size

    def _key(self, key: bytes) -> bytes:
        if len(key) != self.key_size:
            raise ValueError(f"map {self.name} has {self.key_size}-byte keys, got {len(key)} bytes")
        return key

    def _fail(self, what: str, code: int) -> LibbpfError:
        return LibbpfError(f"{what} map {self.name} failed: {describe_errno(code)}", errno=code)

    def lookup(self, key: bytes) -> bytes | None:
        """The value stored under `key`, or None when there is none."""
        fd = self.fd
        value = ffi.new("char[]", max(self.lookup_value_size, 1))
        ret = _ffi.lib().bpf_map_lookup_elem(fd, self._key(key), value)
        if ret < 0:
            if -ret == E.ENOENT:
                return None
            raise self._fail("looking up a key of", -ret)
        return bytes(ffi.buffer(value, self.lookup_value_size))

    def update(self, key: bytes, value: bytes, flags: int = UpdateFlags.ANY) -> None:
        """Store `value` under `key` (`flags`: UpdateFlags.ANY, NOEXIST or EXIST)."""
        fd = self.fd
        if len(value) != self.lookup_value_size:
            raise ValueError(f"map {self.name} has {self.lookup_value_size}-byte values, got {len(value)} bytes")
        ret = _ffi.lib().bpf_map_update_elem(fd, self._key(key), value, int(flags))
        if ret < 0:
            raise self._fail("updating", -ret)

    def delete(self, key: bytes) -> bool:
        """Remove `key`; False when it was not there."""
        ret = _ffi.lib().bpf_map_delete_elem(self.fd, self._key(key))
        if ret < 0:
            if -ret == E.ENOENT:
                return False
            raise self._fail("deleting a key of", -ret)
        return True

    def keys(self) -> list[bytes]:
        """Every key, walked with BPF_MAP_GET_NEXT_KEY.

        The walk races with deletions (a deleted current key restarts it from the first key),
        so keys are de-duplicated and the walk stops after max_entries + KEYS_SLACK steps.
        """
        fd, key_size = self.fd, self.key_size
        lib = _ffi.lib()
        current, following = ffi.new("char[]", max(key_size, 1)), ffi.new("char[]", max(key_size, 1))
        seen: dict[bytes, None] = {}
        previous = ffi.NULL
        for _ in range(self.max_entries + KEYS_SLACK):
            ret = lib.bpf_map_get_next_key(fd, previous, following)
            if ret < 0:
                if -ret == E.ENOENT:
                    break
                raise self._fail("listing the keys of", -ret)
            key = ffi.buffer(following, key_size)[:]
            seen.setdefault(key)
            ffi.memmove(current, following, key_size)
            previous = current
        return list(seen)

    def items(self, *, batch: bool = True) -> list[tuple[bytes, bytes]]:
        """Every (key, value), read with BPF_MAP_LOOKUP_BATCH (kernel >= 5.6) in a few syscalls.

        Falls back to `keys()` + `lookup()` (always, with `batch=False`) where the map type or
        kernel has no batch lookup. Not atomic: entries changed meanwhile may be missed.
        """
        batched = self._lookup_batch() if batch else None
        if batched is not None:
            return batched
        pairs = []
        for key in self.keys():
            value = self.lookup(key)
            if value is not None:
                pairs.append((key, value))
        return pairs

    def per_cpu_items(self) -> list[tuple[bytes, list[bytes]]]:
        """Every (key, [value of CPU 0, value of CPU 1, ...]) of a per-CPU map, one `value_size`-byte value per
        possible CPU (`libbpf_num_possible_cpus`), read as `items()` reads. ValueError for a map that is not
        per-CPU."""
        if not self.per_cpu:
            raise ValueError(f"map {self.name} is a {self.type_name} map, not a per-CPU one")
        size = self.value_size
        return [(key, split_per_cpu(value, size)) for key, value in self.items()]

    def _lookup_batch(self) -> list[tuple[bytes, bytes]] | None:
        """None when batch lookup is unsupported for this map."""
        fd, key_size, value_size = self.fd, self.key_size, self.lookup_value_size
        if self.type in (MapType.RINGBUF, MapType.PERF_EVENT_ARRAY, MapType.QUEUE, MapType.STACK):
            return None
        lib = _ffi.lib()
        count = max(self.max_entries, 1)
        keys, values = ffi.new("char[]", key_size * count), ffi.new("char[]", value_size * count)
        token_size = max(key_size, 8)  # hash maps use a u32 bucket index, arrays a key
        in_batch, out_batch = ffi.NULL, ffi.new("char[]", token_size)
        opts = ffi.new("struct bpf_map_batch_opts *", {"sz": ffi.sizeof("struct bpf_map_batch_opts")})
        n = ffi.new("__u32 *")
        pairs: list[tuple[bytes, bytes]] = []
        # Each call reads whole hash buckets (or array slots) and moves on; a bound stops a map
        # that keeps changing under us.
        for _ in range(count + KEYS_SLACK):
            n[0] = count
            ret = lib.bpf_map_lookup_batch(fd, in_batch, out_batch, keys, values, n, opts)
            code = -ret if ret < 0 else 0
            if code == E.ENOSPC and n[0] == 0 and count < (1 << 24):  # a bucket larger than the buffer
                count *= 2
                keys, values = ffi.new("char[]", key_size * count), ffi.new("char[]", value_size * count)
                continue
            if code and code != E.ENOENT:
                if code in _NO_BATCH and in_batch == ffi.NULL:
                    return None
                raise self._fail("reading", code)
            got = n[0]
            key_bytes = ffi.buffer(keys, key_size * got)[:]
            value_bytes = ffi.buffer(values, value_size * got)[:]
            for i in range(got):
                pairs.append((key_bytes[i * key_size:(i + 1) * key_size],
                              value_bytes[i * value_size:(i + 1) * value_size]))
            if code == E.ENOENT:  # the normal end of the map, possibly with a last batch above
                break
            if in_batch == ffi.NULL:
                in_batch = ffi.new("char[]", token_size)
            in_batch, out_batch = out_batch, in_batch
        return pairs
