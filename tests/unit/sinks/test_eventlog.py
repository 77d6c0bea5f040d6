"""The event log writer: formats, ordering, drops under pressure, broken pipes."""

from __future__ import annotations

import calendar
import contextlib
import io
import json
import os
import threading
import time

import pytest

from bee.errors import UsageError
from bee.sinks.eventlog import EventLog
from bee.sinks.lines import format_time, text_value

# 2026-11-25T18:00:00.123456Z
TS = calendar.timegm((2026, 11, 25, 18, 0, 0)) + 0.123456


def test_time_format() -> None:
    assert format_time(TS) == "2026-11-25T18:00:00.123456Z"
    assert format_time(calendar.timegm((2026, 1, 2, 3, 4, 5))) == "2026-01-02T03:04:05.000000Z"
    assert format_time(calendar.timegm((2026, 1, 2, 3, 4, 5)) + 0.9999996) == "2026-01-02T03:04:06.000000Z"


def test_json_lines_parse_back_exactly() -> None:
    out = io.StringIO()
    record = {
        "pid": 4242,
        "big": 2**64 - 1,
        "ok": True,
        "comm": 'cürl "x"\n',
        "saddr": "10.0.0.1",
        "args": [1, 2, 3],
        "ratio": 0.5,
        "dur": "1.5ms",
        "empty": "",
    }
    log = EventLog(out, fmt="json")
    assert log.emit("print_events", record, TS)
    log.close()
    text = out.getvalue()
    assert text.endswith("\n") and text.count("\n") == 1
    assert "cürl" in text  # non-ASCII kept as is
    assert json.loads(text) == {"time": "2026-11-25T18:00:00.123456Z", "map": "print_events", "event": record}
    assert list(json.loads(text)["event"]) == list(record)  # field order kept
    assert text.startswith('{"time": "2026-11-25T18:00:00.123456Z", "map": "print_events", "event": {"pid": 4242, ')


def test_json_non_finite_floats_become_strings() -> None:
    out = io.StringIO()
    with EventLog(out, fmt="json") as log:
        log.emit("m", {"x": float("nan"), "y": [float("inf")], "z": 1}, TS)
    assert json.loads(out.getvalue())["event"] == {"x": "nan", "y": ["inf"], "z": 1}


def test_text_lines_quote_like_logfmt() -> None:
    out = io.StringIO()
    with EventLog(out, fmt="text") as log:
        log.emit(
            "print_events",
            {
                "pid": 7,
                "ok": False,
                "comm": "curl",
                "path": "/tmp/a b",
                "kv": "a=b",
                "q": 'say "hi"',
                "nl": "x\ny",
                "empty": "",
                "args": [1, 2],
                "back": "c:\\x",
                "dur": "1.5ms",
            },
            TS,
        )
    assert out.getvalue() == (
        "2026-11-25T18:00:00.123456Z print_events pid=7 ok=false comm=curl "
        'path="/tmp/a b" kv="a=b" q="say \\"hi\\"" nl="x\\ny" empty="" args=[1,2] back=c:\\x dur=1.5ms\n'
    )


def test_text_value() -> None:
    assert text_value(12) == "12"
    assert text_value("a b") == '"a b"'
    assert text_value("tab\there") == '"tab\\there"'
    assert text_value(["a", "b"]) == '"[\\"a\\",\\"b\\"]"'


def test_binary_streams_get_utf8() -> None:
    out = io.BytesIO()
    with EventLog(out, fmt="text") as log:
        log.emit("m", {"comm": "cürl"}, TS)
    assert out.getvalue() == "2026-11-25T18:00:00.123456Z m comm=cürl\n".encode()


def test_order_is_preserved_and_close_flushes_everything() -> None:
    out = io.StringIO()
    log = EventLog(out, fmt="json", queue_size=100_000)
    for i in range(20_000):
        assert log.emit("m", {"seq": i})
    log.close()
    seqs = [json.loads(line)["event"]["seq"] for line in out.getvalue().splitlines()]
    assert seqs == list(range(20_000))
    assert (log.written, log.lost, log.pending) == (20_000, 0, 0)


def test_writes_in_batches() -> None:
    release = threading.Event()
    writes: list[int] = []

    class Gated(io.StringIO):
        def write(self, s: str) -> int:
            release.wait(10)  # hold the first write until every event is queued
            writes.append(s.count("\n"))
            return super().write(s)

    out = Gated()
    log = EventLog(out, fmt="text", queue_size=100_000)
    for i in range(10_000):
        log.emit("m", {"seq": i})
    release.set()
    log.close()
    assert sum(writes) == 10_000
    assert len(writes) <= 4  # one write per batch of up to 4096 lines, never one per line


