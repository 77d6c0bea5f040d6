"""The platforms a `bee build` targets: `--platform linux/amd64,linux/arm64` and `--btf PLATFORM=FILE`.

A platform names three things that must agree: the OCI name an image index uses (`amd64`), the
`uname -m` name Bumblebee records for a single build (`x86_64`), and the `__TARGET_ARCH_` suffix clang
compiles with (`x86`). Pure functions; errors are UsageError with one sentence.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from bee.compile.toolchain import target_arch
from bee.errors import BuildError, UsageError
from bee.oci.index import goarch

# OCI/Go architecture name → `uname -m` name.
_UNAME = {"amd64": "x86_64", "arm64": "aarch64", "386": "i686", "arm": "armv7l", "ppc64le": "ppc64le",
          "s390x": "s390x", "riscv64": "riscv64", "loong64": "loongarch64", "mips64": "mips64"}
# clang's target names (as `--arch` takes them) → OCI/Go architecture name; `uname -m` names: oci.index.goarch.
_TARGET_GOARCH = {"x86": "amd64", "powerpc": "ppc64le", "s390": "s390x", "riscv": "riscv64", "loongarch": "loong64",
                  "mips": "mips64"}


def _goarch(name: str) -> str:
    return _TARGET_GOARCH.get(name) or goarch(name)


@dataclass(frozen=True, slots=True)
class BuildPlatform:
    """One target: `linux/<goarch>`."""

    goarch: str

    @property
    def name(self) -> str:
        """`linux/amd64`."""
        return f"linux/{self.goarch}"

    @property
    def machine(self) -> str:
        """The `uname -m` name (`x86_64`), as Bumblebee records a build's architecture."""
        return _UNAME[self.goarch]

    @property
    def target_arch(self) -> str:
        """clang's `__TARGET_ARCH_` suffix (`x86`)."""
        return target_arch(self.machine)

    @classmethod
    def host(cls) -> BuildPlatform:
        """This machine's platform."""
        return cls(goarch())


def from_arch(arch: str) -> BuildPlatform:
    """The platform of a `--arch` value (`x86_64`, `aarch64`, `x86`, `arm64`, ...); UsageError if unknown."""
    name = _goarch(arch)
    if name not in _UNAME:
        raise UsageError(f"unknown target architecture {arch!r}; use one of: {', '.join(sorted(_UNAME))} "
                         "(or their uname -m names, as x86_64 and aarch64)")
    return _one(f"linux/{name}")


def _one(text: str) -> BuildPlatform:
    parts = text.strip().split("/")
    if len(parts) != 2 or not all(parts):
        raise UsageError(f"invalid platform {text!r}: expected OS/ARCH, as linux/amd64 or linux/arm64")
    if parts[0] != "linux":
        raise UsageError(f"platform {text}: eBPF programs run on linux only")
    name = _goarch(parts[1])
    if name not in _UNAME:
        raise UsageError(f"platform {text}: unknown architecture {parts[1]!r}; use one of "
                         f"{', '.join('linux/' + name for name in sorted(_UNAME))}")
    platform = BuildPlatform(name)
    try:
        platform.target_arch  # noqa: B018 - refuses an architecture libbpf has no target for
    except BuildError as exc:
        raise UsageError(f"platform {text}: {exc}") from None
    return platform


def parse_platforms(values: Sequence[str]) -> tuple[BuildPlatform, ...]:
    """The platforms of `--platform` values (each may hold several, comma-separated), in order, once each.

    Raises UsageError for an empty list, another OS, an unknown architecture or a platform given twice."""
    platforms: list[BuildPlatform] = []
    for value in values:
        for text in value.split(","):
            platform = _one(text)
            if platform in platforms:
                raise UsageError(f"--platform names {platform.name} twice")
            platforms.append(platform)
    if not platforms:
        raise UsageError("--platform names no platform; give one or more, as linux/amd64,linux/arm64")
    return tuple(platforms)


def parse_btf(values: Sequence[str], platforms: Sequence[BuildPlatform]) -> dict[BuildPlatform, Path]:
    """`--btf PLATFORM=FILE` values: the user's kernel types per built platform.

    Raises UsageError for a value without `=`, a platform this build does not target, one given twice,
    or a file that does not exist."""
    chosen: dict[BuildPlatform, Path] = {}
    for value in values:
        name, sep, file = value.partition("=")
        if not sep or not file:
            raise UsageError(f"--btf {value!r}: expected PLATFORM=FILE, as linux/arm64=vmlinux.btf")
        platform = _one(name)
        if platform not in platforms:
            built = ", ".join(p.name for p in platforms)
            raise UsageError(f"--btf names {platform.name}, which this build does not target ({built})")
        if platform in chosen:
            raise UsageError(f"--btf names {platform.name} twice")
        path = Path(file)
        if not path.is_file():
            raise UsageError(f"--btf {value}: {file} is not a file")
        chosen[platform] = path
    return chosen


def object_path(output: Path, platform: BuildPlatform, several: bool) -> Path:
    """Where the object for `platform` is written: `output` itself for one platform, else `output` with the
    architecture before its extension (`probe.o` → `probe.arm64.o`)."""
    return output.with_name(f"{output.stem}.{platform.goarch}{output.suffix}") if several else output
