"""`bee list`, `bee tag`, `bee rm`, `bee store check`: the local OCI store."""

from __future__ import annotations

import click

from bee.commands._shared import complete_store_ref, echo_table
from bee.errors import StoreError
from bee.oci.blobcheck import StoreCheck
from bee.oci.store import LocalStore
from bee.options import GlobalOptions


@click.command("list")
@click.option("--no-trunc", is_flag=True, help="Show digest references whole (name@ and 10 digits otherwise).")
@click.pass_obj
def list_command(options: GlobalOptions, no_trunc: bool) -> None:
    """List the programs in the local store (their signatures, `NAME:sha256-<hex>.sig`, are not listed)."""
    from bee.oci.sign.envelope import is_signature_ref

    rows = []
    store = LocalStore(options.storage)
    for entry in store.entries():
        if is_signature_ref(entry.ref):
            continue
        if entry.is_index:  # built for several platforms: one row, every architecture
            platforms = [p.platform for p in store.platforms(entry) if p.platform]
            rows.append([_short_ref(entry.ref, no_trunc), ",".join(sorted({p.os for p in platforms})), "",
                         ",".join(p.architecture for p in platforms)])
            continue
        platform = entry.platform
        rows.append([_short_ref(entry.ref, no_trunc), platform.os if platform else "",
                     platform.os_version if platform else "", platform.architecture if platform else ""])
    echo_table(["Name", "OS", "OS Version", "Arch"], rows)


def _short_ref(ref: str, whole: bool = False) -> str:
    """A digest reference as `name@` and the first 10 hex digits of its sha256 digest, so that rows fit 80
    columns, as `docker images` cuts ids (`--no-trunc`: `whole`, the reference to type)."""
    name, sep, digest = ref.partition("@sha256:")
    return f"{name}@{digest[:10]}…" if sep and len(digest) > 10 and not whole else ref


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
    """Remove programs from the local store (blobs no other name uses are deleted, and the signatures of a
    program no name is left for)."""
    from bee.oci.sign.local import forget_unused_signatures

    store = LocalStore(options.storage)
    for ref in refs:
        entry = store.remove(ref)
        click.echo(f"Removed {entry.ref} ({entry.digest})", err=True)
        for signatures in forget_unused_signatures(store, entry.digest):
            click.echo(f"Removed its signatures {signatures.ref}", err=True)


@click.group("store")
def store_group() -> None:
    """Check and repair the local store."""


@store_group.command("check")
@click.option("--repair", is_flag=True,
              help="Delete corrupt blobs and stale temporary files (a later build or pull writes them again).")
@click.pass_obj
def check_command(options: GlobalOptions, repair: bool) -> None:
    """Read every blob of the local store against its digest; report corrupt and missing blobs and the
    temporary files of writers that were killed."""
    store = LocalStore(options.storage)
    result = store.check(repair=repair)
    done = " (removed)" if repair else ""
    for path in result.corrupt:
        click.echo(f"corrupt: {path} does not match its digest{done}")
    for path in result.stale:
        click.echo(f"stale temporary file: {path}{done}")
    for name, digest in result.missing:
        click.echo(f"missing: {name} needs blob {digest}")
    click.echo(f"Checked {_count(result.blobs, 'blob')} in {store.root}: {len(result.corrupt)} corrupt, "
               f"{len(result.missing)} missing, {_count(len(result.stale), 'stale temporary file')}", err=True)
    raise_for(result, store.root)


def raise_for(result: StoreCheck, root: object) -> None:
    """`StoreError` (one sentence) when the check leaves something to do."""
    names = list(result.affected)
    again = f"build or pull {', '.join(names)} again" if names else ""
    if not result.repaired and (result.corrupt or result.stale):
        what = " and ".join(part for part in (_count(len(result.corrupt), "corrupt blob") if result.corrupt else "",
                                             _count(len(result.stale), "stale temporary file") if result.stale else "")
                            if part)
        raise StoreError(f"the local store {root} has {what}: run `bee store check --repair`"
                         + (f", then {again}" if again else ""))
    if names:
        raise StoreError(f"the local store {root} lacks blobs of {', '.join(names)}: {again}")


def _count(number: int, thing: str) -> str:
    return f"{number} {thing}{'' if number == 1 else 's'}"
