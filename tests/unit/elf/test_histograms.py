"""Histograms counted in the kernel (`bee.elf.histograms`): bucket bounds, value layouts read from BTF, a
linear histogram's width and start read from the object's globals, and every declaration refused."""

from __future__ import annotations

import pytest

from bee.elf import load_spec
from bee.elf.histograms import (
    LINEAR,
    LOG2,
    HistogramLayout,
    histogram_layout,
    linear_bounds,
    log2_bounds,
    parameter_value,
)
from bee.elf.spec import ObjectSpec
from bee.elf.variables import parameters
from bee.errors import ElfError
from tests.goldens import object_bytes


def _spec(name: str) -> ObjectSpec:
    return load_spec(object_bytes(name), name)


def _layout(spec: ObjectSpec, name: str) -> HistogramLayout:
    m = spec.map(name)
    assert m is not None and m.tracked
    return histogram_layout(spec, m)


def test_log2_bounds_are_the_largest_integer_of_each_slot() -> None:
    # slot i holds 2^i .. 2^(i+1)-1 (slot 0 also 0); the last slot is +Inf only
    assert log2_bounds(1) == ()
    assert log2_bounds(5) == (1, 3, 7, 15)
    assert log2_bounds(64)[-1] == 2**63 - 1 and len(log2_bounds(64)) == 63


def test_linear_bounds() -> None:
    assert linear_bounds(4, 0, 10) == (9, 19, 29)
    assert linear_bounds(6, 1, 2) == (2, 4, 6, 8, 10)
    assert linear_bounds(3, -50, 25) == (-26, -1)
    assert linear_bounds(1, 5, 5) == ()
    with pytest.raises(ValueError, match="width must be at least 1, not 0"):
        linear_bounds(3, 0, 0)


def test_layouts_of_the_run_test_program() -> None:
    spec = _spec("hist_kernel")
    # struct { u64 slots[20]; u64 sum; } in a hash
    assert _layout(spec, "log2hist_values") == HistogramLayout(LOG2, 20, 0, 8, False, 160, 8, False)
    # u64[8] in a per-CPU hash: no sum
    assert _layout(spec, "log2hist_pcpu") == HistogramLayout(LOG2, 8, 0, 8, False)
    # a typedef of u32 counts, width 2 and start 1 from `const volatile` globals
    values = _layout(spec, "linhist_values")
    assert values == HistogramLayout(LINEAR, 6, 0, 4, False, start=1, width=2)
    assert values.bounds == (2, 4, 6, 8, 10) and not values.has_sum
    # the sum first, the counts after it; a u32 width and no start (0)
    keyed = _layout(spec, "linhist_keyed")
    assert keyed == HistogramLayout(LINEAR, 4, 8, 8, False, 0, 8, False, start=0, width=500)
    assert keyed.bounds == (499, 999, 1499)
    assert keyed.summary() == "linear, 4 slots of width 500 from 0 (le 499, 999, 1499, +Inf), with sum"
    assert _layout(spec, "log2hist_values").summary() == (
        "log2, 20 slots (le 1, 3, 7, ..., 524287, +Inf), with sum")


def test_layouts_declared_right_and_wrong() -> None:
    spec = _spec("spec_hist")
    assert _layout(spec, "log2hist_ok") == HistogramLayout(LOG2, 3, 8, 4, False, 0, 8, False)
    ok = _layout(spec, "linhist_ok")  # u16 width, s32 start: the globals' own sizes and signs
    assert (ok.start, ok.width, ok.bounds) == (-50, 25, (-26, -1, 24, 49))
    errors = {}
    for name in ("linhist_nowidth", "linhist_zero", "log2hist_other", "log2hist_scalar"):
        with pytest.raises(ElfError) as caught:
            _layout(spec, name)
        errors[name] = caught.value.message
    shape = ("a {}_ map's value is an array of integer counts (u64 slots[N]) or a struct of one such array and an "
             "optional integer `sum`, not ")
    assert errors == {
        "linhist_nowidth": "map linhist_nowidth: declare its slot width as a parameter the program reads, "
                           "const volatile u64 linhist_nowidth_width = N;",
        "linhist_zero": "map linhist_zero: its slot width linhist_zero_width is 0; it must be at least 1",
        "log2hist_other": "map log2hist_other: " + shape.format("log2hist") + "struct other_member (member other "
                          "is neither the array of counts nor `sum`)",
        "log2hist_scalar": "map log2hist_scalar: " + shape.format("log2hist") + "u64",
    }


def test_width_and_start_are_parameters_a_run_may_set() -> None:
    spec = _spec("spec_hist")
    assert parameter_value(spec, "linhist_ok_start") == -50
    assert parameter_value(spec, "linhist_zero_width") == 0
    assert parameter_value(spec, "nothing_of_that_name") is None
    found = parameters(spec)
    assert found is not None
    width, start = found.get("linhist_ok_width"), found.get("linhist_ok_start")
    assert width is not None and start is not None
    image = bytearray(found.image)  # what `--param linhist_ok_width=7 --param linhist_ok_start=3` gives
    image[width.offset:width.offset + 2] = (7).to_bytes(2, "little")
    image[start.offset:start.offset + 4] = (3).to_bytes(4, "little", signed=True)
    m = spec.map("linhist_ok")
    assert m is not None
    assert histogram_layout(spec, m, bytes(image)).bounds == (9, 16, 23, 30)
    assert histogram_layout(spec, m).bounds == (-26, -1, 24, 49)  # the object's own values


def test_maps_named_for_an_output_their_type_cannot_give() -> None:
    spec = _spec("spec_hist")
    notes = {m.name: m.unsupported for m in spec.maps if not m.tracked}
    assert notes == {
        "hist_on_hash": "map hist_on_hash: type hash is not supported for output hist (a hist_ map is a ring buffer; "
                        "a histogram kept in a hash or array map is named log2hist_ or linhist_)",
        "log2hist_ring": "map log2hist_ring: type ringbuf is not supported for output log2hist (a ring buffer gives "
                         "print, counter or hist)",
        "counter_stacks": "map counter_stacks: type stack_trace is not supported for output counter (print, "
                          "counter, gauge, log2hist and linhist need a hash or array map, hist a ring buffer)",
    }
    outputs = {m.name: m.output for m in spec.maps}
    assert outputs["linhist_ok"] == "linhist" and outputs["log2hist_ok"] == "log2hist"


def test_only_a_prefix_names_a_histogram_counted_in_the_kernel() -> None:
    from bee.elf.maps import classify

    assert classify("log2hist_lat", ".maps") == ("log2hist", "prefix")
    assert classify("linhist_size", ".maps") == ("linhist", "prefix")
    assert classify("lat", ".maps.log2hist") == (None, None)  # Bumblebee's sections know print/counter/gauge/hist
    assert classify("lat", ".maps.hist") == ("hist", "section")
