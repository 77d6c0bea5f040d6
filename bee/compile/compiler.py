"""The one compile line for BPF programs, shared by local builds and the build script.

Bumblebee's line: `clang -g -O2 -target bpf -D__TARGET_ARCH_<arch> $CFLAGS -Wall -c IN -o OUT`
then `llvm-strip -g OUT`, which keeps `.BTF`/`.BTF.ext` and drops DWARF.

Builds are reproducible: clang runs in the input's directory on its base name, and
include paths are mapped to fixed prefixes, so no host path ends up in the object.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from bee.compile import headers
from bee.compile.toolchain import find_tool, target_arch
from bee.errors import BuildError, InputFileError, UsageError


@dataclass(frozen=True, slots=True)
class CompileSettings:
    """What decides the bytes of an object besides its source."""

    arch: str
    cflags: tuple[str, ...] = ()
    btf: Path | None = None  # the user's kernel types for `arch` (headers.vmlinux_header), else bee's pinned ones


def split_cflags(cflags: Sequence[str]) -> tuple[str, ...]:
    """`--cflags` may be repeated and each value may hold several flags (`"-DA -DB"`).

    Raises UsageError when a value cannot be split (an unbalanced quote).
    """
    flags: list[str] = []
    for value in cflags:
        try:
            flags += shlex.split(value)
        except ValueError as exc:
            raise UsageError(f"--cflags {value!r} cannot be split into flags ({exc}); "
                             "balance its quotes or escape them") from exc
    return tuple(flags)


SOURCE_PREFIX = "."  # sources are named relative to their directory, where clang runs (it reads lines back)


def compile_command(
    clang: str, source: Path, output: str, settings: CompileSettings, include: Sequence[Path]
) -> list[str]:
    """The clang argv for one compile (no shell), to run with `source.parent` as working directory."""
    argv = [clang, "-g", "-O2", "-target", "bpf", f"-D__TARGET_ARCH_{settings.arch}"]
    argv.append(f"-fdebug-prefix-map={source.parent}={SOURCE_PREFIX}")
    for directory in include:
        argv += ["-I", str(directory), f"-fdebug-prefix-map={directory}=/usr/include/bee"]
    argv += [*settings.cflags, "-Wall", "-c", source.name, "-o", output]
    return argv


def build_script(settings: CompileSettings) -> str:
    """The shell script `--build-script-out` prints: `$1` is the input, `$2` the output, `$CFLAGS` extra flags."""
    include = " ".join(f"-I {shlex.quote(str(d))}" for d in headers.include_dirs(settings.arch, settings.btf))
    return f"""#!/bin/sh
