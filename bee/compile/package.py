"""`bee package REF IMAGE`: a container image that runs one stored program.

The image is built FROM the runner image (bee, Python, libbpf) with a store holding just REF,
copied blob for blob (same digests), and `bee run --no-tty REF` as its command.
"""

from __future__ import annotations

import io
import json
import tarfile
from collections.abc import Callable
from pathlib import Path

import bee
from bee.compile.container import docker_client
from bee.errors import BuildError
from bee.extras import require
from bee.oci.store import LocalStore

DEFAULT_RUNNER_IMAGE = f"bee-runner:{bee.__version__}"
IMAGE_STORE = "/root/.bumblebee/store"

Progress = Callable[[str], None]


def _add(tar: tarfile.TarFile, name: str, data: bytes, mode: int = 0o644) -> None:
    info = tarfile.TarInfo(name)
    info.size, info.mode = len(data), mode
    tar.addfile(info, io.BytesIO(data))


def package_context(store_root: Path, ref: str, base_image: str) -> bytes:
    """The build context (a tar): a Dockerfile and a one-entry OCI store for `ref`.

    Raises RefNotFoundError, StoreError, InvalidReferenceError, PlatformError (an index without this
    machine's platform).
    """
    store = LocalStore(store_root)
    entry = store.for_platform(store.resolve(ref))  # of an index: this machine's program, stored as one manifest
    manifest = store.manifest(entry)
    store.program_bytes(entry)  # checks the program blob is there and intact before copying
    root_blobs = store_root / "blobs" / "sha256"  # the OCI image layout's blob directory
    digests = [entry.digest, manifest["config"]["digest"], *(layer["digest"] for layer in manifest["layers"])]
    descriptor = {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": entry.digest,
                  "size": entry.size, "annotations": {"org.opencontainers.image.ref.name": entry.ref}}
    if entry.platform is not None:
        descriptor["platform"] = entry.platform.to_json()
    index = {"schemaVersion": 2, "manifests": [descriptor]}
    dockerfile = (f"FROM {base_image}\n"
                  f"COPY store/ {IMAGE_STORE}/\n"
                  f'LABEL org.opencontainers.image.description="bee program {entry.ref}"\n'
                  f"CMD {json.dumps(['run', '--no-tty', entry.ref])}\n")
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        _add(tar, "Dockerfile", dockerfile.encode())
        _add(tar, "store/oci-layout", b'{"imageLayoutVersion":"1.0.0"}')
        _add(tar, "store/index.json", json.dumps(index, separators=(",", ":")).encode())
        for digest in dict.fromkeys(digests):
            hex_digest = digest.split(":", 1)[1]
            _add(tar, f"store/blobs/sha256/{hex_digest}", (root_blobs / hex_digest).read_bytes(), 0o444)
    return buffer.getvalue()


def package(store_root: Path, ref: str, image: str, *, base_image: str = DEFAULT_RUNNER_IMAGE,
            builder: str = "docker", progress: Progress = lambda _: None) -> str:
    """Build image `image` running `ref`; returns its id. Raises BuildError (engine unreachable, base
    image missing, build failure), MissingExtraError (no Docker SDK) and the store's errors."""
    require("docker", "bee package")
    from docker.errors import APIError, ImageNotFound  # the Docker SDK (bee[build]): only for container work

    context = package_context(store_root, ref, base_image)
    client = docker_client(builder)
    try:
        client.images.get(base_image)
    except ImageNotFound:
        raise BuildError(f"the runner image {base_image} is missing; build it with `make runner-image` "
                         "or name another with --bee-image") from None
    image_id = None
    try:
        for chunk in client.api.build(fileobj=io.BytesIO(context), custom_context=True, tag=image, rm=True,
                                      forcerm=True, decode=True, pull=False):
            if "error" in chunk:
                raise BuildError(f"building {image} failed: {chunk['error'].strip()}")
            if "stream" in chunk and chunk["stream"].strip():
                progress(chunk["stream"].rstrip())
            if "aux" in chunk and "ID" in chunk["aux"]:
                image_id = chunk["aux"]["ID"]
    except APIError as exc:
        raise BuildError(f"building {image} failed: {exc.explanation or exc}") from exc
    return image_id or client.images.get(image).id
