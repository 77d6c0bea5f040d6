"""Five runner containers, each with its own config and port, scraped by a real Prometheus server.

Every container sees the same kernel and loads its own copy of each program, so each counts every
event the test causes: Prometheus must give every runner the same exact value.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.fleet.fleet import Fleet
from tests.fleet.prometheus import JOB

pytestmark = [pytest.mark.root, pytest.mark.kernel, pytest.mark.docker]

EXECS, OPENS, CONNECTS = 3, 5, 4


def series(metric: str, **labels: object) -> str:
    """A PromQL selector: `metric{k="v",...}`."""
    return metric + "{" + ",".join(f'{key}="{value}"' for key, value in labels.items()) + "}"


def test_every_runner_is_up_and_counts_every_event(fleet: Callable[..., Fleet]) -> None:
    f = fleet(["execs", "opens", "connects"])
    assert f.prometheus.values(f'up{{job="{JOB}"}}') == f.everyone(1)
    assert f.prometheus.values('count(up{job="bee-fleet"})', by="") == {"": 5}
    assert {s["metric"]["instance"] for s in f.prometheus.query("up")} == {r.address for r in f.runners}
    for program in ("execs", "opens", "connects"):
        assert f.prometheus.values(series("bee_program_up", program=program)) == f.everyone(1)

    f.events.execs(EXECS)
    f.events.opens(OPENS)
    port = f.events.connects(CONNECTS)

    f.wait_values(series("ebpf_solo_io_counter_execs", comm=f.events.comm("x")), f.everyone(EXECS))
    f.wait_values(series("ebpf_solo_io_counter_opens", comm=f.events.comm("o")), f.everyone(OPENS))
    f.wait_values(series("ebpf_solo_io_counter_connects", comm=f.events.comm("c"), dport=port),
                  f.everyone(CONNECTS))
    # each key has one series per runner, labelled with the program that counted it
    for query, program in ((series("ebpf_solo_io_counter_execs", comm=f.events.comm("x")), "execs"),
                           (series("ebpf_solo_io_counter_connects", comm=f.events.comm("c")), "connects")):
        found = f.prometheus.query(query)
        assert sorted(s["metric"]["runner"] for s in found) == sorted(f.everyone(0))
        assert {s["metric"]["program"] for s in found} == {program}


def test_a_reloaded_runner_adds_and_removes_programs_and_keeps_counting(fleet: Callable[..., Fleet]) -> None:
    f = fleet(["execs", "opens"])
    execs = series("ebpf_solo_io_counter_execs", comm=f.events.comm("x"))
    opens = series("ebpf_solo_io_counter_opens", comm=f.events.comm("o"))
    f.events.execs(EXECS)
    f.events.opens(OPENS)
    f.wait_values(execs, f.everyone(EXECS))
    f.wait_values(opens, f.everyone(OPENS))

    changed = f.runners[0]
    f.configure(changed, ["opens", "connects"])  # execs removed, connects added, opens kept
    f.wait(lambda: any(line.startswith("bee: reload: ") for line in changed.logs().splitlines()),
           f"{changed.name} to reload its config", timeout=30, runner=changed)
    assert not any(line.startswith("bee: reload refused: ") for line in changed.logs().splitlines())
    f.wait(changed.healthy, f"{changed.name} to be healthy after the reload", runner=changed)

    # the removed program's series are gone from the changed runner only; the added program is up
    f.wait_values(execs, f.everyone(EXECS, but=[changed]))
    f.wait_values(series("bee_program_up", program="execs"), f.everyone(1, but=[changed]))
    f.wait_values(series("bee_program_up", program="connects"), {changed.name: 1})
    f.wait_values(series("bee_program_up", program="opens"), f.everyone(1))

    f.events.execs(2)
    f.events.opens(2)
    port = f.events.connects(CONNECTS)
    f.wait_values(series("ebpf_solo_io_counter_connects", comm=f.events.comm("c"), dport=port),
                  {changed.name: CONNECTS})
    f.wait_values(execs, f.everyone(EXECS + 2, but=[changed]))
    # the kept program's counters went on through the reload: no reset anywhere, the changed runner included
    f.wait_values(opens, f.everyone(OPENS + 2))
    assert f.prometheus.values(f"resets({opens}[10m])") == f.everyone(0)
