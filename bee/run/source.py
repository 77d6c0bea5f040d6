"""Where `bee run` gets its program: a file if the argument is one, else a ref in the local store,
pulled from its registry first when the pull policy says so."""

from __future__ import annotations

from pathlib import Path

from bee.errors import InputFileError, RefNotFoundError
from bee.inputs import existing_file, looks_like_path, missing_file_message, read_object
from bee.records import Record
from bee.run.platform import check_architecture

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing: see docs/dev/startup.md
if TYPE_CHECKING:
    from typing import ClassVar

    from bee.oci.sign.policy import TrustPolicy
    from bee.oci.store import LocalStore, StoreEntry
    from bee.options import GlobalOptions

#: `--pull` values: pull when the ref is not in the store (default), before every run, or never.
PULL_POLICIES = ("missing", "always", "never")


class ProgramSource(Record):
    """The ELF bytes of a program and how to name it to the user."""

    data: bytes
    location: str  # the path, or the reference
    name: str  # short name for the object (libbpf prefixes .data/.bss maps with it)

    _hidden: ClassVar[tuple[str, ...]] = ("data",)


def pull_for_run(program: str, options: GlobalOptions, policy: str,
                 trust: TrustPolicy | None = None) -> StoreEntry | None:
    """Pull `program` into the store as `policy` says; returns the pulled entry, or None if nothing was pulled.

    Files (and paths that look like files) are never pulled. With `missing`, a reference already
    in the store, or one naming no registry, is left to the store lookup (whose not-found error
    then applies); with `always` a reference naming no registry is a `UsageError`. When `trust`
    requires a signature, the pull verifies one (bee.oci.transfer.pull), and with `missing` a stored
    program whose stored signatures do not verify is pulled again with its signatures. Raises
    `InvalidReferenceError`, `RegistryError` subclasses, `SignatureError`, `StoreError`.
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
            store = LocalStore(options.storage)
            store.resolve(program)
            if not _verifies_in_store(store, program, trust):
                raise RefNotFoundError(program)  # stored without a signature that verifies: pulled again
            return None
        except RefNotFoundError:
            pass
    from bee.oci.transfer import pull

    return pull(program, options, trust=trust)


def _verifies_in_store(store: LocalStore, program: str, trust: TrustPolicy | None) -> bool:
    from bee.oci.errors import SignatureError
    from bee.oci.reference import parse_reference

    requirement = trust.requirement(parse_reference(program).name) if trust is not None else None
    if requirement is None:
        return True
    from bee.oci.sign.actions import verify_stored

    try:
        verify_stored(store, program, requirement)
    except SignatureError:
        return False
    return True


#: Files `bee run` is given by mistake before they are compiled (a C program, a header).
SOURCE_SUFFIXES = (".c", ".h", ".bpf.c")


def not_compiled_message(path: Path) -> str:
    """The sentence for `bee run x.c`: it is source, and the two commands that build and run it."""
    name = path.name.removesuffix(".bpf.c").removesuffix(".c").removesuffix(".h") or "probe"
    return (f"{path} is C source, not a compiled program: build it first, then run what it gives "
            f"(bee build {path} {name}:latest --local && bee run {name}:latest, or "
            f"bee build {path} --local --binary-only && bee run {path.with_suffix('.o')})")


def load_program(program: str, store_root: Path, *, pull: str = "never",
                 options: GlobalOptions | None = None, trust: TrustPolicy | None = None) -> ProgramSource:
    """Read `program` from disk when it is a file, else from the local store (pulled first per `pull`).

    With `trust`, a program that needs a signature is read only once a signature stored with it has
    verified, from the entry whose digest verified; a file, which has no signature, is then refused.
    Raises InputFileError (a path that does not exist or cannot be read), InvalidReferenceError,
    RefNotFoundError, StoreError, SignatureError, and with a pull policy other than `never` the errors
    of `pull_for_run`.
    """
    if pull != "never":
        from bee.options import GlobalOptions

        pull_for_run(program, (options or GlobalOptions()).replace(storage=store_root), pull, trust)
    path = existing_file(program)
    if path is not None:
        if trust is not None and trust.requirement("") is not None:
            from bee.oci.errors import SignatureError

            raise SignatureError(f"{program} is a file, which carries no signature, and the signature policy "
                                 "requires one: sign it in a store (bee build, then bee sign --local) and run it "
                                 "by reference")
        data = read_object(path)
        if data[:4] != b"\x7fELF" and path.suffix in SOURCE_SUFFIXES:
            raise InputFileError(not_compiled_message(path))
        return ProgramSource(data, str(path), path.stem)
    if looks_like_path(program):
        raise InputFileError(missing_file_message(program))
    from bee.oci.reference import parse_reference
    from bee.oci.store import LocalStore

    reference = parse_reference(program)
    store = LocalStore(store_root)
    requirement = trust.requirement(reference.name) if trust is not None else None
    if requirement is not None:
        from bee.oci.sign.actions import verify_stored

        _, entry = verify_stored(store, program, requirement)
    else:
        entry = store.resolve(program)
    entry = store.for_platform(entry)  # an index: this machine's entry
    check_architecture(entry)
    data = store.program_bytes(entry)
    return ProgramSource(data, program, reference.repository.rsplit("/", 1)[-1])
