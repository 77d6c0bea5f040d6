"""The HELP text of a map's metric family (bee.sinks.families.map_help)."""

from __future__ import annotations

from bee.sinks.families import map_help


def test_help_names_the_programs_words_and_unit_first() -> None:
    assert map_help("counter_x", "counter", "hash") == "counter from BPF map counter_x (hash)"
    assert map_help("counter_x", "counter", "hash", "Opens by command", "opens") == (
        "Opens by command (unit: opens); counter from BPF map counter_x (hash)")
    assert map_help("hist_x", "histogram", "ringbuf", None, "us") == (
        "(unit: us); histogram from BPF map hist_x (ringbuf)")