# bee build script: $1 is the input C file, $2 the output object; extra flags in $CFLAGS.
set -eu
CLANG=${{CLANG:-{shlex.quote(find_tool("clang"))}}}
LLVM_STRIP=${{LLVM_STRIP:-{shlex.quote(find_tool("llvm-strip"))}}}
CFLAGS=${{CFLAGS:-}}
"$CLANG" -g -O2 -target bpf -D__TARGET_ARCH_{settings.arch} {include} $CFLAGS -Wall -c "$1" -o "$2"
"$LLVM_STRIP" -g "$2"
"""


ELF_MAGIC = b"\x7fELF"


def _check_input(source: Path) -> None:
    try:
        if not source.exists():
            raise InputFileError(f"input file {source} does not exist")
        if not source.is_file():
            raise InputFileError(f"input file {source} is not a regular file")
    except OSError as exc:  # EACCES on a directory on the way
        raise InputFileError(f"cannot access the input file {source}: {exc.strerror or exc}") from exc


def check_c_source(source: Path) -> None:
    """Refuse an input that is already a compiled ELF object (clang would ignore it and write nothing)."""
    _check_input(source)
    try:
        with open(source, "rb") as file:
            head = file.read(len(ELF_MAGIC))
    except OSError as exc:
        raise InputFileError(f"cannot read the input file {source}: {exc.strerror or exc}") from exc
    if head == ELF_MAGIC:
        raise InputFileError(f"input file {source} is already a compiled object (ELF), not C source; "
                             "give bee build the .c file (an object can be run or described as it is)")


def check_output(source: Path, output: Path) -> None:
    """Refuse an output path that would destroy the input or write somewhere unexpected.

    The output must not be the input (by path or by inode), not a symbolic link (bee writes
    a temporary file and renames it over the target, and does not follow links it did not
    create), not a directory, and no existing part of its directory may be a file (a missing
    directory is created when the output is written, as `-o out/x.o` documents). Raises UsageError.
    """
    source, output = Path(source).absolute(), Path(output).absolute()
    try:
        _check_output(source, output)
    except OSError as exc:  # EACCES on a directory on the way
        raise UsageError(f"cannot access the output file {output}: {exc.strerror or exc}; "
                         "choose another -o") from exc


def _check_output(source: Path, output: Path) -> None:
    if output.is_symlink():
        raise UsageError(f"the output file {output} is a symbolic link; name the file it points to, "
                         "or remove the link (bee does not write through links)")
    same = output == source
    if not same and output.exists() and source.exists():
        try:
            same = os.path.samefile(output, source)
        except OSError:
            same = False
    if same:
        raise UsageError(f"the output file {output} is the input file; choose another -o "
                         "(writing it would destroy the source)")
    if output.is_dir():
        raise UsageError(f"the output file {output} is a directory; give the path of a file with -o")
    for parent in output.parents:
        if parent.exists():
            if not parent.is_dir():
                raise UsageError(f"cannot write the output file {output}: {parent} is a file, not a directory; "
                                 "choose another -o")
            break


def make_output_dir(output: Path) -> None:
    """Create the missing directories of `output`; raises BuildError naming the directory."""
    try:
        output.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise BuildError(f"cannot create the output directory {output.parent}: {exc.strerror or exc}; "
                         "create it or choose another -o") from exc


def _temp_output(output: Path) -> Path:
    """Reserve a temporary file next to `output`; raises BuildError when its directory is not writable."""
    directory = output.parent
    make_output_dir(output)
    try:
        fd, tmp = tempfile.mkstemp(dir=directory, prefix=f".{output.name}.", suffix=".tmp")
    except OSError as exc:
        raise BuildError(f"cannot write the output file {output}: {exc.strerror or exc}") from exc
    os.close(fd)
    return Path(tmp)


def _run(argv: list[str], cwd: Path, what: str, env: dict[str, str] | None = None) -> None:
    try:
        proc = subprocess.run(argv, cwd=cwd, capture_output=True, text=True, check=False, env=env)
    except OSError as exc:
        raise BuildError(f"cannot run {argv[0]}: {exc.strerror or exc}") from exc
    if proc.returncode != 0:
        detail = (proc.stdout + proc.stderr).rstrip()
        raise BuildError(f"{what} failed (exit {proc.returncode})", detail=detail)


def compile_bpf(
    source: Path, output: Path, *, arch: str | None = None, cflags: Sequence[str] = (), btf: Path | None = None
) -> None:
    """Compile `source` to a stripped BPF object for `arch` (default: this host's) at `output`, atomically
    (temp file + rename), against bee's pinned kernel types for `arch` or the user's `btf`.

    Raises InputFileError (missing input), BuildError (toolchain missing, compiler
    errors — their text in `.detail`, verbatim — or an unwritable output).
    """
    source = Path(source).absolute()
    output = Path(output).absolute()
    check_c_source(source)
    check_output(source, output)
    settings = CompileSettings(arch=target_arch(arch), cflags=split_cflags(cflags), btf=btf)
    clang, strip = find_tool("clang"), find_tool("llvm-strip")
    include = headers.include_dirs(settings.arch, btf)
    tmp = _temp_output(output)
    try:
        _run(compile_command(clang, source, str(tmp), settings, include), source.parent,
             f"compiling {source.name}")
        _run([strip, "-g", str(tmp)], source.parent, "llvm-strip")
        os.chmod(tmp, 0o644)
        os.replace(tmp, output)
    finally:
        tmp.unlink(missing_ok=True)


def run_build_script(
    script: str, source: Path, output: Path, *, cflags: Sequence[str] = ()
) -> None:
    """Run a user build script with `sh -s -- IN OUT` and `$CFLAGS`, as bumblebee does.

    The script writes the output itself; raises BuildError with its output when it fails
    or produces no file.
    """
    source = Path(source).absolute()
    output = Path(output).absolute()
    _check_input(source)
    check_output(source, output)
    env = dict(os.environ, CFLAGS=" ".join(split_cflags(cflags)))
    tmp = _temp_output(output)
    try:
        try:
            proc = subprocess.run(
                ["sh", "-s", "--", str(source), str(tmp)], input=script, cwd=source.parent,
                capture_output=True, text=True, check=False, env=env,
            )
        except OSError as exc:
            raise BuildError(f"cannot run sh: {exc.strerror or exc}") from exc
        if proc.returncode != 0:
            raise BuildError(f"the build script failed (exit {proc.returncode})",
                             detail=(proc.stdout + proc.stderr).rstrip())
        if tmp.stat().st_size == 0:
            raise BuildError("the build script exited 0 but wrote no output file")
        os.chmod(tmp, 0o644)
        os.replace(tmp, output)
    finally:
        tmp.unlink(missing_ok=True)
