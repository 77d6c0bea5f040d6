"""`bee push`, `bee pull`, `bee login`: the local store and registries."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from bee.commands._shared import complete_store_ref
from bee.errors import UsageError
from bee.oci.progress import progress_for
from bee.options import GlobalOptions

PUSH_HELP = """Upload the program stored as REF to the registry REF names.

\b
bee tag probe:v1 ghcr.io/me/probe:v1 && bee push ghcr.io/me/probe:v1
bee --plain-http push localhost:5000/probe:v1
"""

PULL_HELP = """Download REF (a tag, or name@sha256:...) from its registry into the local store.

With --verify-key (or a signature policy that covers REF), a signature by one of the keys must
verify before anything is stored; it is stored too, so bee run verifies again offline.

\b
bee pull ghcr.io/me/probe:v1
bee --plain-http pull localhost:5000/probe@sha256:<digest>
bee pull ghcr.io/me/probe:v1 --verify-key bee.pub
"""

LOGIN_HELP = """Check credentials against the registry SERVER, then save them in <config-dir>/config.json.

\b
bee login ghcr.io -u me -p <token>
echo "$TOKEN" | bee login ghcr.io -u me --password-stdin
"""


@click.command("push", help=PUSH_HELP, short_help="Upload a stored program to a registry.")
@click.argument("ref", shell_complete=complete_store_ref)
@click.pass_obj
def push_command(options: GlobalOptions, ref: str) -> None:
    from bee.oci.transfer import push_with_signatures  # with requests (~70 ms): not for help or completion

    program, *signatures = push_with_signatures(ref, options, progress=progress_for(sys.stderr))
    click.echo(f"Pushed {program.ref} ({program.digest})", err=True)
    for result in signatures:
        click.echo(f"Pushed its signatures {result.ref} ({result.digest})", err=True)


@click.command("pull", help=PULL_HELP, short_help="Download a program from a registry.")
@click.argument("ref")
@click.option("--verify-key", "verify_keys", multiple=True, type=click.Path(dir_okay=False, path_type=Path),
              metavar="PUB", help="Pull only if signed by this public key; repeatable (any one of them).")
@click.option("--policy", type=click.Path(dir_okay=False, path_type=Path), metavar="FILE",
              help="Signature policy file [default: <config-dir>/policy.yaml when it exists].")
@click.option("--ignore-identity", is_flag=True,
              help="Accept a signature made for another repository (as cosign does).")
@click.option("--platform", metavar="OS/ARCH",
              help="From an image index, the entry of this platform (linux/amd64, linux/arm64) [default: this host's].")
@click.pass_obj
def pull_command(options: GlobalOptions, ref: str, verify_keys: tuple[Path, ...], policy: Path | None,
                 ignore_identity: bool, platform: str | None) -> None:
    from bee.oci.sign.policy import trust_policy
    from bee.oci.transfer import pull  # with requests (~70 ms): not for help or completion

    trust = trust_policy(verify_keys, policy, options.config_dir, ignore_identity)
    entry = pull(ref, options, progress=progress_for(sys.stderr), trust=trust, platform=platform)
    click.echo(f"Pulled {entry.ref} ({entry.digest})", err=True)


def _read_password_stdin() -> str:
    data = sys.stdin.read()
    return data[:-1] if data.endswith("\n") else data


@click.command("login", help=LOGIN_HELP, short_help="Log in to a registry.")
@click.argument("server")
@click.option("-u", "--username", help="Registry username.")
@click.option("-p", "--password", help="Registry password or token.")
@click.option("--password-stdin", is_flag=True, help="Read the password or token from standard input.")
@click.pass_obj
def login_command(options: GlobalOptions, server: str, username: str | None, password: str | None,
                  password_stdin: bool) -> None:
    from bee.oci.transfer import login  # with requests (~70 ms): not for help or completion

    username = username if username is not None else options.username
    password = password if password is not None else options.password
    interactive = sys.stdin.isatty()
    if password_stdin:
        if password is not None:
            raise UsageError("--password and --password-stdin cannot be used together")
        if username is None:
            raise UsageError("--password-stdin needs a username (-u)")
        password = _read_password_stdin().rstrip("\r")
    if username is None:
        if not interactive:
            raise UsageError("give a username with -u")
        username = click.prompt("Username", err=True)
    if password is None:
        if not interactive:
            raise UsageError("give a password with -p or --password-stdin")
        password = click.prompt("Password", hide_input=True, err=True)
    elif not password_stdin and sys.stderr.isatty():
        click.echo("WARNING! Using --password via the CLI is insecure. Use --password-stdin.", err=True)
    if not password:
        raise UsageError("the password is empty")
    path = login(server, username, password, options)
    click.echo(f"Login Succeeded (credentials saved in {path})")
