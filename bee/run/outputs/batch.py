"""The batch path of ring outputs: one way from ring bytes to an output's effect, whatever the output.

Every ring output has a `BatchPath`: a `print_` map's lines formatted in bulk for the event log, a
`counter_`/`hist_` map's events grouped by label bytes (`bee.decode.grouping`), or, where a view or a
filter needs records, the batch decoded in one generated loop. Each takes a whole batch, from
libbpf's samples (`from_samples`) or from ring records read in place (`make_records()`, x86-64: see
`bee.libbpf.ringbuf`), to one result that `apply` hands to the output (lines written; counts added;
records handled and shown). `RingOutput` (bee.run.outputs.ring) drives every path the same way, and
has the one fallback: a batch a generated function raises on (before any effect) is decoded one
event at a time (the record path), counted and logged once.
"""

from __future__ import annotations

from collections.abc import Callable

from bee.records import Record

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing: see docs/dev/startup.md
if TYPE_CHECKING:
    from typing import Any

    #: samples → (result, how many were too short to decode)
    FromSamples = Callable[[list[bytes]], tuple[Any, int]]
    #: region of records of one sample size → (result, how many records it took); see RecordReader
    FromRecords = Callable[[memoryview], tuple[Any, int]]


class BatchPath(Record):
    """The batch functions of one ring output (module docstring). `make_records` makes the in-place
    reader on first need, None when this output cannot read records in place."""

    size: int  # the sample size the functions expect
    from_samples: FromSamples
    make_records: Callable[[], FromRecords | None]
    apply: Callable[[Any], None]


def lazily(make: Callable[[], Callable[..., Any]]) -> Callable[..., Any]:
    """A function that calls what `make()` returns, made at its first call (compiling costs start-up
    time that a map never read this way should not pay)."""
    made: list[Callable[..., Any]] = []

    def call(*args: Any) -> Any:
        if not made:
            made.append(make())
        return made[0](*args)

    return call
