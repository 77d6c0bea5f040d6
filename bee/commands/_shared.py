"""Small helpers the click commands share: table output and reference completion."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from click.shell_completion import CompletionItem


def echo_table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
    """Print left-aligned columns separated by two spaces (like `docker images`)."""
    widths = [len(h) for h in headers]
    for row in rows:
        widths = [max(w, len(cell)) for w, cell in zip(widths, row, strict=True)]
    for line in [headers, *rows]:
        click.echo("  ".join(cell.ljust(w) for cell, w in zip(line, widths, strict=True)).rstrip())


def complete_store_ref(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[CompletionItem]:
    """Shell completion for references held in the local store."""
    from click.shell_completion import CompletionItem

    from bee.oci.store import LocalStore
    from bee.options import GlobalOptions

    root = ctx.find_root()
    storage = root.params.get("storage")
    options = ctx.find_object(GlobalOptions)
    store_dir = options.storage if options else storage
    if store_dir is None:
        return []
    try:
        refs = [entry.ref for entry in LocalStore(store_dir.expanduser()).entries()]
    except Exception:  # completion must never fail loudly
        return []
    return [CompletionItem(ref) for ref in refs if ref.startswith(incomplete)]
