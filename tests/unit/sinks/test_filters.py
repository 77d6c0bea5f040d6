"""`-f map,key,regex` filters."""

from __future__ import annotations

import pytest

from bee.errors import UsageError
from bee.sinks.filters import FilterSet, parse_filter


def test_parse() -> None:
    f = parse_filter("print_events,comm,^cu")
    assert (f.map_name, f.key, f.pattern.pattern, f.text) == ("print_events", "comm", "^cu", "print_events,comm,^cu")


def test_regex_may_contain_commas() -> None:
    f = parse_filter("m,k,a{1,3},b")
    assert f.pattern.pattern == "a{1,3},b"
    assert f.matches({"k": "xaa,b"})
    assert not f.matches({"k": "b"})


def test_empty_regex_matches_everything() -> None:
    assert parse_filter("m,k,").matches({"k": ""})


@pytest.mark.parametrize("text", ["", "m", "m,k", ",k,x", "m,,x", " ,k,x"])
def test_wrong_shape(text: str) -> None:
    with pytest.raises(UsageError) as err:
        parse_filter(text)
    assert str(err.value) == f"invalid filter {text!r}: expected map_name,key_name,regex"


def test_bad_regex_names_the_filter_and_the_error() -> None:
    with pytest.raises(UsageError) as err:
        parse_filter("print_events,comm,(cu")
    assert str(err.value) == (
        "invalid filter 'print_events,comm,(cu': bad regex '(cu' (missing ), unterminated subpattern at position 0)"
    )


def test_matches_searches_the_label_value() -> None:
    filters = FilterSet.parse(["print_events,pid,^12$", "print_events,ok,true", "other,x,y"])
    assert filters.matches("print_events", {"pid": 12, "ok": True})
    assert not filters.matches("print_events", {"pid": 123, "ok": True})
    assert not filters.matches("print_events", {"pid": 12, "ok": False})
    assert not filters.matches("print_events", {"ok": True})  # no such key: no match
    assert filters.matches("unfiltered_map", {"pid": 1})
    assert not filters.matches("other", {"x": "z"})


def test_search_not_fullmatch_and_lists() -> None:
    filters = FilterSet([parse_filter("m,addr,0\\.0\\.1"), parse_filter("m,args,\\[1,2")])
    assert filters.matches("m", {"addr": "10.0.0.1", "args": [1, 2, 3]})


def test_for_map_and_bool() -> None:
    filters = FilterSet.parse(["a,k,1", "b,k,2", "a,j,3"])
    assert [f.text for f in filters.for_map("a")] == ["a,k,1", "a,j,3"]
    assert filters.for_map("c") == ()
    assert filters
    assert not FilterSet()


def test_validate() -> None:
    filters = FilterSet.parse(["print_events,comm,x"])
    filters.validate({"print_events": ["pid", "comm"]})
    with pytest.raises(UsageError) as err:
        filters.validate({"print_exits": ["pid"]})
    assert str(err.value) == (
        "filter 'print_events,comm,x' names map 'print_events', which this program does not output (maps: print_exits)"
    )
    with pytest.raises(UsageError) as err:
        filters.validate({"print_events": ["pid"]})
    assert str(err.value) == (
        "filter 'print_events,comm,x' names field 'comm', which map 'print_events' does not have (fields: pid)"
    )
