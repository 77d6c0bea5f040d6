"""Small helpers the click commands share: options from `bee.commands.params`, table output, reference completion."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

import click
from click.shell_completion import CompletionItem

from bee.commands.params import CHOICE, FLAG, FLOAT, INT, PATH, Opt
from bee.inputs import expand_user
from bee.oci.store import LocalStore
from bee.options import GlobalOptions

_F = TypeVar("_F", bound=Callable[..., Any])


class FiniteFloatRange(click.FloatRange):
    """click's FloatRange lets NaN through (every comparison with it is false): refuse NaN and infinities."""

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        number = super().convert(value, param, ctx)
        if not math.isfinite(number):
            self.fail(f"{value!r} is not a finite number; give a number from {self.min:g} to {self.max:g}",
                      param, ctx)
        return number


def _click_type(opt: Opt) -> click.ParamType | None:
    if opt.kind == INT:
        assert opt.bounds is not None
        return click.IntRange(int(opt.bounds[0]), int(opt.bounds[1]))
    if opt.kind == FLOAT:
        assert opt.bounds is not None
        return FiniteFloatRange(opt.bounds[0], opt.bounds[1])
    if opt.kind == CHOICE:
        return click.Choice(list(opt.choices))
    if opt.kind == PATH:
        return click.Path(path_type=Path, file_okay=opt.file_okay, readable=False)  # bee says why it cannot read
    return None


class _Option(click.Option):
    """A click option whose error messages say when its bad value came from its environment variable
    (`'--timeout' (from $BEE_TIMEOUT)`): the user typed no --timeout."""

    def get_error_hint(self, ctx: click.Context | None) -> str:
        hint = click.Parameter.get_error_hint(self, ctx)  # click.Option's names the variable even when typed
        if ctx is not None and self.name and self.envvar and \
                ctx.get_parameter_source(self.name) is click.core.ParameterSource.ENVIRONMENT:
            return f"{hint} (from ${self.envvar})"
        return hint


def click_options(table: Sequence[Opt]) -> Callable[[_F], _F]:
    """A decorator adding every option of `table` to a click command, in table order."""

    def decorate(function: _F) -> _F:
        for opt in reversed(table):
            extra: dict[str, Any] = {}
            if opt.kind == FLAG:
                extra["is_flag"] = True
            else:
                extra["type"] = _click_type(opt)
                if opt.default is not None:
                    extra["default"] = opt.default
            function = click.option(*opt.flags, opt.dest, help=opt.help, multiple=opt.multiple,
                                    envvar=opt.envvar, metavar=opt.metavar, show_default=opt.show_default,
                                    show_envvar=opt.envvar is not None, cls=_Option, **extra)(function)
        return function

    return decorate


def echo_table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
    """Print left-aligned columns separated by two spaces (like `docker images`)."""
    widths = [len(h) for h in headers]
    for row in rows:
        widths = [max(w, len(cell)) for w, cell in zip(widths, row, strict=True)]
    for line in [headers, *rows]:
        click.echo("  ".join(cell.ljust(w) for cell, w in zip(line, widths, strict=True)).rstrip())


def complete_store_ref(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[CompletionItem]:
    """Shell completion for the programs held in the local store (as `bee list` shows them: not their
    signatures)."""
    from bee.oci.sign.envelope import is_signature_ref

    root = ctx.find_root()
    storage = root.params.get("storage")
    options = ctx.find_object(GlobalOptions)
    store_dir = options.storage if options else storage
    if store_dir is None:
        return []
    try:
        refs = [entry.ref for entry in LocalStore(expand_user(store_dir)).entries()]
    except Exception:  # completion must never fail loudly
        return []
    return [CompletionItem(ref) for ref in refs if ref.startswith(incomplete) and not is_signature_ref(ref)]


def complete_program(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[CompletionItem]:
    """Shell completion for a program given as a stored reference or a file (`bee run`, `bee describe`): a
    word that looks like a path (`./`, `/`, `~`, a `.o` name) completes as a file, as does one no stored
    program starts with; otherwise the stored programs."""
    if incomplete.startswith((".", "/", "~")) or "/" in incomplete and ":" not in incomplete:
        return [CompletionItem(incomplete, type="file")]
    refs = complete_store_ref(ctx, param, incomplete)
    return refs or [CompletionItem(incomplete, type="file")]
