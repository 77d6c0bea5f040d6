"""Inspektor Gadget images: an OCI index of per-architecture manifests (artifactType
`application/vnd.gadget.v1+binary`), each with `gadget.yaml` as its config (or the empty descriptor)
and the raw ELF as the one layer of type `EBPF`; a Wasm module (the gadget's user-space logic) and
BTF for kernels without their own (btfgen) may come as more layers. bee runs the ELF only and says
so for each part it leaves out.
"""

from __future__ import annotations

import json
from collections.abc import Callable

from bee.oci.errors import UnsupportedArtifactError
from bee.oci.layouts.converted import GADGET, SOURCE_DIGEST, SOURCE_FORMAT, SOURCE_METADATA, Converted
from bee.oci.layouts.inspect import program_notices

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing: see docs/dev/startup.md
if TYPE_CHECKING:
    from typing import Any

ARTIFACT = "application/vnd.gadget.v1+binary"
CONFIG = "application/vnd.gadget.config.v1+yaml"
EBPF = "application/vnd.gadget.ebpf.program.v1+binary"
WASM = "application/vnd.gadget.wasm.program.v1+binary"
BTFGEN = "application/vnd.gadget.btfgen.v1+binary"
#: gadget.yaml's fields shown by `bee describe` (scalars only).
METADATA_FIELDS = ("name", "description", "homepageURL", "documentationURL", "sourceURL")
#: Largest gadget.yaml read.
MAX_CONFIG = 1 << 20

_LEFT_OUT = {
    WASM: "its Wasm module (the gadget's user-space logic) is not run by bee",
    BTFGEN: "its BTF for kernels without their own (btfgen) is not used: bee needs the kernel's BTF",
}


def is_gadget(manifest: dict[str, Any]) -> bool:
    """Whether an image manifest is an Inspektor Gadget one."""
    config = manifest.get("config")
    config_type = config.get("mediaType") if isinstance(config, dict) else None
    return (manifest.get("artifactType") == ARTIFACT or config_type == CONFIG
            or any(str(layer.get("mediaType", "")).startswith("application/vnd.gadget.")
                   for layer in manifest.get("layers") or [] if isinstance(layer, dict)))


def _metadata(config: bytes | None, what: str) -> dict[str, str]:
    if not config or config == b"{}":
        return {}
    import yaml

    if len(config) > MAX_CONFIG:
        raise UnsupportedArtifactError(f"the gadget.yaml of {what} is over {MAX_CONFIG >> 20} MiB")
    try:
        document = yaml.safe_load(config)
    except (yaml.YAMLError, RecursionError, UnicodeDecodeError):
        raise UnsupportedArtifactError(f"the gadget.yaml of {what} is not YAML") from None
    if not isinstance(document, dict):
        raise UnsupportedArtifactError(f"the gadget.yaml of {what} is not a mapping")
    return {k: str(document[k]) for k in METADATA_FIELDS if isinstance(document.get(k), str | int | float)}


def read_gadget(manifest: dict[str, Any], config: bytes | None, digest: str,
                fetch: Callable[[dict[str, Any]], bytes], what: str) -> Converted:
    """The program of the Inspektor Gadget manifest `manifest` (digest `digest`, config bytes `config`:
    gadget.yaml or None); `fetch(descriptor)` gives a blob's checked bytes. UnsupportedArtifactError for
    what breaks the layout."""
    layers = manifest["layers"]
    programs = [layer for layer in layers if layer.get("mediaType") == EBPF]
    if len(programs) != 1:
        raise UnsupportedArtifactError(f"{what} is an Inspektor Gadget image with {len(programs)} eBPF program "
                                       f"layers ({EBPF}); the layout has exactly one")
    notices = []
    for layer in layers:
        kind = str(layer.get("mediaType"))
        if kind in _LEFT_OUT:
            notices.append(f"{what}: {_LEFT_OUT[kind]}")
        elif kind != EBPF:
            notices.append(f"{what}: its layer of type {kind} is not used by bee")
    elf = fetch(programs[0])
    if not elf.startswith(b"\x7fELF"):
        raise UnsupportedArtifactError(f"the eBPF program layer of {what} is not an ELF file")
    metadata = _metadata(config, what)
    annotations = {SOURCE_FORMAT: GADGET, SOURCE_DIGEST: digest,
                   SOURCE_METADATA: json.dumps(metadata, sort_keys=True, separators=(",", ":"))}
    return Converted(elf, annotations, (*notices, *program_notices(elf, what)))
