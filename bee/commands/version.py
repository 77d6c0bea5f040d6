"""`bee version`."""

from __future__ import annotations

import click

from bee import BUMBLEBEE_VERSION, __version__


@click.command("version")
def version_command() -> None:
    """Print bee's version, then the Bumblebee release it is compatible with."""
    click.echo(__version__)
    click.echo(f"compatible with Bumblebee {BUMBLEBEE_VERSION}: its images, local store and C conventions "
               "(and v0.0.13/14's section maps)")
