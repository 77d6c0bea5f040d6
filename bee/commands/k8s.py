"""`bee k8s manifest REF [REF ...]`: the Kubernetes manifests of a runner DaemonSet (bee.deploy)."""

from __future__ import annotations

from pathlib import Path

import click

from bee.deploy.generate import DEFAULT_IMAGE, DEFAULT_NAMESPACE, generate
from bee.options import GlobalOptions


@click.group("k8s")
def k8s_group() -> None:
    """Run programs on every node of a Kubernetes cluster."""


@k8s_group.command("manifest")
@click.argument("refs", nargs=-1, metavar="[REF]...")
@click.option("--config", "config", type=click.Path(dir_okay=False, path_type=Path),
              help="A runner config (as `bee run --config` reads) instead of REFs.")
@click.option("-n", "--namespace", default=DEFAULT_NAMESPACE, show_default=True, help="The namespace to deploy in.")
@click.option("--image", default=DEFAULT_IMAGE, show_default=True, help="The runner image the nodes pull.")
@click.option("--network", is_flag=True,
              help="Grant NET_ADMIN and the host network (XDP/TC) even when no stored spec or iface says so.")
@click.option("--verify-key", "verify_keys", multiple=True, type=click.Path(dir_okay=False, path_type=Path),
              metavar="PUB", help="Run only programs signed by this public key (put in a Secret); repeatable.")
@click.option("--web-config", type=click.Path(dir_okay=False, path_type=Path), metavar="FILE",
              help="Serve metrics with this web config's TLS and basic auth (it and its files put in a Secret).")
@click.pass_obj
def manifest_command(options: GlobalOptions, refs: tuple[str, ...], config: Path | None, namespace: str,
                     image: str, network: bool, verify_keys: tuple[Path, ...], web_config: Path | None) -> None:
    """Print the manifests (Namespace, ServiceAccount, ConfigMap, headless Service, DaemonSet) that run REFs,
    references naming a registry, on every node; `kubectl apply -f -` applies them as they are.

    With --verify-key, a Secret holds the public keys and every runner refuses programs none of them signed
    (docs/signing.md). With --web-config, the metrics endpoint needs what the file asks (TLS, passwords), on
    every node (docs/kubernetes.md).
    """
    click.echo(generate(list(refs), config=config, namespace=namespace, image=image, network=network,
                        store_root=options.storage, verify_keys=verify_keys, web_config=web_config), nl=False)
