"""`Converted`: a program read from another project's layout, as bee stores it."""

from __future__ import annotations

from bee.records import Record

#: bee's annotations on a program read from another layout (on its manifest in the local store).
SOURCE_PREFIX = "dev.bee.source."
SOURCE_FORMAT = SOURCE_PREFIX + "format"  # "bpfman" or "inspektor-gadget"
SOURCE_DIGEST = SOURCE_PREFIX + "digest"  # the digest of the manifest it was read from
SOURCE_METADATA = SOURCE_PREFIX + "metadata"  # JSON: the labels (bpfman) or gadget.yaml's fields (gadget)

BPFMAN = "bpfman"
GADGET = "inspektor-gadget"


class Converted(Record):
    """The ELF of a program read from another layout, the annotations to store it with, and one sentence
    per part of the image bee does not use (a Wasm module, BTF for other kernels, ...)."""

    elf: bytes
    annotations: dict[str, str]
    notices: tuple[str, ...] = ()
