"""The metrics endpoint of a run: bound before anything touches the kernel, so a taken port costs no load."""

from __future__ import annotations

import socket

from bee.sinks.http import MetricsServer
from bee.sinks.metrics import MetricsRegistry

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing: see docs/dev/startup.md
if TYPE_CHECKING:
    from bee.sinks.webconfig import WebConfig


def start_metrics_server(registry: MetricsRegistry, host: str | None, port: int,
                         web: WebConfig | None = None) -> MetricsServer:
    """Serve `registry` on `host`:`port`, or on every interface when `host` is None: `::` (IPv6 and IPv4),
    else `0.0.0.0` on hosts without IPv6; with TLS and basic auth when `web` says. Raises the server's error
    when the port cannot be bound."""
    if host is None and socket.has_ipv6:
        try:
            probe = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
            probe.close()
            host = "::"
        except OSError:
            host = None
    server = MetricsServer(registry, host or "0.0.0.0", port, web)
    server.start()
    return server