def test_few_writes_at_a_moderate_rate() -> None:
    writes: list[int] = []

    class Counting(io.StringIO):
        def write(self, s: str) -> int:
            writes.append(s.count("\n"))
            return super().write(s)

    log = EventLog(Counting(), fmt="text")
    for i in range(2_000):
        log.emit("m", {"seq": i})
        if i % 100 == 0:
            time.sleep(0.001)
    log.close()
    assert sum(writes) == 2_000
    assert len(writes) < 500


def test_full_queue_drops_and_never_blocks() -> None:
    read_fd, write_fd = os.pipe()
    os.set_blocking(write_fd, False)
    with contextlib.suppress(BlockingIOError):
        while True:  # fill the pipe: nobody reads it, so the writer's first write blocks
            os.write(write_fd, b"x" * 65536)
    os.set_blocking(write_fd, True)
    stream = os.fdopen(write_fd, "wb")
    log = EventLog(stream, fmt="text", queue_size=64)
    record = {"pid": 1, "comm": "x" * 200, "saddr": "10.0.0.1", "daddr": "10.0.0.2", "dur": "1.5ms"}
    try:
        start = time.monotonic()
        slowest = 0.0
        for _ in range(20_000):
            t = time.monotonic()
            log.emit("print_events", record)
            slowest = max(slowest, time.monotonic() - t)
        elapsed = time.monotonic() - start
        assert log.lost > 0
        assert log.lost_by_map() == {"print_events": log.lost}
        assert elapsed < 5, f"emit blocked: {elapsed:.1f}s for 20000 events"
        assert slowest < 0.5, f"one emit took {slowest:.3f}s"
        assert log.close(timeout=0.2) is False  # the writer is stuck in write(); close does not hang
    finally:
        os.close(read_fd)  # the blocked write now fails with EPIPE
        assert log.close(timeout=10) is True
        with contextlib.suppress(BrokenPipeError):
            stream.close()
    assert log.broken
    assert (log.written, log.lost) == (0, 20_000)


def test_broken_pipe_ends_the_writer_quietly() -> None:
    read_fd, write_fd = os.pipe()
    os.close(read_fd)
    stream = os.fdopen(write_fd, "wb")
    log = EventLog(stream, fmt="json")
    assert log.emit("m", {"a": 1})
    deadline = time.monotonic() + 5
    while not log.broken and time.monotonic() < deadline:
        time.sleep(0.01)
    assert log.broken and log.error is None
    assert not log.emit("m", {"a": 2})
    assert log.close() is True
    assert log.close() is True
    assert (log.written, log.lost) == (0, 2)
    with contextlib.suppress(BrokenPipeError):
        stream.close()


def test_other_write_errors_are_kept() -> None:
    class Failing(io.StringIO):
        def write(self, s: str) -> int:
            raise OSError(5, "Input/output error")

    log = EventLog(Failing(), fmt="text")
    log.emit("m", {"a": 1})
    log.close()
    assert isinstance(log.error, OSError) and not log.broken
    assert log.lost == 1


def test_a_closed_stream_is_an_error_not_a_crash() -> None:
    out = io.StringIO()
    out.close()
    log = EventLog(out, fmt="json")
    log.emit("m", {"a": 1})
    assert log.close() is True
    assert isinstance(log.error, ValueError)
    assert log.lost == 1


def test_a_record_that_cannot_be_formatted_is_dropped_alone() -> None:
    out = io.StringIO()
    with EventLog(out, fmt="json") as log:
        log.emit("m", {"seq": 1}, TS)
        log.emit("m", {"seq": 2}, float("nan"))  # no time for it
        log.emit("m", {"seq": 3}, TS)
    assert [json.loads(line)["event"]["seq"] for line in out.getvalue().splitlines()] == [1, 3]
    assert (log.written, log.lost) == (2, 1)


def test_emit_after_close_counts_as_lost() -> None:
    out = io.StringIO()
    log = EventLog(out)
    log.close()
    assert not log.emit("m", {"a": 1})
    assert log.lost_by_map() == {"m": 1}
    assert out.getvalue() == ""


