"""`Record`, the base of bee's value classes: construction, defaults, immutability, equality, repr, replace."""

from __future__ import annotations

import copy
import os
import pickle
import subprocess
import sys
from pathlib import Path
from typing import ClassVar

import pytest

from bee.elf.btf_types import Int, IntEncoding, Kind, Member, Struct, Typedef, Union
from bee.records import Record
from tests.helpers import REPO


def _event() -> Struct:
    return Struct(6, "event", 84, 36, 8, (Member("a", 1, 0, 0), Member("b", 1, 32, 0)), False)


def test_fields_of_bases_come_first_and_keywords_work() -> None:
    assert Struct._fields == ("id", "name", "offset", "record_len", "size", "members", "kind_flag")
    by_keyword = Struct(id=6, name="event", offset=84, record_len=36, size=8,
                        members=(Member("a", 1, 0, 0), Member("b", 1, 32, 0)), kind_flag=False)
    assert by_keyword == _event()
    assert Int(1, "int", 0, 16, 4, IntEncoding.SIGNED, bit_offset=0, bits=32).bits == 32


@pytest.mark.parametrize(("args", "kwargs", "message"), [
    ((1, "u8", 0, 12), {}, r"Typedef\(\) is missing 'type_id'"),
    ((1, "u8", 0, 12, 2, 3), {}, r"Typedef\(\) takes 5 arguments but 6 were given"),
    ((1, "u8", 0, 12, 2), {"size": 1}, r"unexpected keyword argument 'size'"),
    ((1, "u8", 0, 12), {"id": 1, "type_id": 2}, r"multiple values for argument 'id'"),
])
def test_wrong_arguments_are_type_errors(args: tuple[object, ...], kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(TypeError, match=message):
        Typedef(*args, **kwargs)


def test_records_are_immutable() -> None:
    event = _event()
    with pytest.raises(AttributeError, match="cannot assign to field 'size'"):
        event.size = 9  # type: ignore[misc]
    with pytest.raises(AttributeError, match="cannot delete field 'name'"):
        del event.name
    with pytest.raises(AttributeError):
        event.extra = 1  # type: ignore[attr-defined]


def test_equality_and_hash_by_class_and_values() -> None:
    assert _event() == _event() and hash(_event()) == hash(_event())
    same_fields_as_union = Union(*(getattr(_event(), name) for name in Struct._fields))
    assert same_fields_as_union != _event()
    assert _event() != _event().replace(size=16)
    assert len({_event(), _event(), same_fields_as_union}) == 2
    assert Typedef(1, "u8", 0, 12, 2) != (1, "u8", 0, 12, 2)


def test_repr_names_the_fields_like_a_dataclass() -> None:
    assert repr(Typedef(12, "u8", 252, 12, 2)) == "Typedef(id=12, name='u8', offset=252, record_len=12, type_id=2)"
    assert repr(Member("a", 1, 0, 0)) == "Member(name='a', type_id=1, bit_offset=0, bitfield_size=0)"


def test_replace_copy_pickle_and_match() -> None:
    event = _event()
    moved = event.replace(offset=0)
    assert moved.offset == 0 and moved.members == event.members and event.offset == 84
    with pytest.raises(TypeError, match="has no field 'sizes'"):
        event.replace(sizes=1)
    assert copy.copy(event) == event and copy.deepcopy(event) == event
    assert pickle.loads(pickle.dumps(event)) == event
    match event:
        case Struct(_, name, size=8):
            assert name == "event"
        case _:
            pytest.fail("no match")
    assert event.kind == Kind.STRUCT and Struct.kind == Kind.STRUCT


def test_fields_are_slots_and_trailing_ones_may_have_defaults() -> None:
    class Sized(Record):
        size: int
        label: str = "?"
        unit: ClassVar[str] = "bytes"

    class Counted(Sized):
        count: int = 0

    assert Sized.__slots__ == ("size", "label") and Counted.__slots__ == ("count",)
    assert Counted(3) == Counted(3, "?", 0) == Counted(size=3, count=0)
    assert repr(Counted(3, count=2)).endswith(".Counted(size=3, label='?', count=2)")  # a local class
    assert Sized.unit == "bytes" and Sized(1).unit == "bytes"
    with pytest.raises(TypeError, match=r"Sized\(\) is missing 'size'"):
        Sized(label="x")


def test_hidden_fields_stay_out_of_the_repr_only() -> None:
    class Blob(Record):
        name: str
        data: bytes

        _hidden: ClassVar[tuple[str, ...]] = ("data",)

    assert repr(Blob("a", b"\x7fELF")).endswith(".Blob(name='a')")
    assert Blob("a", b"1") != Blob("a", b"2")


def test_declaration_mistakes_are_type_errors() -> None:
    with pytest.raises(TypeError, match="a field without a default follows one with a default"):
        class Unordered(Record):
            size: int = 0
            name: str
    with pytest.raises(TypeError, match="a default must be immutable, not list"):
        class Shared(Record):
            items: list[int] = []
    with pytest.raises(TypeError, match=r"declares again the fields \['size'\] of its base"):
        class Base(Record):
            size: int

        class Again(Base):
            size: int


def test_a_keyword_only_constructor_of_its_own_still_copies_pickles_and_replaces() -> None:
    """A subclass may compute defaults per call in its own `__init__` (as `GlobalOptions` does):
    copy and pickle rebuild the fields without calling it, `replace` calls it with every field."""
    from bee.options import GlobalOptions

    options = GlobalOptions(storage=Path("/s"), password="secret", verbose=True)
    assert options.config_dir == Path("~/.bumblebee").expanduser()
    assert "secret" not in repr(options) and "storage=PosixPath('/s')" in repr(options)
    assert pickle.loads(pickle.dumps(options)) == options and copy.deepcopy(options) == options
    moved = options.replace(storage=Path("/t"))
    assert (moved.storage, moved.password, moved.verbose) == (Path("/t"), "secret", True)
    with pytest.raises(TypeError):
        GlobalOptions(Path("/s"))  # type: ignore[misc]


def test_the_type_checker_reads_records_as_frozen_dataclasses(tmp_path: Path) -> None:
    """mypy sees each `Record`'s constructor and its frozen fields (`dataclass_transform`), so a wrong
    call, a missing field and an assignment are type errors; the right calls are not."""
    snippet = tmp_path / "uses_records.py"
    snippet.write_text(
        "from pathlib import Path\n"
        "from bee.elf.btf_types import Member\n"
        "from bee.options import GlobalOptions\n"
        "member = Member('a', 1, bit_offset=0, bitfield_size=0)\n"
        "Member('a', 'one', 0, 0)\n"  # line 5: a str where an int goes
        "Member('a', 1, 0)\n"  # line 6: bitfield_size is missing
        "member.bit_offset = 8\n"  # line 7: frozen
        "GlobalOptions(storage=Path('/s'), verbose=True)\n"
        "GlobalOptions(Path('/s'))\n"  # line 9: its own constructor takes keywords only
        "moved: Member = member.replace(name='b')\n")
    proc = subprocess.run([sys.executable, "-m", "mypy", "--no-error-summary", "--cache-dir", str(tmp_path / "cache"),
                           str(snippet)], capture_output=True, text=True, timeout=300, cwd=tmp_path,
                          env={**os.environ, "MYPYPATH": str(REPO)})
    errors = [line for line in proc.stdout.splitlines() if ": error:" in line]
    assert sorted({int(line.split(":")[1]) for line in errors}) == [5, 6, 7, 9], proc.stdout + proc.stderr
    assert all(line.startswith("uses_records.py:") for line in errors), proc.stdout  # none in bee itself
