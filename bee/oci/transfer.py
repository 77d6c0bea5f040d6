"""`push`, `pull` and `login`: the local store on one side, a registry on the other.

`push` sends what the store holds for a reference, byte for byte (blobs the registry
already has are skipped), so the registry's manifest digest is the local one. `pull`
fetches a manifest (or an image index, then this host's `linux/<arch>` entry), checks it
is a program, downloads the blobs the store lacks, verifies every byte against digests
and sizes, and only then calls `LocalStore.import_manifest`: a failure leaves the store
as it was. `login` checks credentials against the registry before saving them.

References must name a registry (`ghcr.io/org/probe:v1`, `localhost:5000/probe:v1`); a
reference without a tag or digest means `latest`. Raises `BeeError` subclasses only.

What the three read from their caller (the store, credentials, TLS) is a `TransferSettings`:
any object with those attributes, such as the CLI's global options, which this package never
imports.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from bee.errors import InvalidReferenceError, RefNotFoundError, UsageError
from bee.oci import mediatypes
from bee.oci.artifact import ACCEPT, classify, image_manifest, select_platform
from bee.oci.auth import CredentialLookup, Credentials, find_credentials, save_login, server_host
from bee.oci.errors import IntegrityError, UnsupportedArtifactError
from bee.oci.index import Platform
from bee.oci.manifest import SHA256_PATTERN, parse_manifest, program_layer, sha256_digest
from bee.oci.progress import Progress, Silent
from bee.oci.reference import Reference, parse_reference
from bee.oci.registry import LOGIN_SOURCE, MAX_BLOB_SIZE, MAX_MANIFEST_SIZE, Endpoint, RegistryClient
from bee.oci.store import LocalStore, StoreEntry

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing: see docs/dev/startup.md
if TYPE_CHECKING:
    from bee.oci.layouts.converted import Converted
    from bee.oci.sign.policy import TrustPolicy
    from bee.oci.sign.verify import Verified

#: Blobs larger than this are uploaded in PATCH chunks of this size; smaller ones in one PUT.
CHUNK_SIZE = 16 << 20


class TransferSettings(Protocol):
    """What `push`, `pull` and `login` read from their caller's settings (bee's global flags)."""

    @property
    def storage(self) -> Path:
        """The local store's directory."""

    @property
    def config_dir(self) -> Path:
        """Where `login` saves credentials and lookups find them (`config.json`)."""

    @property
    def auth_configs(self) -> tuple[Path, ...]:
        """More Docker-style config files to look for credentials in."""

    @property
    def username(self) -> str | None:
        """Credentials given for this call (both or neither), before any saved ones."""

    @property
    def password(self) -> str | None: ...

    @property
    def insecure(self) -> bool:
        """Accept a registry certificate that does not verify."""

    @property
    def plain_http(self) -> bool:
        """Talk HTTP, not HTTPS."""

    @property
    def timeout(self) -> float:
        """Seconds one push, pull or login may take (plus time for its blobs), and the most a registry
        may stay silent."""


@dataclass(frozen=True, slots=True)
class PushResult:
    """What `push` did: the reference, its manifest digest, and how many blobs it sent or skipped."""

    ref: str
    digest: str
    uploaded: int
    skipped: int


def needs_registry(reference: Reference) -> str:
    """The registry host of `reference`; `UsageError` when it names none (a local name like `probe:v1`)."""
    if reference.registry is None:
        raise UsageError(
            f"{reference} names no registry: use a reference such as localhost:5000/{reference} "
            f"or ghcr.io/<owner>/{reference} (`bee tag` gives a stored program another name)")
    return reference.registry


def _credentials(host: str, settings: TransferSettings) -> CredentialLookup:
    if (settings.username is None) != (settings.password is None):
        raise UsageError("give both -u/--username and -p/--password, or neither")
    return find_credentials(host, username=settings.username, password=settings.password,
                            config_dir=settings.config_dir, auth_configs=settings.auth_configs)


def parse_platform(text: str) -> str:
    """The architecture of `--platform OS/ARCH[/VARIANT]` (`linux/arm64` → `arm64`); UsageError for another
    OS or another shape."""
    parts = text.split("/")
    if len(parts) not in (2, 3) or not all(parts):
        raise UsageError(f"invalid platform {text!r}: expected OS/ARCH, as linux/amd64 or linux/arm64")
    if parts[0] != "linux":
        raise UsageError(f"platform {text}: eBPF programs run on linux only")
    return parts[1]


