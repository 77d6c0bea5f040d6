"""The `bee` entry point: `main()` runs one command line and turns failures into one line.

A plain `bee run` command line is read by `bee.commands.fastparse` and started without importing click
(start-up time is what `bee run` is measured by); every other command line, and any `bee run`
that parser leaves alone, goes to the click group in `bee.commands.group`. Expected failures
(`BeeError`) print one line on stderr and exit with their code; `--debug` (or BEE_DEBUG=1) shows
tracebacks instead.
"""

from __future__ import annotations

import gc
import os
import sys

from bee.errors import BeeError


def _wants_debug(argv: list[str]) -> bool:
    run_debug = "run" in argv and "-d" in argv[argv.index("run"):]
    return "--debug" in argv or run_debug or os.environ.get("BEE_DEBUG", "") not in ("", "0", "false")


def _say(line: str) -> None:
    sys.stderr.write(line + "\n")
    sys.stderr.flush()


def _run(args: list[str]) -> int:
    """Run `args`: through the fast `bee run` path when it can read them, else through click.

    `bee run` starts with the cyclic garbage collector off: its imports and set-up allocate much
    and free little, so collections would only cost time (about 8 ms here). The run turns it
    back on once attached (`bee.run.start.end_of_start_up`).
    """
    gc.disable()  # ~7 ms of bee run's start-up (docs/dev/startup.md)
    from bee.commands.fastparse import run_plain  # imported here, and click below only if needed: ~30 ms

    if run_plain(args, os.environ):
        return 0
    gc.enable()
    from bee.commands.group import invoke

    return invoke(args)


def main(argv: list[str] | None = None) -> None:
    """Run the CLI and exit: 0 on success, the error's exit code on an expected failure."""
    args = list(sys.argv[1:] if argv is None else argv)
    debug = _wants_debug(args)
    try:
        code = _run(args)
    except BeeError as exc:
        if debug:
            raise
        if exc.detail:
            _say(exc.detail)
        _say(f"Error: {exc.message}")
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        sys.exit(130)
    except BrokenPipeError:
        # stdout closed by the reader (`bee list | head`): not an error worth reporting.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        sys.exit(0)
    except Exception as exc:  # a bug: one line, the traceback only with --debug
        if debug:
            raise
        _say(f"Error: internal error: {type(exc).__name__}: {exc} (run with --debug for details)")
        sys.exit(70)
    sys.exit(code)
