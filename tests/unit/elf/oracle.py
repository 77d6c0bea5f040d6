"""Render a parsed `Btf` the way `bpftool btf dump file X` (raw format) prints it, to compare with bpftool."""

from __future__ import annotations

from bee.elf.btf import Btf
from bee.elf.btf_types import (
    Array,
    BtfType,
    Composite,
    Datasec,
    DeclTag,
    Enum,
    Enum64,
    Float,
    Func,
    FuncProto,
    Fwd,
    Int,
    Ptr,
    Reference,
    Var,
)


def _q(name: str) -> str:
    return f"'{name or '(anon)'}'"


def _encoding(t: Int) -> str:
    e = int(t.encoding)
    return {0: "(none)", 1: "SIGNED", 2: "CHAR", 4: "BOOL"}.get(e, f"UNKN({e})")


def _type(btf: Btf, t: BtfType) -> list[str]:
    head = f"[{t.id}] {t.kind.name} {_q(t.name)}"
    if isinstance(t, Int):
        return [f"{head} size={t.size} bits_offset={t.bit_offset} nr_bits={t.bits} encoding={_encoding(t)}"]
    if isinstance(t, (Ptr, Reference)):
        return [f"{head} type_id={t.type_id}"]
    if isinstance(t, Array):
        return [f"{head} type_id={t.type_id} index_type_id={t.index_type_id} nr_elems={t.nelems}"]
    if isinstance(t, Composite):
        lines = [f"{head} size={t.size} vlen={len(t.members)}"]
        for m in t.members:
            line = f"\t{_q(m.name)} type_id={m.type_id} bits_offset={m.bit_offset}"
            if m.bitfield_size:
                line += f" bitfield_size={m.bitfield_size}"
            lines.append(line)
        return lines
    if isinstance(t, (Enum, Enum64)):
        encoding = "SIGNED" if t.signed else "UNSIGNED"
        return [f"{head} encoding={encoding} size={t.size} vlen={len(t.values)}",
                *(f"\t{_q(v.name)} val={v.value}" for v in t.values)]
    if isinstance(t, Fwd):
        return [f"{head} fwd_kind={'union' if t.is_union else 'struct'}"]
    if isinstance(t, Func):
        return [f"{head} type_id={t.type_id} linkage={t.linkage.name.lower()}"]
    if isinstance(t, FuncProto):
        return [f"{head} ret_type_id={t.return_type_id} vlen={len(t.params)}",
                *(f"\t{_q(p.name)} type_id={p.type_id}" for p in t.params)]
    if isinstance(t, Var):
        linkage = {0: "static", 1: "global", 2: "extern"}[int(t.linkage)]
        return [f"{head} type_id={t.type_id}, linkage={linkage}"]
    if isinstance(t, Datasec):
        lines = [f"{head} size={t.size} vlen={len(t.vars)}"]
        for v in t.vars:
            target = btf.types[v.type_id]
            what = f"{target.kind.name} {_q(target.name)}"
            lines.append(f"\ttype_id={v.type_id} offset={v.offset} size={v.size} ({what})")
        return lines
    if isinstance(t, Float):
        return [f"{head} size={t.size}"]
    if isinstance(t, DeclTag):
        return [f"{head} type_id={t.type_id} component_idx={t.component_idx}"]
    raise AssertionError(f"unexpected type {t!r}")


def bpftool_dump(btf: Btf) -> str:
    return "\n".join(line for t in btf.types[1:] for line in _type(btf, t)) + "\n"
