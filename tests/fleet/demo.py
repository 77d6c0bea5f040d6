"""`make fleet-demo`: a fleet of runner containers and a Prometheus scraping them, until Ctrl-C or --time.

    python -m tests.fleet.demo [--size 5] [--time SECONDS]

Starts the fleet (tests/fleet/fleet.py) from this checkout's runner image, causes a few execs, opens
and TCP connects, prints what Prometheus answers to some queries and its URL, and then waits. On
Ctrl-C, SIGTERM or after --time seconds it removes the containers, stops Prometheus and deletes its
files. Needs root, Docker and Debian's prometheus.
"""

from __future__ import annotations

import argparse
import signal
import sys
import time
from types import FrameType

from tests.fleet.fleet import PROGRAMS, Fleet
from tests.fleet.prometheus import JOB

EXECS, OPENS, CONNECTS = 3, 5, 4


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def show(fleet: Fleet, expr: str) -> None:
    """Print `expr` and Prometheus's answer, one line per series: runner, instance, value."""
    print(f"\n$ curl -sG '{fleet.prometheus.url}/api/v1/query' --data-urlencode 'query={expr}'")
    for series in sorted(fleet.prometheus.query(expr), key=lambda s: s["metric"].get("runner", "")):
        labels = series["metric"]
        print(f"  {labels.get('runner', '-'):<9} {labels.get('instance', '-'):<16} "
              f"program={labels.get('program', '-'):<9} {series['value'][1]}")


def run(fleet: Fleet, seconds: float | None) -> None:
    """Cause events, show the queries, then wait `seconds` (None: until interrupted)."""
    print(f"runner image {fleet.image}; programs {', '.join(PROGRAMS)}")
    for runner in fleet.runners:
        print(f"  {runner.name}: container {runner.container.name}, metrics on http://{runner.address}/metrics")
    first = fleet.runners[0]
    print(f"\n{first.name}'s config ({first.directory / 'config.yaml'}, /etc/bee/config.yaml in its container):")
    print((first.directory / "config.yaml").read_text().rstrip())
    events = fleet.events
    print(f"\ncausing {EXECS} execs of {events.comm('x')}, {OPENS} opens by {events.comm('o')}, "
          f"{CONNECTS} TCP connects by {events.comm('c')} to 127.0.0.1")
    events.execs(EXECS)
    events.opens(OPENS)
    port = events.connects(CONNECTS)
    execs = f'ebpf_solo_io_counter_execs{{comm="{events.comm("x")}"}}'
    opens = f'ebpf_solo_io_counter_opens{{comm="{events.comm("o")}"}}'
    connects = f'ebpf_solo_io_counter_connects{{comm="{events.comm("c")}",dport="{port}"}}'
    for expr, value in ((execs, EXECS), (opens, OPENS), (connects, CONNECTS)):
        fleet.wait_values(expr, fleet.everyone(value))
    for expr in (f'up{{job="{JOB}"}}', execs, opens, connects, "sum by (program) (bee_program_up)"):
        show(fleet, expr)
    until = "until Ctrl-C" if seconds is None else f"for {seconds:g} seconds"
    print(f"\nPrometheus: {fleet.prometheus.url}/graph  (the fleet runs {until})", flush=True)
    deadline = None if seconds is None else time.monotonic() + seconds
    while deadline is None or time.monotonic() < deadline:
        time.sleep(0.5)


def main(argv: list[str] | None = None) -> int:
    """Run the demo; always leaves nothing behind."""
    parser = argparse.ArgumentParser(prog="python -m tests.fleet.demo", description=__doc__.split("\n")[0])
    parser.add_argument("--size", type=int, default=5, help="number of runner containers (default 5)")
    parser.add_argument("--time", type=float, default=None, help="stop after this many seconds (default: Ctrl-C)")
    options = parser.parse_args(argv)
    for signum in (signal.SIGINT, signal.SIGTERM):  # SIGINT too: a background start may have ignored it
        signal.signal(signum, _interrupt)

    import docker

    from tests.docker.runner_image import ensure_runner_image

    client = docker.from_env()
    image = ensure_runner_image(client)
    fleet = Fleet(client, image, size=options.size)
    try:
        print(f"starting {options.size} runners and Prometheus ...", flush=True)
        fleet.start()
        run(fleet, options.time)
    except KeyboardInterrupt:
        print()
    finally:
        for signum in (signal.SIGINT, signal.SIGTERM):  # a second Ctrl-C does not cut the clean-up short
            signal.signal(signum, signal.SIG_IGN)
        print("stopping: removing the containers, stopping Prometheus, deleting", fleet.workdir, flush=True)
        fleet.close()
        client.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
