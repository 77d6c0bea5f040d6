"""What `bee build` does, as one function the CLI and tests call."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from bee.compile.compiler import CompileSettings, build_script, split_cflags
from bee.compile.container import compile_in_container, default_builder_image
from bee.compile.local import BuildRequest, check_request, compile_locally
from bee.compile.toolchain import target_arch
from bee.elf.elf import read_elf
from bee.errors import UsageError
from bee.extras import require
from bee.inputs import read_object
from bee.oci.reference import parse_reference
from bee.oci.store import LocalStore, Platform, StoreEntry

__all__ = ["BuildRequest", "BuildResult", "build", "default_build_script"]

Progress = Callable[[str], None]


@dataclass(frozen=True, slots=True)
class BuildResult:
    """The object written, and the store entry (None with --binary-only)."""

    object_path: Path
    entry: StoreEntry | None


def default_build_script(request: BuildRequest) -> str:
    """The script a local build of `request` would run (`--build-script-out`); UsageError without --local."""
    if not request.local:
        raise UsageError("--build-script-out prints the local build script; add --local")
    return build_script(CompileSettings(arch=target_arch(request.arch), cflags=split_cflags(request.cflags)))


def build(request: BuildRequest, *, store_root: Path, progress: Progress = lambda _: None) -> BuildResult:
    """Compile (locally, or in the builder container), check the result is a BPF object, and save it
    under `request.ref` unless binary-only.

    Raises UsageError, InputFileError, BuildError, InvalidReferenceError, StoreError, ElfError,
    MissingExtraError (a container build without the Docker SDK).
    """
    check_request(request)
    if request.ref is not None:
        parse_reference(request.ref)  # reject a bad ref before spending time compiling
    if request.local:
        object_path = compile_locally(request)
    else:
        require("docker", "building in a container", instead="build with --local")  # before hashing the inputs
        object_path = request.output_path()
        compile_in_container(request.source, object_path, image=request.build_image or default_builder_image(),
                             builder=request.builder, arch=request.arch, cflags=request.cflags, progress=progress)
    if request.binary_only:
        return BuildResult(object_path, None)
    program = read_object(object_path)
    read_elf(program, name=str(object_path))
    entry = LocalStore(store_root).save_program(request.ref or "", program, platform=Platform.host())
    return BuildResult(object_path, entry)
