"""Make bee's pinned kernel types (bee/compile/types/<arch>/) from Debian's kernel packages.

    python3 scripts/kernel_types.py DEB [DEB ...]       # linux-image-*-cloud-{amd64,arm64} .deb files
    make kernel-types                                    # downloads them first (needs the arm64 dpkg arch)

For each package: unpack it (dpkg-deb), take the kernel image from /boot (arm64: an uncompressed
`Image`; amd64: a bzImage whose payload is LZ4, unpacked with the `lz4` tool), find the one
`.BTF` blob in it by its header (magic 0xeB9F, version 1, a 24-byte header, types first and strings
right after), dump it as C with bpftool, and write `vmlinux.h.xz` (xz, no checksum of a timestamp:
the same input gives the same bytes) with `SOURCE`, which names the package, its sha256 and the sha256
of the BTF and of the header. Debian drops old kernel versions from its mirror, so the committed files,
not a download, are what builds use; this script is how they were made and how to make newer ones.
"""

from __future__ import annotations

import hashlib
import lzma
import re
import struct
import subprocess
import sys
import tempfile
from pathlib import Path

TYPES_DIR = Path(__file__).resolve().parent.parent / "bee" / "compile" / "types"
DEB_ARCH_TO_TARGET = {"amd64": "x86", "arm64": "arm64"}
BTF_MAGIC = 0xEB9F
NEWLINE = b"\n"
LZ4_LEGACY_MAGIC = b"\x02\x21\x4c\x18"


def find_btf(image: bytes) -> bytes:
    """The one BTF blob of a kernel image, found by its header; SystemExit when there is not exactly one."""
    found = []
    for match in re.finditer(re.escape(struct.pack("<HBB", BTF_MAGIC, 1, 0)), image):
        start = match.start()
        hdr_len, type_off, type_len, str_off, str_len = struct.unpack_from("<IIIII", image, start + 4)
        if hdr_len == 24 and type_off == 0 and str_off == type_len and type_len > 1 << 20 and str_len > 1 << 16:
            end = start + hdr_len + str_off + str_len
            if end <= len(image):
                found.append(image[start:end])
    if len(found) != 1:
        raise SystemExit(f"expected one BTF blob in the kernel image, found {len(found)}")
    return found[0]


def kernel_image(root: Path, deb_arch: str) -> bytes:
    """The uncompressed kernel image of an unpacked linux-image package."""
    vmlinuz = next((root / "boot").glob("vmlinuz-*"))
    data = vmlinuz.read_bytes()
    if deb_arch == "arm64":
        return data  # Debian's arm64 Image is not compressed
    start = data.find(LZ4_LEGACY_MAGIC)
    if start < 0:
        raise SystemExit(f"{vmlinuz} has no LZ4 payload")
    proc = subprocess.run(["lz4", "-dc"], input=data[start:], capture_output=True, check=False)
    if not proc.stdout:  # lz4 complains about the bytes after the payload; the payload is what counts
        raise SystemExit(f"lz4 could not unpack {vmlinuz}: {proc.stderr.decode(errors='replace')}")
    return proc.stdout


def make_types(deb: Path) -> Path:
    """Write bee/compile/types/<target>/{vmlinux.h.xz,SOURCE} from one kernel package; returns the folder."""
    fields = dict(line.split(": ", 1) for line in subprocess.run(
        ["dpkg-deb", "-f", str(deb), "Package", "Version", "Architecture"],
        capture_output=True, text=True, check=True).stdout.splitlines())
    target = DEB_ARCH_TO_TARGET[fields["Architecture"]]
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "root"
        subprocess.run(["dpkg-deb", "-x", str(deb), str(root)], check=True)
        btf = find_btf(kernel_image(root, fields["Architecture"]))
        btf_path = Path(tmp) / "vmlinux.btf"
        btf_path.write_bytes(btf)
        header = subprocess.run(["bpftool", "btf", "dump", "file", str(btf_path), "format", "c"],
                                capture_output=True, check=True).stdout
    bpftool = subprocess.run(["bpftool", "version"], capture_output=True, text=True, check=True).stdout.split()[1]
    out = TYPES_DIR / target
    out.mkdir(parents=True, exist_ok=True)
    (out / "vmlinux.h.xz").write_bytes(lzma.compress(header, format=lzma.FORMAT_XZ, check=lzma.CHECK_CRC64,
                                                     preset=9))
    sha = {name: hashlib.sha256(data).hexdigest() for name, data in
           (("deb", deb.read_bytes()), ("btf", btf), ("header", header))}
    (out / "SOURCE").write_text(
        f"package: {fields['Package']}\nversion: {fields['Version']}\narchitecture: {fields['Architecture']}\n"
        f"package-sha256: {sha['deb']}\nbtf-sha256: {sha['btf']}\nbtf-size: {len(btf)}\n"
        f"vmlinux-h-sha256: {sha['header']}\nvmlinux-h-lines: {header.count(NEWLINE)}\n"
        f"made-by: scripts/kernel_types.py (BTF found in the kernel image, dumped as C by bpftool {bpftool})\n")
    return out


if __name__ == "__main__":
    if len(sys.argv) < 2:
        raise SystemExit(__doc__)
    for argument in sys.argv[1:]:
        print(make_types(Path(argument)))
