"""bpfman and Inspektor Gadget images built in the tests by raw HTTP, in each project's published layout
(written from their specifications, sharing no code with bee): single manifests and indexes, OCI and
Docker media types, and malformed variants."""

from __future__ import annotations

import gzip
import io
import json
import os
import tarfile
from typing import Any

from tests.registry.client import RawClient

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_TAR_GZIP = "application/vnd.oci.image.layer.v1.tar+gzip"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json"
DOCKER_TAR_GZIP = "application/vnd.docker.image.rootfs.diff.tar.gzip"
GADGET_ARTIFACT = "application/vnd.gadget.v1+binary"
GADGET_CONFIG = "application/vnd.gadget.config.v1+yaml"
GADGET_EBPF = "application/vnd.gadget.ebpf.program.v1+binary"
GADGET_WASM = "application/vnd.gadget.wasm.program.v1+binary"
EMPTY = "application/vnd.oci.empty.v1+json"

ARCH = {"x86_64": "amd64", "aarch64": "arm64"}.get(os.uname().machine, os.uname().machine)


def tar_gz(files: dict[str, bytes], *, symlinks: dict[str, str] | None = None) -> bytes:
    """A gzip-compressed tar of `files` (name → bytes) and `symlinks` (name → target)."""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w") as archive:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
        for name, target in (symlinks or {}).items():
            info = tarfile.TarInfo(name)
            info.type, info.linkname = tarfile.SYMTYPE, target
            archive.addfile(info)
    return gzip.compress(raw.getvalue())


def gzip_bomb(size: int) -> bytes:
    """A gzip stream of `size` zero bytes (a few kilobytes per megabyte)."""
    out = io.BytesIO()
    with gzip.GzipFile(fileobj=out, mode="wb") as stream:
        chunk = bytes(1 << 20)
        for _ in range(size >> 20):
            stream.write(chunk)
    return out.getvalue()


def _desc(media_type: str, data: bytes, **extra: Any) -> dict[str, Any]:
    from tests.registry.cosign import digest_of

    return {"mediaType": media_type, "size": len(data), "digest": digest_of(data), **extra}


def push_bpfman(client: RawClient, repo: str, tag: str, layers: list[bytes], labels: dict[str, str], *,
                docker: bool = False, index: bool = False) -> str:
    """A bpfman bytecode image: image config with `labels`, the tar+gzip `layers`; returns the digest of
    what `tag` names (the index when `index`)."""
    config = json.dumps({"architecture": ARCH, "os": "linux", "config": {"Labels": labels},
                         "rootfs": {"type": "layers", "diff_ids": []}}).encode()
    client.upload_blob(repo, config)
    for layer in layers:
        client.upload_blob(repo, layer)
    manifest_type = DOCKER_MANIFEST if docker else OCI_MANIFEST
    manifest = json.dumps({"schemaVersion": 2, "mediaType": manifest_type,
                           "config": _desc(DOCKER_CONFIG if docker else OCI_CONFIG, config),
                           "layers": [_desc(DOCKER_TAR_GZIP if docker else OCI_TAR_GZIP, layer)
                                      for layer in layers]}).encode()
    if not index:
        return client.put_manifest(repo, tag, manifest, manifest_type)
    digest = client.put_manifest(repo, _desc(manifest_type, manifest)["digest"], manifest, manifest_type)
    list_type = DOCKER_LIST if docker else OCI_INDEX
    entries = [{**_desc(manifest_type, manifest), "platform": {"architecture": ARCH, "os": "linux"}}]
    assert digest
    return client.put_manifest(repo, tag, json.dumps({"schemaVersion": 2, "mediaType": list_type,
                                                      "manifests": entries}).encode(), list_type)


def push_gadget(client: RawClient, repo: str, tag: str, programs: list[bytes], *, gadget_yaml: bytes | None,
                wasm: bytes | None = None) -> str:
    """An Inspektor Gadget image: an index with this host's manifest (artifactType, gadget.yaml or the empty
    config, the eBPF `programs` layers, a Wasm layer); returns the index's digest."""
    config = gadget_yaml if gadget_yaml is not None else b"{}"
    client.upload_blob(repo, config)
    layers = []
    for program in programs:
        client.upload_blob(repo, program)
        layers.append(_desc(GADGET_EBPF, program))
    if wasm is not None:
        client.upload_blob(repo, wasm)
        layers.append(_desc(GADGET_WASM, wasm))
    manifest = json.dumps({"schemaVersion": 2, "mediaType": OCI_MANIFEST, "artifactType": GADGET_ARTIFACT,
                           "config": _desc(GADGET_CONFIG if gadget_yaml is not None else EMPTY, config),
                           "layers": layers}).encode()
    client.put_manifest(repo, _desc(OCI_MANIFEST, manifest)["digest"], manifest, OCI_MANIFEST)
    index = json.dumps({"schemaVersion": 2, "mediaType": OCI_INDEX, "artifactType": GADGET_ARTIFACT,
                        "manifests": [{**_desc(OCI_MANIFEST, manifest, artifactType=GADGET_ARTIFACT),
                                       "platform": {"architecture": ARCH, "os": "linux"}}]}).encode()
    return client.put_manifest(repo, tag, index, OCI_INDEX)
