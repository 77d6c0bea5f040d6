"""What `bee build` does, as one function the CLI and tests call."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from bee.compile.compiler import CompileSettings, build_script, split_cflags
from bee.compile.container import compile_in_container, default_builder_image
from bee.compile.kernel_types import pinned_goarches
from bee.compile.local import BuildRequest, check_request, compile_locally
from bee.compile.platforms import BuildPlatform, from_arch, object_path, parse_btf, parse_platforms
from bee.elf.elf import read_elf
from bee.errors import BuildError, UsageError
from bee.extras import require
from bee.inputs import read_object
from bee.oci.reference import parse_reference
from bee.oci.store import LocalStore, Platform, StoreEntry

__all__ = ["BuildRequest", "BuildResult", "build", "default_build_script", "target_platforms"]

Progress = Callable[[str], None]


@dataclass(frozen=True, slots=True)
class BuildResult:
    """The objects written (one per platform, in `--platform` order), and the store entry (None with
    --binary-only): a single manifest for one platform, an image index for several."""

    objects: tuple[Path, ...]
    entry: StoreEntry | None

    @property
    def object_path(self) -> Path:
        """The first (for one platform: the only) object written."""
        return self.objects[0]


def target_platforms(request: BuildRequest) -> tuple[BuildPlatform, ...]:
    """The platforms `request` builds for: `--platform`, else `--arch`, else this host. Raises UsageError."""
    if request.platforms and request.arch:
        raise UsageError("give --platform or --arch, not both (--platform linux/arm64 is --arch arm64)")
    if request.platforms:
        platforms = parse_platforms(request.platforms)
    else:
        platforms = (from_arch(request.arch) if request.arch else BuildPlatform.host(),)
    if len(platforms) > 1 and request.build_script is not None:
        raise UsageError("--build-script builds one object; give it one platform, or leave the compile to bee")
    return platforms


def recorded_platform(platform: BuildPlatform) -> Platform:
    """What the store records for a one-platform build, as Bumblebee does: this host's `uname` values when
    built for this host, else the target's `uname -m` name (and no kernel version)."""
    if platform == BuildPlatform.host():
        return Platform.host()
    return Platform(os="Linux", os_version="", architecture=platform.machine)


def check_types(platforms: tuple[BuildPlatform, ...], types: dict[BuildPlatform, Path]) -> None:
    """BuildError, before anything is compiled, when a platform has neither the user's types nor bee's."""
    if os.environ.get("BEE_VMLINUX_H"):
        return
    pinned = pinned_goarches()
    missing = [p.name for p in platforms if p not in types and p.goarch not in pinned]
    if missing:
        raise BuildError(f"bee has no kernel types for {', '.join(missing)} (it has them for "
                         f"{', '.join('linux/' + name for name in pinned)}); give them with --btf {missing[0]}=FILE "
                         "(raw BTF, as /sys/kernel/btf/vmlinux of such a machine, or a vmlinux.h)")


def default_build_script(request: BuildRequest) -> str:
    """The script a local build of `request` would run (`--build-script-out`); UsageError without --local."""
    if not request.local:
        raise UsageError("--build-script-out prints the local build script; add --local")
    platforms = target_platforms(request)
    if len(platforms) > 1:
        raise UsageError("--build-script-out prints the script of one platform; give one --platform")
    return build_script(CompileSettings(arch=platforms[0].target_arch, cflags=split_cflags(request.cflags)))


def build(request: BuildRequest, *, store_root: Path, progress: Progress = lambda _: None) -> BuildResult:
    """Compile for every target platform (locally, or in the builder container), check each result is a BPF
    object, and save them under `request.ref` unless binary-only: one platform as Bumblebee's manifest,
    several as an OCI image index over one manifest each.

    Raises UsageError, InputFileError, BuildError, InvalidReferenceError, StoreError, ElfError,
    MissingExtraError (a container build without the Docker SDK).
    """
    check_request(request)
    platforms = target_platforms(request)
    types = parse_btf(request.btf, platforms)
    if request.ref is not None:
        parse_reference(request.ref)  # reject a bad ref before spending time compiling
    several = len(platforms) > 1
    if request.build_script is None:
        check_types(platforms, types)
    if not request.local:
        require("docker", "building in a container", instead="build with --local")  # before hashing the inputs
    objects: list[Path] = []
    for platform in platforms:
        output = object_path(request.output_path(), platform, several)
        if several:
            progress(f"compiling for {platform.name}")
        if request.local:
            compile_locally(request, output, platform.target_arch, types.get(platform))
        else:
            compile_in_container(request.source, output, image=request.build_image or default_builder_image(),
                                 builder=request.builder, arch=platform.target_arch, cflags=request.cflags,
                                 btf=types.get(platform), progress=progress)
        objects.append(output)
    if request.binary_only:
        return BuildResult(tuple(objects), None)
    programs = []
    for path in objects:
        program = read_object(path)
        read_elf(program, name=str(path))
        programs.append(program)
    store = LocalStore(store_root)
    if several:
        from bee.oci.index import oci_platform

        entry = store.save_index(request.ref or "", [(oci_platform(p.goarch), program)
                                                     for p, program in zip(platforms, programs, strict=True)])
    else:
        entry = store.save_program(request.ref or "", programs[0], platform=recorded_platform(platforms[0]))
    return BuildResult(tuple(objects), entry)
