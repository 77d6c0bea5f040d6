"""What bee makes of each map type and output (`bee.elf.exports`), and the table of docs/running.md, which
must be exactly the one the code gives."""

from __future__ import annotations

from bee.elf.exports import NOT_EXPORTED, exported, labels, markdown_table, phrase
from tests.helpers import REPO


def test_phrases() -> None:
    assert phrase("ringbuf", "hist") == "histogram of the event's field `le`"
    assert phrase("lru_hash", "counter") == "counter following the value"
    assert phrase("percpu_array", "gauge") == "gauge set to the value (summed over CPUs)"
    assert phrase("lru_percpu_hash", "linhist") == "histogram counted in the kernel (summed over CPUs)"
    assert phrase("ringbuf", "gauge") == phrase("hash", "hist") == phrase("stack_trace", "counter") == NOT_EXPORTED
    assert not exported("lpm_trie", "print") and exported("array", "print")
    assert labels("array", "counter") == "`index` (or the key's fields); an array of one entry: none"
    assert labels("ringbuf", "gauge") == ""


def test_running_md_shows_the_table_bee_applies() -> None:
    page = (REPO / "docs" / "running.md").read_text()
    assert markdown_table() in page, "update docs/running.md's map type table from bee.elf.exports.markdown_table()"
