"""A program the verifier rejects: one summary line naming it, the full log and its tail."""

from __future__ import annotations

import errno
from collections.abc import Callable

import pytest

from bee.errors import BeeError
from bee.libbpf import BpfObject, VerifierError
from bee.libbpf.errors import _last_meaningful_line


def test_verifier_rejection_names_the_program_and_keeps_the_log(
        root: None, open_object: Callable[..., BpfObject]) -> None:
    obj = open_object("lb_reject")
    with pytest.raises(VerifierError) as caught:
        obj.load()
    error = caught.value
    assert isinstance(error, BeeError)
    assert (error.program, error.section, error.errno) == ("lb_out_of_bounds", "raw_tracepoint/sys_exit",
                                                           errno.EACCES)
    assert "invalid access to map value, value_size=8" in error.log
    assert error.log.startswith("0: ")  # the whole log, from the first instruction
    tail = error.tail.splitlines()
    assert 1 <= len(tail) <= VerifierError.TAIL_LINES
    assert tail == [line for line in error.log.splitlines() if line.strip()][-len(tail):]
    reason = _last_meaningful_line(error.log)
    assert reason and not reason.startswith("processed ")
    assert error.summary() == str(error) == (
        f"program lb_out_of_bounds (section raw_tracepoint/sys_exit) was rejected by the verifier: {reason}")
    assert error.detail == error.tail
    assert not obj.program("lb_fine").loaded  # the whole load failed


def test_summary_skips_the_statistics_lines() -> None:
    log = ("0: R1=ctx() R10=fp0\n"
           "invalid access to map value, value_size=8 off=2040 size=8\n"
           "R7 max value is outside of the allowed memory range\n"
           "processed 13 insns (limit 1000000) max_states_per_insn 0 total_states 1\n\n")
    error = VerifierError("p", "s", errno.EACCES, log)
    assert error.summary().endswith(": R7 max value is outside of the allowed memory range")
    assert error.tail.splitlines()[-1].startswith("processed 13 insns")


def test_summary_of_an_empty_log_falls_back_to_the_errno() -> None:
    assert VerifierError("p", "s", errno.EINVAL, "").summary() == (
        "program p (section s) was rejected by the verifier: Invalid argument")
