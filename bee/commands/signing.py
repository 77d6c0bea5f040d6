"""`bee generate-key-pair`, `bee sign`, `bee verify`: signatures in cosign's key-based format (bee.oci.sign)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click

from bee.commands._shared import complete_store_ref
from bee.errors import UsageError
from bee.options import GlobalOptions

GENERATE_HELP = """Write a new ECDSA P-256 key pair: PREFIX.key, the private key (PKCS #8 PEM encrypted
with a password, mode 0600), and PREFIX.pub, the public key that verifies (as cosign.pub).

The password comes from BEE_PASSWORD or COSIGN_PASSWORD, else it is asked for twice on the
terminal; an empty password leaves the private key unencrypted.

\b
bee generate-key-pair
BEE_PASSWORD=... bee generate-key-pair --output-key-prefix ci
"""

SIGN_HELP = """Sign the manifest REF names, by its digest, and store the signature where cosign looks for
it: in REF's registry, the tag sha256-<digest>.sig of the same repository (signatures already
there are kept); with --local, the local store (bee push sends it with the program).

KEY is a private key: bee's or openssl's PKCS #8 PEM, or cosign's own cosign.key; its password
comes from BEE_PASSWORD or COSIGN_PASSWORD, else the terminal.

\b
bee sign ghcr.io/me/probe:v1 --key bee.key
bee sign probe:v1 --local --key bee.key -a build=ci-1234
"""

VERIFY_HELP = """Check that the manifest REF names is signed by one of the KEYs (public keys, PEM), for its
digest and its repository. Looks in REF's registry (the sha256-<digest>.sig tag, then the OCI 1.1
referrers), or with --local (or a name without a registry) in the local store.

Prints what verified (digest, key fingerprint) and exits 0; else says why in one sentence and exits 1.

\b
bee verify ghcr.io/me/probe:v1 --key bee.pub
bee verify probe:v1 --local --key bee.pub --key old.pub
"""


@click.command("generate-key-pair", help=GENERATE_HELP, short_help="Write a key pair for signing programs.")
@click.option("--output-key-prefix", default="bee", show_default=True, metavar="PREFIX",
              help="Write PREFIX.key and PREFIX.pub.")
@click.option("--force", is_flag=True, help="Replace files that exist.")
def generate_key_pair_command(output_key_prefix: str, force: bool) -> None:
    from bee.oci.sign.keys import PASSWORD_VARIABLES, generate_key_pair

    password = next((os.environ[name] for name in PASSWORD_VARIABLES if name in os.environ), None)
    if password is None:
        if not sys.stdin.isatty():
            raise UsageError("set BEE_PASSWORD (or COSIGN_PASSWORD) to the password of the private key, or run "
                             "bee generate-key-pair on a terminal")
        password = click.prompt("Password for the private key", hide_input=True, confirmation_prompt=True,
                                default="", show_default=False, err=True)
    key = generate_key_pair(Path(f"{output_key_prefix}.key"), Path(f"{output_key_prefix}.pub"),
                            password.encode(), overwrite=force)
    click.echo(f"Private key written to {output_key_prefix}.key")
    click.echo(f"Public key written to {output_key_prefix}.pub ({key.fingerprint})")


def _annotations(values: tuple[str, ...]) -> dict[str, str] | None:
    parsed = {}
    for text in values:
        name, sep, value = text.partition("=")
        if not sep or not name:
            raise UsageError(f"invalid annotation {text!r}: expected -a KEY=VALUE")
        parsed[name] = value
    return parsed or None


@click.command("sign", help=SIGN_HELP, short_help="Sign a program in its registry or the local store.")
@click.argument("ref", shell_complete=complete_store_ref)
@click.option("--key", "key_path", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="The private key.")
@click.option("--local", is_flag=True, help="Sign the program in the local store, not in its registry.")
@click.option("-a", "--annotation", "annotations", multiple=True, metavar="KEY=VALUE",
              help="A claim added to the signed payload (its `optional` section); repeatable.")
@click.pass_obj
def sign_command(options: GlobalOptions, ref: str, key_path: Path, local: bool, annotations: tuple[str, ...]) -> None:
    from bee.oci.sign.actions import sign
    from bee.oci.sign.keys import load_private_key, password_from_environment_or_prompt

    key = load_private_key(key_path, password_from_environment_or_prompt(str(key_path)))
    signed = sign(ref, key, options, local=local, annotations=_annotations(annotations))
    click.echo(f"Signed {ref}\n  digest:     {signed.digest}\n  key:        {signed.fingerprint} ({key_path})\n"
               f"  repository: {signed.identity}\n  signature:  {signed.location}")


@click.command("verify", help=VERIFY_HELP, short_help="Check a program's signature with public keys.")
@click.argument("ref", shell_complete=complete_store_ref)
@click.option("--key", "key_paths", required=True, multiple=True, type=click.Path(dir_okay=False, path_type=Path),
              help="A public key; repeatable (any one of them may have signed).")
@click.option("--local", is_flag=True, help="Check the signatures the local store holds.")
@click.option("--ignore-identity", is_flag=True,
              help="Accept a signature made for another repository (as cosign does).")
@click.pass_obj
def verify_command(options: GlobalOptions, ref: str, key_paths: tuple[Path, ...], local: bool,
                   ignore_identity: bool) -> None:
    from bee.oci.sign.actions import verify_ref
    from bee.oci.sign.keys import load_public_key
    from bee.oci.sign.policy import Requirement

    keys = tuple(load_public_key(path) for path in key_paths)
    verified = verify_ref(ref, Requirement(keys, not ignore_identity, "--key"), options, local=local)
    click.echo(f"Verified {ref}\n  digest:     {verified.digest}\n  signed by:  {verified.fingerprint} "
               f"({verified.key_path})\n  repository: {verified.identity or '(none named)'}\n"
               f"  signature:  {verified.source}")
