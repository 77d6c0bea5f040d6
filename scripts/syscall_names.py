"""Remake bee's system call name tables (bee/decode/syscalls/<machine>.txt) from Debian's linux-libc-dev
packages of amd64 and arm64: each package's asm/unistd.h, expanded by clang's preprocessor for its target
(arm64 takes asm-generic/unistd.h with the `__ARCH_WANT_*` its own header sets), gives `__NR_<name> <number>`.

Usage: python3 scripts/syscall_names.py linux-libc-dev_VERSION_amd64.deb linux-libc-dev_VERSION_arm64.deb
(scripts/syscall-names.sh downloads them). The same packages give byte-identical tables.
"""

from __future__ import annotations

import hashlib
import re
import subprocess
import sys
import tempfile
from pathlib import Path

TABLES = Path(__file__).resolve().parent.parent / "bee" / "decode" / "syscalls"
#: Debian architecture → (uname machine, clang target, multiarch include directory)
ARCHES = {"amd64": ("x86_64", "x86_64-linux-gnu", "x86_64-linux-gnu"),
          "arm64": ("aarch64", "aarch64-linux-gnu", "aarch64-linux-gnu")}
#: `__NR_` macros that are not system calls: the table's size and arm64's start of its own range
NOT_CALLS = {"syscalls", "arch_specific_syscall"}


def preprocess(source: str, target: str, includes: list[Path], *flags: str) -> str:
    command = ["clang", "-E", "-P", "-nostdinc", "-target", target, *flags, *(f"-I{path}" for path in includes), "-"]
    return subprocess.run(command, input=source, capture_output=True, text=True, check=True).stdout


def table(deb: Path, work: Path) -> tuple[str, str]:
    """(machine, text of its table) from one linux-libc-dev package."""
    fields = deb.name.removesuffix(".deb").split("_")
    version, arch = fields[1], fields[2]
    machine, target, multiarch = ARCHES[arch]
    root = work / arch
    subprocess.run(["dpkg-deb", "-x", str(deb), str(root)], check=True)
    includes = [root / "usr/include" / multiarch, root / "usr/include"]
    macros = preprocess("#include <asm/unistd.h>\n", target, includes, "-dM")
    names = sorted({m for m in re.findall(r"^#define __NR_(\w+) ", macros, re.M) if m not in NOT_CALLS})
    # only sums of numbers remain once expanded (arm64: `(__NR_arch_specific_syscall + 0)`)
    expanded = preprocess("#include <asm/unistd.h>\n" + "".join(f"bee_nr {n} __NR_{n}\n" for n in names),
                          target, includes)
    numbers: dict[int, str] = {}
    for line in expanded.splitlines():
        parts = line.split()
        if parts[:1] == ["bee_nr"]:
            number = sum(int(term) for term in re.findall(r"\d+", " ".join(parts[2:])))  # `(244 + 0)`
            if number in numbers:
                raise SystemExit(f"{arch}: {parts[1]} and {numbers[number]} share number {number}")
            numbers[number] = parts[1]
    digest = hashlib.sha256(deb.read_bytes()).hexdigest()
    header = (f"# {machine} system call numbers: asm/unistd.h of Debian's linux-libc-dev {version} {arch}\n"
              f"# (package sha256 {digest}); remade by `make syscall-names`\n")
    return machine, header + "".join(f"{number} {name}\n" for number, name in sorted(numbers.items()))


def main(debs: list[str]) -> None:
    with tempfile.TemporaryDirectory() as work:
        for deb in debs:
            machine, text = table(Path(deb), Path(work))
            (TABLES / f"{machine}.txt").write_text(text)
            print(f"{machine}: {text.count(chr(10)) - 2} system calls")


if __name__ == "__main__":
    main(sys.argv[1:])
