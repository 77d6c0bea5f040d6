"""`bee list`, `bee tag`, `bee rm`: the local OCI store."""

from __future__ import annotations

import click

from bee.commands._shared import complete_store_ref, echo_table
from bee.oci.store import LocalStore
from bee.options import GlobalOptions


@click.command("list")
@click.pass_obj
def list_command(options: GlobalOptions) -> None:
    """List the programs in the local store."""
    rows = []
    for entry in LocalStore(options.storage).entries():
        platform = entry.platform
        rows.append([entry.ref, platform.os if platform else "", platform.os_version if platform else "",
                     platform.architecture if platform else ""])
    echo_table(["Name", "OS", "OS Version", "Arch"], rows)


@click.command("tag")
@click.argument("source", shell_complete=complete_store_ref)
@click.argument("target")
@click.pass_obj
def tag_command(options: GlobalOptions, source: str, target: str) -> None:
    """Give the program SOURCE another name, TARGET."""
    entry = LocalStore(options.storage).tag(source, target)
    click.echo(f"Tagged {source} as {entry.ref}", err=True)


@click.command("rm")
@click.argument("refs", nargs=-1, required=True, shell_complete=complete_store_ref)
@click.pass_obj
def rm_command(options: GlobalOptions, refs: tuple[str, ...]) -> None:
    """Remove programs from the local store (blobs no other name uses are deleted)."""
    store = LocalStore(options.storage)
    for ref in refs:
        entry = store.remove(ref)
        click.echo(f"Removed {entry.ref} ({entry.digest})", err=True)
