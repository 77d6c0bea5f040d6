"""Every seed of every fuzz target, and every input that once broke one (fuzz/regressions/), replayed through
the target: the outcome must be a value or a BeeError, never another exception. Fast and offline; the
coverage-guided runs themselves are in test_fuzz_short.py."""

from __future__ import annotations

import traceback

import pytest

from fuzz.targets import TARGETS, regressions, run_one, seeds


@pytest.mark.parametrize("name", list(TARGETS))
def test_every_seed_and_regression_gives_a_value_or_a_sentence(name: str) -> None:
    inputs = [*seeds(name), *regressions(name)]
    assert inputs, f"target {name} has no seeds"
    broken = []
    for label, data in inputs:
        try:
            refusal = run_one(name, data)
        except Exception:  # noqa: BLE001 - any exception but BeeError is what this test looks for
            broken.append(f"{label}:\n{traceback.format_exc(limit=-3)}")
            continue
        if refusal is not None:
            sentence = refusal.message if hasattr(refusal, "message") else str(refusal)
            assert sentence.strip() and "\n" not in sentence.strip(), (label, sentence)
    assert not broken, "\n".join(broken)


def test_refusals_and_values_both_occur() -> None:
    # the seeds reach both outcomes, so a target that refuses everything (or nothing) shows here
    outcomes = {name: {run_one(name, data) is None for _, data in seeds(name)} for name in TARGETS}
    assert {name for name, seen in outcomes.items() if True not in seen} == set(), outcomes
    always_a_value = {"elf_reader", "ringbuf_btf", "legacy_sections", "event_decoder", "btf", "param_value",
                      "metric_labels"}
    assert {name for name, seen in outcomes.items() if False not in seen} <= always_a_value, outcomes
