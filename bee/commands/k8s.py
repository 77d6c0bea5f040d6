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
@click.pass_obj
def manifest_command(options: GlobalOptions, refs: tuple[str, ...], config: Path | None, namespace: str,
                     image: str, network: bool) -> None:
    """Print the manifests (Namespace, ServiceAccount, ConfigMap, headless Service, DaemonSet) that run REFs,
    references naming a registry, on every node; `kubectl apply -f -` applies them as they are.
    """
    click.echo(generate(list(refs), config=config, namespace=namespace, image=image, network=network,
                        store_root=options.storage), nl=False)
