"""`bee build INPUT_FILE [REGISTRY_REF]`."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import click
from click.shell_completion import CompletionItem

from bee.compile import service
from bee.options import GlobalOptions

LONG_HELP = """Compile a BPF C program and save it in the local OCI store as REGISTRY_REF.

\b
bee build probe.c probe:v1 --local
bee build probe.c --local --binary-only -o out/probe.o
bee build probe.c probe:v1 --local --cflags="-DDEBUG -DVERBOSE"
bee build probe.c probe:v1 --local --build-script-out > build.sh
bee build probe.c probe:v1 --local --build-script=build.sh
bee build probe.c probe:v1 --local --platform linux/amd64,linux/arm64
bee build probe.c probe:v1 --local --btf linux/amd64=/sys/kernel/btf/vmlinux

A build script gets the input as $1, the output as $2 and --cflags in $CFLAGS.

Programs compile against bee's pinned kernel types for each architecture (the same bytes on every
build host); --btf gives other types (raw BTF, as /sys/kernel/btf/vmlinux, or a vmlinux.h). Several
platforms give one object each (probe.amd64.o, probe.arm64.o) and an image index in the store;
`bee push` sends it whole, `bee run` picks this machine's.
"""


def _complete_platforms(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[CompletionItem]:
    """`--platform` completion: the platforms bee has kernel types for, after any already typed (`a,b`)."""
    from bee.compile.kernel_types import pinned_goarches

    done, _, last = incomplete.rpartition(",")
    prefix = f"{done}," if done else ""
    return [CompletionItem(prefix + name) for name in (f"linux/{arch}" for arch in pinned_goarches())
            if name.startswith(last) and name not in done.split(",")]


@click.command("build", help=LONG_HELP, short_help="Compile a BPF program into the local store.")
@click.argument("input_file", type=click.Path(path_type=Path, dir_okay=False))
@click.argument("registry_ref", required=False)
@click.option("-o", "--output-file", type=click.Path(path_type=Path, dir_okay=False),
              help="Object file to write [default: INPUT with .o].")
@click.option("-l", "--local", is_flag=True, help="Compile with the tools on this machine, not in a container.")
@click.option("-i", "--build-image", help="Builder image for container builds [default: bee-builder:VERSION-DIGEST, "
              "built from bee's Dockerfile when missing].")
@click.option("-b", "--builder", type=click.Choice(["docker", "podman"]), default="docker",
              show_default=True, help="Container engine for container builds.")
@click.option("--arch", help="Target architecture (x86_64, aarch64, ... or x86, arm64) [default: this host].")
@click.option("--platform", "platforms", multiple=True, metavar="OS/ARCH[,...]", shell_complete=_complete_platforms,
              help="Platforms to build for, as linux/amd64,linux/arm64; several give an image index "
              "[default: this host].")
@click.option("--btf", multiple=True, metavar="PLATFORM=FILE",
              help="Kernel types for one platform instead of bee's pinned ones: raw BTF or a vmlinux.h; repeatable.")
@click.option("--cflags", multiple=True, help="Extra compiler flags; repeatable, each may hold several.")
@click.option("--build-script", type=click.Path(path_type=Path, dir_okay=False),
              help="Compile with this shell script instead ($1 input, $2 output, $CFLAGS).")
@click.option("--build-script-out", is_flag=True, help="Print the build script bee uses, and exit.")
@click.option("--binary-only", is_flag=True, help="Only write the object file; do not store it.")
@click.pass_obj
def build_command(options: GlobalOptions, input_file: Path, registry_ref: str | None,
                  output_file: Path | None, local: bool, build_image: str | None, builder: str,
                  arch: str | None, platforms: tuple[str, ...], btf: tuple[str, ...], cflags: tuple[str, ...],
                  build_script: Path | None, build_script_out: bool, binary_only: bool) -> None:
    request = service.BuildRequest(
        source=input_file, ref=registry_ref, output=output_file, arch=arch, cflags=cflags,
        build_script=build_script, binary_only=binary_only, local=local, build_image=build_image,
        builder=builder, platforms=platforms, btf=btf,
    )
    if build_script_out:
        click.echo(service.default_build_script(request), nl=False)
        return
    result = service.build(request, store_root=options.storage, progress=_progress(options.verbose))
    click.echo(f"Compiled {input_file} to {', '.join(str(path) for path in result.objects)}", err=True)
    if result.entry is not None:
        kind = " (an image index: one manifest per platform)" if result.entry.is_index else ""
        click.echo(f"Saved {result.entry.ref} ({result.entry.digest}){kind} in {options.storage}", err=True)


def _progress(verbose: bool) -> Callable[[str], None]:
    """Builder-image progress goes to stderr: every line with -v, else only bee's own notes."""

    def show(line: str) -> None:
        if verbose or not line.startswith(("Step ", " ---> ", "Removing ", "Successfully", " ")):
            click.echo(line, err=True)

    return show