def client_for(reference: Reference, settings: TransferSettings, scope_actions: str) -> RegistryClient:
    """A client for `reference`'s repository with `settings`' TLS and credentials; the caller closes it."""
    host = needs_registry(reference)
    endpoint = Endpoint.of(host, reference.repository, plain_http=settings.plain_http, insecure=settings.insecure)
    return RegistryClient(endpoint, subject=str(reference), scope_actions=scope_actions,
                          credentials=lambda: _credentials(endpoint.host, settings), timeout=settings.timeout)


def target_of(reference: Reference) -> str:
    """What a manifest request names for `reference`: its tag, else its digest, else `latest`."""
    return reference.tag or reference.digest or "latest"


def _short(digest: str) -> str:
    return digest.split(":", 1)[-1][:12]


def _file_matches(path: Path, digest: str, size: int) -> bool:
    hasher = hashlib.sha256()
    count = 0
    try:
        with open(path, "rb") as blob:
            while chunk := blob.read(1 << 20):
                hasher.update(chunk)
                count += len(chunk)
    except OSError:
        return False
    return count == size and f"sha256:{hasher.hexdigest()}" == digest


def push(ref: str, settings: TransferSettings, *, progress: Progress | None = None,
         chunk_size: int = CHUNK_SIZE) -> PushResult:
    """Upload the program stored under `ref` to the registry `ref` names.

    Blobs are checked in the store, HEADed in the registry (present ones skipped), uploaded
    (in `chunk_size` chunks when larger), then the stored manifest bytes are PUT under the
    tag (or digest). A program built for several platforms sends each platform's manifest (by digest)
    first, then its image index under the tag. Raises `RefNotFoundError`, `StoreError`, `UsageError`,
    `RegistryError`.
    """
    reference = parse_reference(ref)
    needs_registry(reference)
    store = LocalStore(settings.storage)
    try:
        entry = store.resolve(ref)
    except RefNotFoundError:
        raise RefNotFoundError(_push_hint(store, reference)) from None
    counts = [0, 0]  # uploaded, skipped
    with client_for(reference, settings, "pull,push") as client, progress or Silent() as bars:
        if entry.is_index:
            for child in store.platforms(entry):
                _push_manifest(client, bars, store, child, ref, child.digest, counts, chunk_size)
        reported = _push_manifest(client, bars, store, entry, ref, target_of(reference), counts, chunk_size)
    if reported and reported != entry.digest:
        raise IntegrityError(f"the registry stored the manifest of {ref} as {reported}, not {entry.digest}")
    return PushResult(ref, entry.digest, counts[0], counts[1])


def _push_hint(store: LocalStore, reference: Reference) -> str:
    """Why `reference` cannot be pushed (not stored), and the `bee tag` that gives a stored program its name:
    one of the same short name when the store has one."""
    from bee.oci.sign.envelope import is_signature_ref  # only on this error path

    short = reference.repository.rsplit("/", 1)[-1]
    source = "NAME:TAG"
    for entry in store.entries():
        try:
            if not is_signature_ref(entry.ref) and parse_reference(entry.ref).repository.rsplit("/", 1)[-1] == short:
                source = entry.ref
                break
        except InvalidReferenceError:
            continue
    return (f"{reference} is not in the local store ({store.root}): bee push sends a stored program under the name "
            f"it is stored as; give one this name first (bee tag {source} {reference}), then push it")


