"""`bee package REGISTRY_REF DOCKER_IMAGE`."""

from __future__ import annotations

import click

from bee.commands._shared import complete_store_ref
from bee.compile.package import DEFAULT_RUNNER_IMAGE, package
from bee.options import GlobalOptions


@click.command("package")
@click.argument("registry_ref", shell_complete=complete_store_ref)
@click.argument("docker_image")
@click.option("--bee-image", help="Runner image to build on [default: bee-runner:VERSION, see `make runner-image`].")
@click.option("-b", "--builder", type=click.Choice(["docker", "podman"]), default="docker", show_default=True,
              help="Container engine.")
@click.pass_obj
def package_command(options: GlobalOptions, registry_ref: str, docker_image: str, bee_image: str | None,
                    builder: str) -> None:
    """Build DOCKER_IMAGE, which runs the stored program REGISTRY_REF (`bee run --no-tty REGISTRY_REF`).

    \b
    bee package opensnoop:v1 my/opensnoop:v1
    docker run --rm --privileged -p 9091:9091 my/opensnoop:v1
    """
    def progress(line: str) -> None:
        if options.verbose:
            click.echo(line, err=True)

    image_id = package(options.storage, registry_ref, docker_image, base_image=bee_image or DEFAULT_RUNNER_IMAGE,
                       builder=builder, progress=progress)
    click.echo(f"Built {docker_image} ({image_id}) running {registry_ref}", err=True)
