"""Fixups: the object bytes libbpf 1.x can load at once, made from the bytes a user gave (no kernel).

Two repairs, both pure rewrites of the ELF (`bee.elf`), applied only when the object needs them:

- legacy `.maps.<kind>` sections (Bumblebee <= v0.0.14), which libbpf rejects, merged into one
  `.maps` section (`bee.elf.normalize`);
- ring buffers declared with a BTF key or value type (`__type(value, struct event)`), which the
  kernel refuses, rewritten without them (`bee.elf.ringbuf_btf`), so libbpf creates each ring once.

This is the only place ring buffers are repaired: `bee.libbpf` loads what it is given. Events are
still decoded with the types read from the original bytes (`ObjectSpec`).
"""

from __future__ import annotations

from bee.elf.maps import BPF_MAP_TYPE_RINGBUF
from bee.elf.spec import ObjectSpec


def needs_fixups(spec: ObjectSpec) -> bool:
    """True when `loadable_bytes` would change the object described by `spec`."""
    return any(m.convention == "section" or (m.map_type == BPF_MAP_TYPE_RINGBUF and (m.key_type_id or m.value_type_id))
               for m in spec.maps)


def loadable_bytes(data: bytes, spec: ObjectSpec, location: str) -> bytes:
    """`data` (whose spec is `spec`) with both repairs applied where needed; `data` itself when none is.

    `location` names the object in messages. Raises MapMergeError (an ElfError) when legacy map
    sections cannot be merged safely."""
    from bee.elf.ringbuf_btf import untype_ring_buffers  # only objects that need a repair pay for it

    if not needs_fixups(spec):
        return data
    if not any(m.convention == "section" for m in spec.maps):
        return untype_ring_buffers(data, location, elf=spec.elf, btf=spec.btf)
    from bee.elf.normalize import merge_map_sections

    return untype_ring_buffers(merge_map_sections(data, location), location)