def _push_manifest(client: RegistryClient, bars: Any, store: LocalStore, entry: StoreEntry, ref: str, target: str,
                   counts: list[int], chunk_size: int) -> str | None:
    """Send the blobs of one stored manifest (none for an index: its manifests go first), then the manifest
    under `target`; returns the digest the registry reports. Counts uploaded and skipped blobs in `counts`."""
    manifest_bytes = store.manifest_bytes(entry)
    if entry.is_index:
        return client.put_manifest(target, manifest_bytes, mediatypes.INDEX)
    manifest = parse_manifest(manifest_bytes)
    for desc in [manifest["config"], *manifest["layers"]]:
        digest, size = desc["digest"], desc["size"]
        if size > MAX_BLOB_SIZE:
            raise IntegrityError(f"blob {digest} of {ref} is {size} bytes by its manifest in the local store, "
                                 f"more than bee's limit of {MAX_BLOB_SIZE >> 20} MiB")
        path = store.blob_path(digest)
        if not _file_matches(path, digest, size):
            raise IntegrityError(f"blob {digest} of {ref} is missing or corrupted in the local store ({path})")
        title = (desc.get("annotations") or {}).get(mediatypes.TITLE) or desc.get("mediaType", "blob")
        task = bars.task(f"{_short(digest)} {title}", size)
        if client.blob_exists(digest):
            task.finish("(already there)")
            counts[1] += 1
            continue
        client.upload_blob(path, digest, task, chunk_size=chunk_size if size > chunk_size else None)
        task.finish()
        counts[0] += 1
    return client.put_manifest(target, manifest_bytes, manifest.get("mediaType") or mediatypes.MANIFEST)


def push_with_signatures(ref: str, settings: TransferSettings, *,
                         progress: Progress | None = None) -> list[PushResult]:
    """`push` `ref`, then the signatures the store holds for its manifest under the same repository
    (bee.oci.sign.local), to the tag cosign reads them from. Returns what was pushed, program first."""
    from bee.oci.sign.local import signature_ref

    results = [push(ref, settings, progress=progress)]
    name = parse_reference(ref).name
    signatures = signature_ref(name, results[0].digest)
    try:
        LocalStore(settings.storage).resolve(signatures)
    except RefNotFoundError:
        return results
    results.append(push(signatures, settings, progress=progress))
    return results


def check_digest(data: bytes, expected: str | None, size: int | None, what: str) -> None:
    """IntegrityError naming `what` when `data` differs from a sha256 `expected` digest or from `size`."""
    actual = sha256_digest(data)
    if expected is not None and SHA256_PATTERN.fullmatch(expected) and actual != expected:
        raise IntegrityError(f"{what} does not match its digest {expected} (the registry sent {actual})")
    if size is not None and len(data) != size:
        raise IntegrityError(f"{what} is {len(data)} bytes, its descriptor says {size}")


def _fetch_program_manifest(client: RegistryClient, reference: Reference,
                            architecture: str | None = None) -> tuple[bytes, dict[str, Any], Platform | None, str]:
    """The program manifest's bytes and decoded form, the platform of its index entry (if any: this host's,
    or `architecture`'s), and the digest of what `reference` names (the index's, when it names one)."""
    what = str(reference)
    data, content_type, header_digest = client.get_manifest(target_of(reference), ACCEPT)
    check_digest(data, reference.digest or header_digest, None, f"the manifest of {what}")
    named = sha256_digest(data)
    fetched = classify(data, content_type, what)
    platform = None
    if fetched.is_index:
        desc, platform = select_platform(fetched, what, architecture)
        digest, size = desc["digest"], desc["size"]
        if not SHA256_PATTERN.fullmatch(digest):
            raise UnsupportedArtifactError(f"the {platform.os}/{platform.architecture} entry of {what} "
                                           f"uses digest {digest}; bee's store holds sha256 digests only")
        if size > MAX_MANIFEST_SIZE:
            raise IntegrityError(f"the manifest of {what} is {size} bytes, more than bee's limit of "
                                 f"{MAX_MANIFEST_SIZE >> 20} MiB")
        data, content_type, _ = client.get_manifest(digest, ACCEPT)
        check_digest(data, digest, size, f"the {platform.os}/{platform.architecture} manifest of {what}")
        fetched = classify(data, content_type or desc.get("mediaType"), what)
        if fetched.is_index:
            raise UnsupportedArtifactError(f"{what} is an image index whose entry is another index")
    return fetched.data, image_manifest(fetched, what), platform, named