def test_concurrent_producers() -> None:
    out = io.StringIO()
    log = EventLog(out, fmt="json", queue_size=1_000_000)

    def produce(n: int) -> None:
        for i in range(5_000):
            log.emit(f"m{n}", {"seq": i})

    threads = [threading.Thread(target=produce, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    log.close()
    per_map: dict[str, list[int]] = {}
    for line in out.getvalue().splitlines():
        obj = json.loads(line)
        per_map.setdefault(obj["map"], []).append(obj["event"]["seq"])
    assert per_map == {f"m{n}": list(range(5_000)) for n in range(4)}


def test_unknown_format() -> None:
    with pytest.raises(UsageError, match="unknown event log format 'yaml'; choose text or json"):
        EventLog(io.StringIO(), fmt="yaml")  # type: ignore[arg-type]


def _lines(start: int, count: int) -> list[str]:
    return [f"line {i}\n" for i in range(start, start + count)]


def test_emitted_lines_and_records_keep_their_order() -> None:
    out = io.StringIO()
    log = EventLog(out, fmt="text", queue_size=100_000)
    assert log.emit_lines("m", _lines(0, 3)) == 3
    assert log.emit("m", {"seq": 3}, TS)
    assert log.emit_lines("m", _lines(4, 2)) == 2
    assert log.emit_lines("m", []) == 0
    log.close()
    assert out.getvalue().splitlines() == [
        "line 0", "line 1", "line 2", "2026-11-25T18:00:00.123456Z m seq=3", "line 4", "line 5"]
    assert (log.written, log.lost, log.pending) == (6, 0, 0)


def test_line_chunks_count_against_the_queue_bound() -> None:
    release = threading.Event()

    class Gated(io.StringIO):
        def write(self, s: str) -> int:
            release.wait(10)
            return super().write(s)

    out = Gated()
    log = EventLog(out, fmt="text", queue_size=10)
    assert log.emit_lines("a", _lines(0, 1)) == 1  # the writer takes it and blocks in write
    deadline = time.monotonic() + 5
    while log.pending and time.monotonic() < deadline:
        time.sleep(0.001)
    assert log.emit_lines("a", _lines(1, 6)) == 6
    assert log.pending == 6
    assert log.emit_lines("b", _lines(7, 6)) == 4  # room for 4 of 6: the rest is lost, counted
    assert not log.emit("c", {"seq": 13})  # full
    assert log.emit_lines("b", _lines(14, 1)) == 0
    assert log.pending == 10
    assert log.lost_by_map() == {"b": 3, "c": 1}
    release.set()
    log.close()
    assert out.getvalue().splitlines() == [f"line {i}" for i in range(11)]
    assert (log.written, log.lost, log.pending) == (11, 4, 0)


def test_queued_line_chunks_are_counted_lost_when_the_output_breaks() -> None:
    release = threading.Event()

    class Breaking(io.StringIO):
        def write(self, s: str) -> int:
            release.wait(10)
            raise BrokenPipeError

    log = EventLog(Breaking(), fmt="json", queue_size=1_000)
    log.emit_lines("a", _lines(0, 5))
    deadline = time.monotonic() + 5
    while log.pending and time.monotonic() < deadline:
        time.sleep(0.001)
    log.emit_lines("a", _lines(5, 7))
    log.emit("b", {"seq": 1})
    release.set()
    assert log.close(timeout=10)
    assert log.broken
    assert log.lost_by_map() == {"a": 12, "b": 1}
    assert (log.written, log.pending) == (0, 0)
    assert log.emit_lines("a", _lines(0, 2)) == 0
    assert log.lost == 15


def test_compiled_text_lines_quote_exactly_like_text_value() -> None:
    tricky = ["", " ", "a b", "a=b", 'a"b', "\t", "x\x7f", "\x00", "\x1f", "\xa0", "é", "a\u2028b", "a\x85b",
              "\u3000", "\u200b", "plain", "c:\\x", "日本", "tab\there", "=", '"', "ok-é=1", "\U0001f600"]
    out = io.StringIO()
    with EventLog(out, fmt="text") as log:
        for value in tricky:
            log.emit("m", {"s": value, "n": 1}, TS)  # one shape: every line after the first is compiled
    lines = out.getvalue().split("\n")[:-1]
    assert lines == [f"2026-11-25T18:00:00.123456Z m s={text_value(value)} n=1" for value in tricky]
    assert lines[1] == '2026-11-25T18:00:00.123456Z m s=" " n=1'
    assert lines[9] == '2026-11-25T18:00:00.123456Z m s="\xa0" n=1'  # no-break space: whitespace
    assert lines[10] == "2026-11-25T18:00:00.123456Z m s=é n=1"
