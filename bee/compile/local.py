"""`bee build --local`: compile on this machine, then save the object in the local store."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from bee.compile.compiler import check_c_source, check_output, compile_bpf, run_build_script, split_cflags
from bee.errors import InputFileError, UsageError


@dataclass(frozen=True, slots=True, kw_only=True)
class BuildRequest:
    """One `bee build` invocation, resolved from the command line."""

    source: Path
    ref: str | None
    output: Path | None = None
    arch: str | None = None
    cflags: tuple[str, ...] = ()
    build_script: Path | None = None
    binary_only: bool = False
    local: bool = False
    build_image: str | None = None
    builder: str = "docker"
    platforms: tuple[str, ...] = ()  # --platform values, as typed (bee.compile.platforms.parse_platforms)
    btf: tuple[str, ...] = ()  # --btf PLATFORM=FILE values, as typed

    def output_path(self) -> Path:
        """The object file: `-o`, else the input with its extension replaced by `.o` (bumblebee's rule)."""
        return self.output if self.output is not None else self.source.with_suffix(".o")


def check_request(request: BuildRequest) -> None:
    """Reject inconsistent requests, inputs that are not C and unsafe outputs before any work.

    Raises UsageError, InputFileError."""
    if request.ref is None and not request.binary_only:
        raise UsageError("give a reference to store the program under (bee build INPUT REF), or use --binary-only")
    if request.build_script is not None and not request.local:
        raise UsageError("--build-script runs on this machine; add --local (container builds use the builder image)")
    split_cflags(request.cflags)
    if request.build_script is None:
        check_c_source(request.source)
    check_output(request.source, request.output_path())


def read_build_script(path: Path) -> str:
    """The text of a user build script; raises InputFileError when it cannot be read."""
    try:
        return path.read_text()
    except OSError as exc:
        raise InputFileError(f"cannot read the build script {path}: {exc.strerror or exc}") from exc


def compile_locally(request: BuildRequest, output: Path, arch: str, btf: Path | None) -> Path:
    """Compile `request.source` for target `arch` into `output` with local tools (or the user's build script,
    which chooses its own architecture and types); return the object path."""
    if request.build_script is not None:
        script = read_build_script(request.build_script)
        run_build_script(script, request.source, output, cflags=request.cflags)
    else:
        compile_bpf(request.source, output, arch=arch, cflags=request.cflags, btf=btf)
    return output
