"""eBPF programs shipped in other projects' OCI layouts, read into bee's (Bumblebee's) store format.

`detect` tells the layouts apart from a manifest alone (docs/formats.md); `bpfman` reads a bpfman
bytecode image (a container image whose one tar+gzip layer holds the object, labels in its image
config), `gadget` an Inspektor Gadget image (the raw ELF as a layer of its own media type, the
gadget's metadata as its config), `tarlayer` takes one object out of a tar+gzip layer safely. Each
gives a `Converted`: the ELF, the annotations recording where it came from, and one notice per part
of the image bee does not use. Pure: the caller fetches blobs (bee.oci.layouts.fetch).
"""
