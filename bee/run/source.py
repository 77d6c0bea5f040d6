"""Where `bee run` gets its program: a file if the argument is one, else a ref in the local store,
pulled from its registry first when the pull policy says so."""

from __future__ import annotations

from pathlib import Path

from bee.errors import InputFileError, RefNotFoundError
from bee.inputs import existing_file, looks_like_path, missing_file_message, read_object
from bee.records import Record

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing: see docs/startup.md
if TYPE_CHECKING:
    from typing import ClassVar

    from bee.oci.store import StoreEntry
    from bee.options import GlobalOptions

#: `--pull` values: pull when the ref is not in the store (default), before every run, or never.
PULL_POLICIES = ("missing", "always", "never")


class ProgramSource(Record):
    """The ELF bytes of a program and how to name it to the user."""

    data: bytes
    location: str  # the path, or the reference
    name: str  # short name for the object (libbpf prefixes .data/.bss maps with it)

    _hidden: ClassVar[tuple[str, ...]] = ("data",)


def pull_for_run(program: str, options: GlobalOptions, policy: str) -> StoreEntry | None:
    """Pull `program` into the store as `policy` says; returns the pulled entry, or None if nothing was pulled.

    Files (and paths that look like files) are never pulled. With `missing`, a reference already
    in the store, or one naming no registry, is left to the store lookup (whose not-found error
    then applies); with `always` a reference naming no registry is a `UsageError`. Raises
    `InvalidReferenceError`, `RegistryError` subclasses, `StoreError`.
    """
    if policy not in PULL_POLICIES:
        raise ValueError(f"unknown pull policy {policy!r}")
    if policy == "never" or existing_file(program) is not None or looks_like_path(program):
        return None
    from bee.oci.reference import parse_reference
    from bee.oci.store import LocalStore

    reference = parse_reference(program)
    if policy == "missing":
        if reference.registry is None:
            return None
        try:
            LocalStore(options.storage).resolve(program)
            return None
        except RefNotFoundError:
            pass
    from bee.oci.transfer import pull

    return pull(program, options)


def load_program(program: str, store_root: Path, *, pull: str = "never",
                 options: GlobalOptions | None = None) -> ProgramSource:
    """Read `program` from disk when it is a file, else from the local store (pulled first per `pull`).

    Raises InputFileError (a path that does not exist or cannot be read), InvalidReferenceError,
    RefNotFoundError, StoreError, and with a pull policy other than `never` the errors of
    `pull_for_run`.
    """
    if pull != "never":
        from bee.options import GlobalOptions

        pull_for_run(program, (options or GlobalOptions()).replace(storage=store_root), pull)
    path = existing_file(program)
    if path is not None:
        data = read_object(path)
        return ProgramSource(data, str(path), path.stem)
    if looks_like_path(program):
        raise InputFileError(missing_file_message(program))
    from bee.oci.reference import parse_reference
    from bee.oci.store import LocalStore

    reference = parse_reference(program)
    store = LocalStore(store_root)
    data = store.program_bytes(store.resolve(program))
    return ProgramSource(data, program, reference.repository.rsplit("/", 1)[-1])
