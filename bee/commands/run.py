"""`bee run BPF_PROGRAM...` through click (a plain command line skips click: see `bee.commands.fastparse`)."""

from __future__ import annotations

import click

from bee.commands._shared import click_options, complete_program
from bee.commands.params import RUN_OPTIONS
from bee.options import GlobalOptions
from bee.run import start

HELP = """Load each BPF_PROGRAM (a file, or a reference in the local store, pulled from its registry
when it is not stored yet: see --pull), attach its programs and export its maps until interrupted.

Several BPF_PROGRAMs run in one process with one metrics endpoint and one event log. Each is
named by its file name without extension or its reference's last path part (two of the same
name are refused); event lines then say program=NAME, every ebpf_solo_io_* series gets a
program label, and /healthz answers JSON (200 only when all are attached). One that fails to
start is reported and the others go on, unless --fail-fast.

--param NAME=VALUE sets a parameter of the program, a `const volatile` global (`bee describe`
lists them with their types and defaults), before it is loaded: the verifier then sees the value
as a constant. Integers take decimal, 0x hex or a k/M/G suffix (x1000, x10^6, x10^9); bool
true/false, yes/no, 1/0; enums a name or value; char[N] text of at most N-1 bytes; ipv4_addr and
ipv6_addr an address; duration 10ms, 1.5s, 250us, 100ns; arrays comma-separated values.
With several programs, each must have the parameter.

With --config FILE, the programs and their options (filters, histogram buckets, interface,
pins, pull policy, name, parameters) and the runner's (metrics address and port, poll interval, format,
fail-fast) come from a YAML runner config instead (see docs/running.md); the run options it
sets cannot be given too.

\b
Maps are read by name prefix (or, in older programs, by section .maps.<kind>):
  print_     ring buffer: every event; hash, array: entries that changed
  counter_   ring buffer: +1 per event; hash, array: the value   counter
  gauge_     hash, array: the value                              gauge
  hist_      ring buffer: observes field `le` (-k map,field)     histogram
  log2hist_  counted in the kernel: power-of-2 slots             histogram
  linhist_   counted in the kernel: equal-width slots            histogram
Any other map with --output MAP=KIND. Metrics are named ebpf_solo_io_<map>,
served on :9091/metrics (--prom-port).

\b
bee run opensnoop:v1 --no-tty --format json
bee run probe.o -f print_events,comm,^bash$
bee run opensnoop.o --param target_pid=1234 --param target_comm=bash
bee run xdp_counter.o --iface eth0
bee run opensnoop:v1 execsnoop.o --no-tty
bee run opensnoop:v1 --no-tty --bpf-stats
bee run --config runner.yaml --no-tty
"""


@click.command("run", help=HELP, short_help="Load, attach and export a BPF program.")
@click.argument("bpf_program", nargs=-1, metavar="BPF_PROGRAM...", shell_complete=complete_program)
@click_options(RUN_OPTIONS)
@click.pass_context
def run_command(ctx: click.Context, bpf_program: tuple[str, ...], **values: object) -> None:
    if not bpf_program and values["runner_config"] is None:  # click's own message, as when it was required
        raise click.MissingParameter(ctx=ctx, param=next(p for p in ctx.command.params if p.name == "bpf_program"))
    options: GlobalOptions = ctx.obj
    start.start_run(options, bpf_program, values)
