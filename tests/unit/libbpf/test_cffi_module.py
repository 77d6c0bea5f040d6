"""The committed out-of-line FFI module: what `python -m bee.libbpf._build` writes, and the same types
as the declarations parsed in-line (the fallback)."""

from __future__ import annotations

from pathlib import Path

import pytest

from bee.libbpf import _build, _ffi
from bee.libbpf._libbpf_cffi import ffi as committed


def test_the_committed_module_is_what_the_generator_writes(tmp_path: Path) -> None:
    target = tmp_path / "_libbpf_cffi.py"
    assert _build.write(target)
    assert target.read_text(encoding="utf-8") == _build.DEFAULT_OUTPUT.read_text(encoding="utf-8"), (
        "bee/libbpf/_libbpf_cffi.py is stale: run `python -m bee.libbpf._build`")
    assert not _build.write(target)  # up to date: not rewritten


def test_the_generator_command_writes_to_the_path_given(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    target = tmp_path / "out.py"
    assert _build.main([str(target)]) == 0
    assert target.read_text(encoding="utf-8") == _build.source()
    assert capsys.readouterr().out == f"wrote {target}\n"


def test_bee_uses_the_committed_module() -> None:
    assert _ffi.ffi is committed


def test_parsing_the_declarations_gives_the_same_types() -> None:
    parsed = _ffi.parse_cdef()
    assert parsed is not committed
    typedefs, structs, unions = committed.list_types()
    assert [sorted(names) for names in parsed.list_types()] == [sorted(typedefs), sorted(structs), sorted(unions)]
    for name in typedefs:
        assert parsed.getctype(name) == committed.getctype(name), name
    for name in structs:
        decl = f"struct {name}"
        fields = parsed.typeof(decl).fields
        if fields is None:  # opaque (struct bpf_object); cffi asserts on `.fields` of the committed one
            with pytest.raises((ValueError, committed.error), match="size"):
                committed.sizeof(decl)
            continue
        assert parsed.sizeof(decl) == committed.sizeof(decl), decl
        assert [f for f, _ in committed.typeof(decl).fields] == [f for f, _ in fields], decl
        for field, _ in fields:
            if field:  # the anonymous union of bpf_link_create_opts has no name to look up
                assert parsed.offsetof(decl, field) == committed.offsetof(decl, field), (decl, field)
