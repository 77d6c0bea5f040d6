"""`bee run BPF_PROGRAM`."""

from __future__ import annotations

import logging
from pathlib import Path

import click

from bee.commands._shared import complete_store_ref
from bee.options import GlobalOptions
from bee.run.settings import DEFAULT_POLL_INTERVAL, DEFAULT_PROM_PORT

HELP = """Load BPF_PROGRAM (a file, or a reference in the local store, pulled from its registry
when it is not stored yet: see --pull), attach its programs and export its maps until interrupted.

\b
Maps are read by name prefix (or, in older programs, by section .maps.<kind>):
  print_    ring buffer: every event is printed; hash: entries whose value changed
  counter_  ring buffer: +1 per event; hash: follows the value      -> Prometheus counter
  gauge_    hash: the value                                          -> Prometheus gauge
  hist_     ring buffer: observes field `le` (or -k map,field)       -> Prometheus histogram
Metrics are served on :9091/metrics (--prom-port), named ebpf_solo_io_<map name>.

\b
bee run opensnoop:v1 --no-tty --format json
bee run probe.o -f print_events,comm,^bash$
bee run xdp_counter.o --iface eth0
"""


@click.command("run", help=HELP, short_help="Load, attach and export a BPF program.")
@click.argument("bpf_program", shell_complete=complete_store_ref)
@click.option("-d", "--debug", is_flag=True, help="Show libbpf's log and tracebacks.")
@click.option("-f", "--filter", "filters", multiple=True, metavar="MAP,FIELD,REGEX",
              help="Print only events whose FIELD matches REGEX; repeatable.")
@click.option("-b", "--hist-buckets", multiple=True, metavar="MAP,[B1,B2,...]",
              help="Histogram buckets of a hist_ map.")
@click.option("-k", "--hist-value-key", multiple=True, metavar="MAP,FIELD",
              help="Field a hist_ map observes [default: le].")
@click.option("--no-tty", is_flag=True, help="Log events to stdout instead of an interactive view.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True,
              help="Event log format.")
@click.option("--prom-port", type=click.IntRange(0, 65535), default=DEFAULT_PROM_PORT, show_default=True,
              help="Port of the metrics endpoint (0: any free port).")
@click.option("--prom-addr", help="Address of the metrics endpoint [default: every interface].")
@click.option("--poll-interval", type=click.FloatRange(0.05, 3600), default=DEFAULT_POLL_INTERVAL,
              show_default=True, help="Seconds between reads of hash maps.")
@click.option("--iface", help="Network interface for XDP and TC programs.")
@click.option("--pin-maps", type=click.Path(path_type=Path, file_okay=False), help="Pin maps under this bpffs dir.")
@click.option("--pin-progs", type=click.Path(path_type=Path, file_okay=False),
              help="Pin programs under this bpffs dir.")
@click.option("--pull", "pull_policy", type=click.Choice(["missing", "always", "never"]), default="missing",
              show_default=True, help="Pull a reference from its registry: when not stored, before every run, "
              "or never.")
@click.pass_obj
def run_command(options: GlobalOptions, bpf_program: str, debug: bool, filters: tuple[str, ...],
                hist_buckets: tuple[str, ...], hist_value_key: tuple[str, ...], no_tty: bool, fmt: str,
                prom_port: int, prom_addr: str | None, poll_interval: float, iface: str | None,
                pin_maps: Path | None, pin_progs: Path | None, pull_policy: str) -> None:
    from bee.run.runner import Runner
    from bee.run.settings import RunSettings, parse_hist_buckets, parse_value_keys
    from bee.run.source import pull_for_run

    logging.basicConfig(level=logging.DEBUG if (debug or options.debug) else
                        logging.INFO if options.verbose else logging.WARNING,
                        format="bee: %(levelname)s: %(message)s")
    settings = RunSettings(
        program=bpf_program, no_tty=no_tty, fmt=fmt, filters=filters,
        hist_buckets=parse_hist_buckets(hist_buckets), hist_value_keys=parse_value_keys(hist_value_key),
        prom_host=prom_addr, prom_port=prom_port, poll_interval=poll_interval, pin_maps=pin_maps,
        pin_progs=pin_progs, iface=iface,
    )
    pulled = pull_for_run(bpf_program, options, pull_policy)
    if pulled is not None:
        click.echo(f"bee: pulled {pulled.ref} ({pulled.digest})", err=True)
    Runner(settings, options.storage).run()