def pull(ref: str, settings: TransferSettings, *, progress: Progress | None = None,
         trust: TrustPolicy | None = None, platform: str | None = None) -> StoreEntry:
    """Fetch `ref` from its registry into the local store under `ref`; returns the new entry.

    Nothing is written until the manifest and every blob have matched their digests and
    sizes, and, when `trust` requires a signature for the repository, until a signature of the
    manifest (or of the index naming it) has verified (bee.oci.sign); the verified signature is
    stored first, so a run verifies again from the store. From an index, the entry of this host's
    architecture is taken, or of `platform` (`linux/arm64`: `parse_platform`). The entry's platform is the
    index entry's when an index was resolved, else this host's (as builds record it). Raises
    `UsageError`, `RegistryError` and its subclasses, `SignatureError`, `StoreError`.
    """
    reference = parse_reference(ref)
    store = LocalStore(settings.storage)
    requirement = trust.requirement(reference.name) if trust is not None else None
    blobs: dict[str, bytes] = {}
    with client_for(reference, settings, "pull") as client:
        manifest_bytes, manifest, chosen, named = _fetch_program_manifest(
            client, reference, parse_platform(platform) if platform else None)
        verified = None
        if requirement is not None:
            from bee.oci.sign.remote import verify_in_registry

            verified = verify_in_registry(client, named, requirement, identity=reference.name, subject=ref)
        if program_layer(manifest) is None:  # another project's layout, or not a program at all
            from bee.oci.layouts.fetch import read_other_layout

            converted = read_other_layout(client, manifest, sha256_digest(manifest_bytes), ref)
            return _store_converted(store, ref, converted, chosen, verified)
        with progress or Silent() as bars:
            for desc in [manifest["config"], *manifest["layers"]]:
                digest, size = desc["digest"], desc["size"]
                if not SHA256_PATTERN.fullmatch(digest):
                    raise UnsupportedArtifactError(f"blob {digest} of {ref} is not a sha256 digest; "
                                                   "bee's store holds sha256 digests only")
                if size > MAX_BLOB_SIZE:
                    raise IntegrityError(f"blob {digest} of {ref} is {size} bytes, more than bee's limit of "
                                         f"{MAX_BLOB_SIZE >> 20} MiB")
                if digest in blobs or store.has_blob(digest, size):
                    continue
                title = (desc.get("annotations") or {}).get(mediatypes.TITLE) or desc.get("mediaType", "blob")
                task = bars.task(f"{_short(digest)} {title}", size)
                blobs[digest] = client.fetch_blob(digest, size, task)
                task.finish()
    if verified is not None:
        from bee.oci.sign.local import store_signatures

        store_signatures(store, reference.name, verified.digest, [(verified.descriptor, verified.payload)])
    return store.import_manifest(ref, manifest_bytes, blobs, chosen or Platform.host())


def _store_converted(store: LocalStore, ref: str, converted: Converted, platform: Platform | None,
                     verified: Verified | None) -> StoreEntry:
    """Store a program read from another layout as Bumblebee's (its origin in annotations), say what of the
    image bee does not use (one warning each), and keep its verified signature."""
    from bee.log import get as get_logger  # bee's own logging: the same format under `bee run` as elsewhere

    for notice in converted.notices:
        get_logger("bee.oci").warning(notice)
    if verified is not None:
        from bee.oci.sign.local import store_signatures

        store_signatures(store, parse_reference(ref).name, verified.digest, [(verified.descriptor, verified.payload)])
    return store.save_program(ref, converted.elf, platform=platform or Platform.host(),
                              annotations=converted.annotations)


def login(server: str, username: str, password: str, settings: TransferSettings) -> Path:
    """Check `username`/`password` against `server` (GET /v2/ through its challenge), then save them.

    Returns the credentials file written. Raises `UsageError` (bad server), `RegistryAuthError`
    (refused: nothing is saved), `RegistryError`, `CredentialsError`.
    """
    host = server_host(server)
    try:
        registry = parse_reference(f"{host}/x").registry
    except InvalidReferenceError:
        registry = None
    if registry is None:
        raise UsageError(f"{server!r} is not a registry host name (such as ghcr.io or localhost:5000)")
    endpoint = Endpoint.of(host, "", plain_http=settings.plain_http, insecure=settings.insecure)
    given = CredentialLookup(Credentials(username, password, LOGIN_SOURCE))
    with RegistryClient(endpoint, subject=host, scope_actions=None, credentials=lambda: given,
                        timeout=settings.timeout) as client:
        client.ping()
    return save_login(settings.config_dir, server, username, password)

