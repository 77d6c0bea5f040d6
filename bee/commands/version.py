"""`bee version`."""

from __future__ import annotations

import click

from bee import __version__


@click.command("version")
def version_command() -> None:
    """Print bee's version."""
    click.echo(__version__)
