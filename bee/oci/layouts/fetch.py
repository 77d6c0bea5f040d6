"""Reading a program from a registry in another project's layout: which layout, and its blobs fetched
bounded and checked (bee.oci.registry), then handed to the layout's reader."""

from __future__ import annotations

from bee.inputs import MAX_OBJECT_SIZE
from bee.oci.artifact import not_a_program
from bee.oci.errors import IntegrityError, UnsupportedArtifactError
from bee.oci.layouts.bpfman import IMAGE_CONFIGS, ebpf_labels, read_bpfman
from bee.oci.layouts.converted import Converted
from bee.oci.layouts.gadget import CONFIG, MAX_CONFIG, is_gadget, read_gadget
from bee.oci.manifest import SHA256_PATTERN
from bee.oci.progress import Silent
from bee.oci.registry import RegistryClient

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing: see docs/dev/startup.md
if TYPE_CHECKING:
    from typing import Any

#: Largest layer read from another layout: a compressed layer is never larger than what it holds.
MAX_LAYER = MAX_OBJECT_SIZE


def read_other_layout(client: RegistryClient, manifest: dict[str, Any], digest: str, what: str) -> Converted:
    """The program of image manifest `manifest` (digest `digest`), which is not Bumblebee's: an Inspektor
    Gadget image, or a bpfman bytecode image. UnsupportedArtifactError naming what it is otherwise."""

    def fetch(desc: dict[str, Any]) -> bytes:
        blob, size = desc["digest"], desc["size"]
        if not SHA256_PATTERN.fullmatch(blob):
            raise UnsupportedArtifactError(f"blob {blob} of {what} is not a sha256 digest; bee reads sha256 only")
        if size > MAX_LAYER:
            raise IntegrityError(f"blob {blob} of {what} is {size} bytes, more than bee reads for a program "
                                 f"({MAX_LAYER >> 20} MiB)")
        return client.fetch_blob(blob, size, Silent().task(blob, size))

    config = manifest["config"]
    if is_gadget(manifest):
        gadget_yaml = fetch(config) if config.get("mediaType") == CONFIG and config["size"] <= MAX_CONFIG else None
        return read_gadget(manifest, gadget_yaml, digest, fetch, what)
    if config.get("mediaType") in IMAGE_CONFIGS and config["size"] <= MAX_CONFIG:
        labels = ebpf_labels(fetch(config), what)
        if labels:
            return read_bpfman(manifest, labels, digest, fetch, what)
    raise UnsupportedArtifactError(not_a_program(manifest, what) + ", and it is neither a bpfman bytecode image "
                                   "(no io.ebpf.* labels) nor an Inspektor Gadget one")
