"""The local store: an OCI image-layout directory shared with Bumblebee (`~/.bumblebee/store`).

Layout: `oci-layout`, `index.json` (one manifest descriptor per name, the name in the
`org.opencontainers.image.ref.name` annotation exactly as typed) and content-addressed
`blobs/sha256/<hex>`. Names are never used as paths.

Every file is written with `fileutil.atomic_write`; every read-modify-write of
`index.json` (and the blob writes and garbage collection that go with it) runs under an
exclusive `flock` on `<root>/.bee.lock`; readers take a shared lock when they can.
Descriptors and index fields this module does not know are kept when it rewrites the
index. All failures are `StoreError` (or `RefNotFoundError`, `InvalidReferenceError`)
with one sentence; no method leaves a file open. Which blobs names reach, the check of every blob
and the garbage left by `remove` are bee.oci.blobcheck's.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterator, Mapping
from pathlib import Path

from bee.errors import InvalidReferenceError, PlatformError, RefNotFoundError, StoreError
from bee.inputs import MAX_OBJECT_SIZE
from bee.oci import mediatypes
from bee.oci.fileutil import (
    TEMP_PREFIX,
    FileTooLarge,
    atomic_write,
    locked,
    read_bounded,
    remove_stale_temporaries,
)
from bee.oci.index import (
    Descriptor,
    Platform,
    StoreEntry,
    encode_index,
    find_named,
    image_index,
    manifest_descriptor,
    manifests_of,
    parse_index,
    ref_name,
    renamed,
    set_name,
    to_entry,
)
from bee.oci.manifest import (
    MAX_MANIFEST_SIZE,
    SHA256_PATTERN,
    parse_manifest,
    program_layer,
    program_manifest,
    sha256_digest,
)
from bee.oci.reference import parse_reference

TYPE_CHECKING = False  # typing's flag without importing typing: ~3 ms of bee run (docs/dev/startup.md)
if TYPE_CHECKING:
    from typing import Any

    from bee.oci.blobcheck import StoreCheck

LOCK_NAME = ".bee.lock"
MAX_INDEX = 64 << 20  # index.json: ~300 bytes a name, so far more names than any store holds
MAX_LAYOUT = 64 << 10  # oci-layout: one short JSON object

__all__ = ["LOCK_NAME", "LocalStore", "Platform", "StoreEntry"]


class LocalStore:
    """An OCI image-layout store at `root` (created on first write; a missing store is empty)."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.index_path = self.root / "index.json"
        self.layout_path = self.root / "oci-layout"
        self.blobs_dir = self.root / "blobs" / "sha256"
        self.lock_path = self.root / LOCK_NAME

    # -- reading ---------------------------------------------------------------------------

    def present(self) -> bool:
        """Whether the store's root is a directory (a missing store is an empty one); raises StoreError when
        it cannot be looked at (a directory above it another user's)."""
        try:
            return self.root.is_dir()
        except OSError as exc:
            raise StoreError(f"cannot look at the local store {self.root}: {exc.strerror or exc}; point --storage "
                             "(or BEE_STORAGE) at a directory this user can read") from None

    def entries(self) -> list[StoreEntry]:
        """All names in index order (a name listed twice appears once, with its last descriptor)."""
        with self._reading():
            manifests = manifests_of(self._read_index())
        by_name: dict[str, StoreEntry] = {}
        for desc in manifests:
            name = ref_name(desc)
            if name is not None:
                by_name[name] = to_entry(desc)
        return list(by_name.values())

    def resolve(self, ref: str) -> StoreEntry:
        """The entry stored under `ref`, or for `name@sha256:...` one whose manifest has that digest.

        The entry keeps the stored name. Raises `RefNotFoundError`, `InvalidReferenceError`
        (only for a malformed ref that is not stored), `StoreError`.
        """
        with self._reading():
            manifests = manifests_of(self._read_index())
        return to_entry(self._find(manifests, ref))

    def manifest(self, entry: StoreEntry) -> dict[str, Any]:
        """The decoded, digest-checked manifest of `entry` (of an index: this host's entry's, `for_platform`);
        raises `StoreError`, `PlatformError`."""
        if entry.is_index:
            entry = self.for_platform(entry)
        data = self._read_blob(entry.digest, entry.size, f"the manifest of {entry.ref}", MAX_MANIFEST_SIZE)
        try:
            return parse_manifest(data)
        except ValueError as exc:
            raise StoreError(f"the manifest of {entry.ref} in the local store is not valid: {exc}") from None

    def platforms(self, entry: StoreEntry) -> list[StoreEntry]:
        """The per-platform entries of an index `entry` (each named `entry.ref`, with its manifest's digest and
        platform), in index order; `[entry]` for a single manifest. Raises `StoreError`."""
        if not entry.is_index:
            return [entry]
        data = self._read_blob(entry.digest, entry.size, f"the index of {entry.ref}", MAX_MANIFEST_SIZE)
        try:
            manifests = manifests_of(parse_index(data))
        except ValueError as exc:
            raise StoreError(f"the index of {entry.ref} in the local store is not valid: {exc}") from None
        return [StoreEntry(ref=entry.ref, digest=desc["digest"], size=desc["size"],
                           platform=Platform.from_json(desc.get("platform") or {}), annotations=entry.annotations)
                for desc in manifests]

    def for_platform(self, entry: StoreEntry, architecture: str | None = None) -> StoreEntry:
        """The entry of `entry`'s manifest for `linux/<architecture>` (GOARCH or `uname -m` name; default this
        host's) when `entry` is an index; `entry` itself otherwise. Raises `PlatformError` (listing the
        platforms there are), `StoreError`."""
        if not entry.is_index:
            return entry
        from bee.oci.index import goarch

        wanted = goarch(architecture)
        choices = self.platforms(entry)
        for choice in choices:
            platform = choice.platform
            if platform is not None and platform.os.lower() == "linux" and goarch(platform.architecture) == wanted:
                return choice
        listed = ", ".join(f"{c.platform.os}/{c.platform.architecture}" for c in choices if c.platform) or "none"
        raise PlatformError(f"{entry.ref} was built for {listed}, not for linux/{wanted}; build it for this "
                            f"platform too (bee build --platform linux/{wanted},...)")

    def manifest_bytes(self, entry: StoreEntry) -> bytes:
        """The exact, digest-checked manifest bytes of `entry` (what a push sends); raises `StoreError`."""
        return self._read_blob(entry.digest, entry.size, f"the manifest of {entry.ref}", MAX_MANIFEST_SIZE)

    def has_blob(self, digest: str, size: int) -> bool:
        """True when the store holds blob `digest` with exactly this size and content."""
        return SHA256_PATTERN.fullmatch(digest) is not None and self._has_blob(digest, size)

    def blob_path(self, digest: str) -> Path:
        """Where blob `digest` lives (`blobs/sha256/<hex>`, whether or not it exists); raises `StoreError`."""
        return self._blob_path(digest)

    def program_bytes(self, entry: StoreEntry) -> bytes:
        """The ELF of `entry` (layer by program media type, else titled `program.o`); raises `StoreError`."""
        layer = program_layer(self.manifest(entry))
        if layer is None:
            raise StoreError(
                f"{entry.ref} has no eBPF program layer "
                f"(media type {mediatypes.PROGRAM} or title {mediatypes.PROGRAM_TITLE})"
            )
        return self._read_blob(layer["digest"], layer["size"], f"the program of {entry.ref}", MAX_OBJECT_SIZE)

    def check(self, *, repair: bool = False) -> StoreCheck:
        """Read every blob against its digest, find blobs stored names need that are missing, and
        temporary files of killed writers; with `repair`, delete the corrupt blobs and stale temporaries
        (under the write lock), so the next build or pull of those programs writes them again.

        Raises `StoreError` (an unreadable store or a corrupted `index.json`).
        """
        from bee.oci.blobcheck import check_blobs  # `bee store check` only

        if repair:
            with self._writing(clean=False):  # the stale temporaries are reported, then removed
                return check_blobs(self.root, self.blobs_dir, manifests_of(self._read_index()), repair=True)
        with self._reading():
            return check_blobs(self.root, self.blobs_dir, manifests_of(self._read_index()), repair=False)

    # -- writing ---------------------------------------------------------------------------

    def save_program(
        self,
        ref: str,
        program: bytes,
        *,
        platform: Platform | None,
        description: str | None = None,
        authors: str | None = None,
        annotations: dict[str, str] | None = None,
    ) -> StoreEntry:
        """Store `program` under `ref` as Bumblebee does (config, program, manifest, then index), with
        more manifest `annotations` if given.

        An existing `ref` is replaced in place. Raises `InvalidReferenceError`, `StoreError`.
        """
        parse_reference(ref)
        manifest_bytes = program_manifest(program, description=description, authors=authors,
                                          annotations=annotations)
        blobs = {sha256_digest(mediatypes.CONFIG_BYTES): mediatypes.CONFIG_BYTES, sha256_digest(program): program}
        return self._store(ref, manifest_bytes, blobs, (), platform)

    def save_index(self, ref: str, programs: list[tuple[Platform, bytes]]) -> StoreEntry:
        """Store one program per platform under `ref`: each as Bumblebee's manifest (config, program), and an
        OCI image index over them, which `ref` names. Raises `InvalidReferenceError`, `StoreError`."""
        parse_reference(ref)
        blobs: dict[str, bytes] = {sha256_digest(mediatypes.CONFIG_BYTES): mediatypes.CONFIG_BYTES}
        manifests: list[tuple[bytes, Platform]] = []
        for platform, program in programs:
            manifest_bytes = program_manifest(program)
            blobs[sha256_digest(program)] = program
            blobs[sha256_digest(manifest_bytes)] = manifest_bytes
            manifests.append((manifest_bytes, platform))
        return self._store(ref, image_index(manifests), blobs, (), None, media_type=mediatypes.INDEX)

    def import_manifest(
        self,
        ref: str,
        manifest_bytes: bytes,
        blobs: Mapping[str, bytes],
        platform: Platform | None,
    ) -> StoreEntry:
        """Store a fetched manifest and its blobs (keyed by digest) under `ref`.

        Every blob is checked against its descriptor's size and sha256 (and the manifest
        against a digest in `ref`) before anything is written; a blob missing from
        `blobs` must already be in the store. On any mismatch raises `StoreError` and
        the store is untouched. Also raises `InvalidReferenceError`.
        """
        parsed = parse_reference(ref)
        try:
            manifest = parse_manifest(manifest_bytes)
        except ValueError as exc:
            raise StoreError(f"the manifest of {ref} is not valid: {exc}") from None
        digest = sha256_digest(manifest_bytes)
        if parsed.digest is not None and parsed.digest != digest:
            raise StoreError(f"the manifest of {ref} has digest {digest}, not the {parsed.digest} asked for")
        to_write: dict[str, bytes] = {}
        required: list[tuple[str, int]] = []
        for desc in [manifest["config"], *manifest["layers"]]:
            blob_digest, size = desc["digest"], desc["size"]
            if not SHA256_PATTERN.fullmatch(blob_digest):
                raise StoreError(f"blob {blob_digest} of {ref} uses a digest algorithm other than sha256")
            data = blobs.get(blob_digest)
            if data is None:
                required.append((blob_digest, size))
                continue
            if len(data) != size:
                raise StoreError(f"blob {blob_digest} of {ref} is {len(data)} bytes, its descriptor says {size}")
            actual = sha256_digest(data)
            if actual != blob_digest:
                raise StoreError(f"blob {blob_digest} of {ref} does not match its digest (its content is {actual})")
            to_write[blob_digest] = bytes(data)
        for blob_digest, size in required:  # checked again under the lock
            if not self._has_blob(blob_digest, size):
                raise StoreError(f"blob {blob_digest} of {ref} was not provided and is not in the local store")
        return self._store(ref, manifest_bytes, to_write, required, platform)

    def tag(self, source: str, target: str) -> StoreEntry:
        """Add the name `target` for the manifest `source` resolves to (same digest and platform).

        An existing `target` is replaced. Raises `RefNotFoundError`, `InvalidReferenceError`, `StoreError`.
        """
        parse_reference(target)
        if not self.present():
            raise self._not_found(source)
        with self._writing():
            index = self._read_index()
            manifests = manifests_of(index)
            desc = renamed(self._find(manifests, source), target)
            self._write_index(index, set_name(manifests, target, desc))
        return to_entry(desc)

    def remove(self, ref: str) -> StoreEntry:
        """Remove the name `ref` (exactly as stored), then delete blobs no remaining name uses.

        Returns the removed entry. Raises `RefNotFoundError`, `InvalidReferenceError`, `StoreError`.
        """
        if not self.present():
            raise self._not_found(ref)
        with self._writing():
            index = self._read_index()
            manifests = manifests_of(index)
            removed = find_named(manifests, ref)
            if removed is None:
                raise self._not_found(ref)
            remaining = [desc for desc in manifests if ref_name(desc) != ref]
            self._write_index(index, remaining)
            from bee.oci.blobcheck import collect_garbage  # `bee rm` only

            collect_garbage(self.blobs_dir, remaining)
        return to_entry(removed)

    # -- internals -------------------------------------------------------------------------

    def _not_found(self, ref: str, manifests: list[Descriptor] | None = None) -> RefNotFoundError:
        """Not stored: with the names the store holds for the same repository (names match exactly as typed,
        as Bumblebee stores them, so `probe` is not `probe:latest`), else how to get it."""
        from bee.oci.sign.envelope import is_signature_ref  # only on this error path

        parsed = parse_reference(ref)
        same: list[str] = []
        for desc in manifests or []:
            name = ref_name(desc)
            if name is None or is_signature_ref(name) or name in same:
                continue
            with contextlib.suppress(InvalidReferenceError):
                if parse_reference(name).name == parsed.name:
                    same.append(name)
        if same:
            shown = ", ".join(same[:5]) + (f" and {len(same) - 5} more" if len(same) > 5 else "")
            return RefNotFoundError(f"{ref} is not in the local store ({self.root}), which holds {shown} of that "
                                    "name: names are matched exactly as typed; use one of those")
        untagged = (f" (an untagged name is matched as typed, not as {ref}:latest)"
                    if parsed.tag is None and parsed.digest is None else "")
        return RefNotFoundError(
            f"{ref} is not in the local store ({self.root}){untagged}; build it with `bee build` or pull it with "
            "`bee pull`"
        )

    def _find(self, manifests: list[Descriptor], ref: str) -> Descriptor:
        desc = find_named(manifests, ref)
        if desc is not None:
            return desc
        parsed = parse_reference(ref)
        if parsed.digest is not None:
            matches = [d for d in manifests if d.get("digest") == parsed.digest and ref_name(d) is not None]
            for match in matches:
                with contextlib.suppress(InvalidReferenceError):
                    if parse_reference(ref_name(match) or "").name == parsed.name:
                        return match
            if matches:
                return matches[0]
        raise self._not_found(ref, manifests)

    @contextlib.contextmanager
    def _reading(self) -> Iterator[None]:
        with locked(self.lock_path, exclusive=False, create=False):
            yield

    @contextlib.contextmanager
    def _writing(self, *, clean: bool = True) -> Iterator[None]:
        """Create the root, hold the exclusive lock (first deleting the temporary files of killed
        writers, older than `STALE_TEMP_AGE`, unless `clean` is False); turn `OSError` into `StoreError`."""
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            with locked(self.lock_path, exclusive=True):
                if clean:
                    remove_stale_temporaries(self.root)
                    remove_stale_temporaries(self.blobs_dir)
                yield
        except (FileExistsError, NotADirectoryError) as exc:
            raise self._not_a_directory() from exc
        except OSError as exc:
            where = Path(exc.filename) if exc.filename else self.root
            if where.name.startswith(TEMP_PREFIX):
                where = where.parent
            raise StoreError(f"cannot write to the local store at {where}: {exc.strerror or exc}") from None

    def _not_a_directory(self) -> StoreError:
        """The store's root, or a directory above it, is a file: name which, and how to point elsewhere."""
        culprit = next((p for p in (self.root, *self.root.parents) if p.exists() and not p.is_dir()), self.root)
        where = "" if culprit == self.root else f" ({culprit} is a file)"
        return StoreError(f"the local store {self.root} is not a directory{where}; point --storage "
                          "(or BEE_STORAGE) at a directory")

    def _corrupted(self, reason: str) -> StoreError:
        return StoreError(f"the local store index {self.index_path} is corrupted: {reason}")

    def _read_index(self) -> dict[str, Any] | None:
        """The checked index, or None when there is none yet. Raises `StoreError`."""
        try:
            data = read_bounded(self.index_path, MAX_INDEX)
        except FileNotFoundError:
            return None
        except NotADirectoryError:
            raise self._not_a_directory() from None
        except FileTooLarge as exc:
            raise self._corrupted(f"it is {exc.size} bytes, more than bee's limit of {MAX_INDEX >> 20} MiB "
                                  "for an index") from None
        except OSError as exc:
            raise StoreError(f"cannot read the local store index {self.index_path}: {exc.strerror}") from None
        try:
            return parse_index(data)
        except ValueError as exc:
            raise self._corrupted(str(exc)) from None

    def _write_index(self, index: dict[str, Any] | None, manifests: list[Descriptor]) -> None:
        atomic_write(self.index_path, encode_index(index, manifests))

    def _ensure_layout(self) -> None:
        """Create `blobs/sha256` and `oci-layout`, or check an existing `oci-layout`."""
        from bee.oci import gojson  # only writers need it: ~0.7 ms of bee run (docs/dev/startup.md)

        self.blobs_dir.mkdir(parents=True, exist_ok=True)
        try:
            data = read_bounded(self.layout_path, MAX_LAYOUT)
        except FileNotFoundError:
            atomic_write(self.layout_path, gojson.dumps({"imageLayoutVersion": mediatypes.LAYOUT_VERSION}))
            return
        except FileTooLarge:
            data = b""
        try:
            version = json.loads(data).get("imageLayoutVersion")
        except (ValueError, AttributeError, RecursionError):
            version = None
        if version != mediatypes.LAYOUT_VERSION:
            raise StoreError(
                f"the local store {self.root} is not an OCI image layout version "
                f"{mediatypes.LAYOUT_VERSION} (see {self.layout_path})"
            )

    def _blob_path(self, digest: str) -> Path:
        match = SHA256_PATTERN.fullmatch(digest)
        if match is None:
            raise StoreError(f"the local store {self.root} cannot hold blob {digest} (only sha256 digests)")
        return self.blobs_dir / match.group(1)

    def _has_blob(self, digest: str, size: int) -> bool:
        """True when the blob exists with exactly this size and digest (hashed in chunks: any size)."""
        from bee.oci.blobcheck import file_digest  # writers only

        path = self._blob_path(digest)
        try:
            return os.stat(path).st_size == size and file_digest(path) == digest
        except OSError:
            return False

    def _put_blob(self, digest: str, data: bytes) -> None:
        if not self._has_blob(digest, len(data)):
            atomic_write(self._blob_path(digest), data, mode=0o444)

    def _read_blob(self, digest: str, size: int, what: str, limit: int) -> bytes:
        """Blob `digest`, checked against `size` and its digest; refused before reading when `size` (what
        the store's own records say) or the file is over `limit`. Raises `StoreError`."""
        path = self._blob_path(digest)
        if size > limit:
            raise StoreError(f"{what} is {size} bytes by the local store's records, more than bee's limit of "
                             f"{limit >> 20} MiB: the store {self.root} is damaged; remove that name with `bee rm`")
        with self._reading():
            try:
                data = read_bounded(path, size)
            except FileNotFoundError:
                raise StoreError(f"{what} ({digest}) is missing from the local store {self.root}") from None
            except FileTooLarge:
                data = b""  # not the size recorded: corrupted, said below
            except OSError as exc:
                raise StoreError(f"cannot read {what} from the local store ({path}): {exc.strerror}") from None
        if len(data) != size or sha256_digest(data) != digest:
            raise StoreError(f"{what} in the local store is corrupted: {path} does not match its digest")
        return data

    def _store(
        self,
        ref: str,
        manifest_bytes: bytes,
        blobs: Mapping[str, bytes],
        required: tuple[tuple[str, int], ...] | list[tuple[str, int]],
        platform: Platform | None,
        *,
        media_type: str = mediatypes.MANIFEST,
    ) -> StoreEntry:
        """Write blobs, the manifest (or index) and the descriptor for `ref`, all under the write lock."""
        desc = manifest_descriptor(ref, manifest_bytes, platform, media_type)
        with self._writing():
            index = self._read_index()
            self._ensure_layout()
            for digest, size in required:
                if not self._has_blob(digest, size):
                    raise StoreError(f"blob {digest} of {ref} was not provided and is not in the local store")
            for digest, data in blobs.items():
                self._put_blob(digest, data)
            self._put_blob(desc["digest"], manifest_bytes)
            self._write_index(index, set_name(manifests_of(index), ref, desc))
        return to_entry(desc)
