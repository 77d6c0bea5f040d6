"""bpfman's bytecode images: a container image (OCI or Docker schema 2) with exactly one tar+gzip layer
holding the object at its root, and `io.ebpf.*` labels in its image config: `io.ebpf.programs` and
`io.ebpf.maps` (JSON objects, name → type), or in older images `io.ebpf.program_name`,
`io.ebpf.bpf_function_name`, `io.ebpf.program_type`, `io.ebpf.filename` (and `io.ebpf.section_name`).
"""

from __future__ import annotations

import json
from collections.abc import Callable

from bee.oci.errors import UnsupportedArtifactError
from bee.oci.layouts.converted import BPFMAN, SOURCE_DIGEST, SOURCE_FORMAT, SOURCE_METADATA, Converted
from bee.oci.layouts.inspect import program_notices
from bee.oci.layouts.tarlayer import single_object

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing: see docs/dev/startup.md
if TYPE_CHECKING:
    from typing import Any

IMAGE_CONFIGS = ("application/vnd.oci.image.config.v1+json", "application/vnd.docker.container.image.v1+json")
TAR_GZIP = ("application/vnd.oci.image.layer.v1.tar+gzip", "application/vnd.docker.image.rootfs.diff.tar.gzip")
#: Labels whose values are JSON objects of names to types.
JSON_LABELS = ("io.ebpf.programs", "io.ebpf.maps")


def ebpf_labels(config: bytes, what: str) -> dict[str, str]:
    """The `io.ebpf.*` labels of an image config (`config.Labels`); empty when it has none."""
    try:
        document = json.loads(config)
    except (ValueError, RecursionError):
        raise UnsupportedArtifactError(f"the image config of {what} is not JSON") from None
    inner = document.get("config") if isinstance(document, dict) else None
    labels = inner.get("Labels") if isinstance(inner, dict) else None
    if not isinstance(labels, dict):
        return {}
    return {k: v for k, v in labels.items() if isinstance(k, str) and k.startswith("io.ebpf.") and isinstance(v, str)}


def _checked(labels: dict[str, str], what: str) -> dict[str, Any]:
    metadata: dict[str, Any] = dict(labels)
    for name in JSON_LABELS:
        if name not in labels:
            continue
        try:
            value = json.loads(labels[name])
        except (ValueError, RecursionError):
            raise UnsupportedArtifactError(f"the label {name} of {what} is not JSON: {labels[name][:60]!r}") from None
        if not isinstance(value, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in value.items()):
            raise UnsupportedArtifactError(f"the label {name} of {what} is not a JSON object of names to types")
        metadata[name] = value
    return metadata


def read_bpfman(manifest: dict[str, Any], labels: dict[str, str], digest: str,
                fetch: Callable[[dict[str, Any]], bytes], what: str) -> Converted:
    """The program of the bpfman image `manifest` (digest `digest`) with its `labels`; `fetch(descriptor)`
    gives a blob's checked bytes. UnsupportedArtifactError (one sentence) for what breaks the layout."""
    metadata = _checked(labels, what)
    layers = manifest["layers"]
    if len(layers) != 1:
        raise UnsupportedArtifactError(f"{what} is a bpfman image with {len(layers)} layers; the layout has exactly "
                                       "one, holding the object")
    layer = layers[0]
    if layer.get("mediaType") not in TAR_GZIP:
        raise UnsupportedArtifactError(f"the layer of {what} has media type {layer.get('mediaType')}, not a "
                                       f"tar+gzip layer ({', '.join(TAR_GZIP)})")
    name, elf = single_object(fetch(layer), f"the layer of {what}", labels.get("io.ebpf.filename"))
    metadata["file"] = name
    annotations = {SOURCE_FORMAT: BPFMAN, SOURCE_DIGEST: digest,
                   SOURCE_METADATA: json.dumps(metadata, sort_keys=True, separators=(",", ":"))}
    return Converted(elf, annotations, program_notices(elf, what))
