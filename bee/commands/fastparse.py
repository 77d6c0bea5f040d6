"""Reads a plain `bee run` command line without click, so `bee run` starts without importing it.

`parse_run(argv, environ)` gives what click would hand `bee run` for the command lines it fully
understands, and None for every other one: help, `--version`, shell completion, other commands,
`--`, combined short options (`-dv`, `-fVALUE`), unknown options, a value click would refuse or
that starts with `-`, no program argument (and no `--config`), a flag's environment variable set (`BEE_DEBUG`:
click reads it as a boolean). None means "let click do it",
so click's messages stay the only error messages. tests/unit/test_fastparse.py checks that for
every command line this parser accepts, click produces the same values.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Mapping, Sequence
from pathlib import Path

from bee.commands.globalargs import hoist
from bee.commands.params import CHOICE, FLAG, FLOAT, GLOBAL_OPTIONS, INT, PATH, RUN_OPTIONS, Opt, global_options
from bee.options import GlobalOptions
from bee.records import Record  # not dataclasses: ~8 ms + 0.7 ms a class of bee run (docs/dev/startup.md)


class RunCommand(Record):
    """A parsed `bee run`: the global options, the program arguments (one or more, or none with `--config`) and
    the run options by `dest`."""

    options: GlobalOptions
    programs: tuple[str, ...]
    values: Mapping[str, object]


#: `bee run`'s own option spellings → whether each takes a value (its `-d/--debug` is its own).
RUN_FLAGS = {flag: opt.kind != FLAG for opt in RUN_OPTIONS for flag in opt.flags}


class _Defer(Exception):
    """The command line is not one this parser reads: click must."""


def parse_run(argv: Sequence[str], environ: Mapping[str, str]) -> RunCommand | None:
    """The `bee run` that `argv` (without the program name) asks for, or None to leave it to click."""
    if "_BEE_COMPLETE" in environ:
        return None
    argv = hoist(argv, RUN_FLAGS)  # global options after `run` mean what they mean before it
    try:
        global_values, rest = _read_options(list(argv), GLOBAL_OPTIONS, stop_at_positional=True)
        if not rest or rest[0] != "run":
            return None
        run_values, positionals = _read_options(rest[1:], RUN_OPTIONS, stop_at_positional=False)
        for values, table in ((global_values, GLOBAL_OPTIONS), (run_values, RUN_OPTIONS)):
            _read_environment(values, table, environ)
    except _Defer:
        return None
    if not positionals and run_values.get("runner_config") is None:
        return None
    return RunCommand(global_options(_complete(global_values, GLOBAL_OPTIONS)), tuple(positionals),
                      _complete(run_values, RUN_OPTIONS))


def _read_options(tokens: list[str], table: tuple[Opt, ...], *,
                  stop_at_positional: bool) -> tuple[dict[str, object], list[str]]:
    """The options of `table` in `tokens`, and the positional tokens (all the rest when `stop_at_positional`)."""
    by_flag = {flag: opt for opt in table for flag in opt.flags}
    values: dict[str, object] = {}
    positionals: list[str] = []
    index = 0
    while index < len(tokens):
        token = tokens[index]
        index += 1
        if token == "--":
            raise _Defer
        if token == "-" or not token.startswith("-"):
            if stop_at_positional:
                return values, tokens[index - 1:]
            positionals.append(token)
            continue
        name, equals, attached = token.partition("=") if token.startswith("--") else (token, "", "")
        opt = by_flag.get(name)
        if opt is None:
            raise _Defer
        if opt.kind == FLAG:
            if equals:
                raise _Defer
            value: object = True
        else:
            if equals:
                raw = attached
            elif index < len(tokens):
                raw = tokens[index]
                index += 1
            else:
                raise _Defer
            if raw.startswith("-"):
                raise _Defer
            value = _convert(opt, raw)
        if opt.multiple:
            previous = values.get(opt.dest, ())
            assert isinstance(previous, tuple)
            values[opt.dest] = (*previous, value)
        else:
            values[opt.dest] = value
    return values, positionals


def _read_environment(values: dict[str, object], table: tuple[Opt, ...], environ: Mapping[str, str]) -> None:
    """Add to `values` the options of `table` not given but set in their environment variable
    (click: an empty variable is unset)."""
    for opt in table:
        raw = environ.get(opt.envvar) if opt.envvar is not None else None
        if raw and opt.dest not in values:
            if opt.kind == FLAG or opt.multiple:
                raise _Defer  # click reads these as a boolean or splits them: left to it
            values[opt.dest] = _convert(opt, raw)


def _convert(opt: Opt, raw: str) -> object:
    """`raw` as click's type for `opt` would give it; _Defer where click would refuse it."""
    if opt.kind in (INT, FLOAT):
        try:
            number: float = int(raw) if opt.kind == INT else float(raw)
        except ValueError:
            raise _Defer from None
        if opt.bounds is not None and not opt.bounds[0] <= number <= opt.bounds[1]:
            raise _Defer
        return number
    if opt.kind == CHOICE:
        if raw not in opt.choices:
            raise _Defer
        return raw
    if opt.kind == PATH:
        try:
            mode = os.stat(raw).st_mode
        except OSError:
            return Path(raw)
        if stat.S_ISREG(mode) and not opt.file_okay:
            raise _Defer
        return Path(raw)
    return raw


def _complete(values: dict[str, object], table: tuple[Opt, ...]) -> dict[str, object]:
    """`values` with every option of `table` that was not given at its initial value."""
    return {opt.dest: values[opt.dest] if opt.dest in values else opt.initial() for opt in table}


def run_plain(argv: Sequence[str], environ: Mapping[str, str]) -> bool:
    """Run the `bee run` of `argv` when `parse_run` reads it, and return True once it has ended;
    return False at once, having done nothing, for click to take the command line. Raises what
    `bee.run.start.start_run` raises."""
    command = parse_run(argv, environ)
    if command is None:
        return False
    from bee.run.start import start_run  # only when the line is read here: click's path imports it itself

    start_run(command.options, command.programs, command.values)
    return True
