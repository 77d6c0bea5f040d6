"""`Converted`: a program read from another project's layout, as bee stores it."""

from __future__ import annotations

from bee.records import Record

#: bee's annotations on a program read from another layout (on its manifest in the local store).
SOURCE_FORMAT = "dev.bee.source.format"  # "bpfman" or "inspektor-gadget"
SOURCE_DIGEST = "dev.bee.source.digest"  # the digest of the manifest it was read from
SOURCE_METADATA = "dev.bee.source.metadata"  # JSON: the labels (bpfman) or gadget.yaml's fields (gadget)

BPFMAN = "bpfman"
GADGET = "inspektor-gadget"


class Converted(Record):
    """The ELF of a program read from another layout, the annotations to store it with, and one sentence
    per part of the image bee does not use (a Wasm module, BTF for other kernels, ...)."""

    elf: bytes
    annotations: dict[str, str]
    notices: tuple[str, ...] = ()
