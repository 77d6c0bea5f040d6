"""Transport behaviour against real loopback servers: bounded retries on 5xx and resets, and progress
bars only on a terminal."""

from __future__ import annotations

import os
import pty
import select
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import assert_one_line_error


class Scripted:
    """An HTTP server answering `/v2/` per a script: "503", "reset" (close without answering), "200"."""

    def __init__(self, script: list[str]) -> None:
        self.script = list(script)
        self.seen: list[str] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
                pass

            def do_GET(self) -> None:  # noqa: N802 - http.server's naming
                step = server.script.pop(0) if server.script else "200"
                server.seen.append(step)
                if step == "reset":
                    self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\0\0\0\0\0\0\0")
                    self.close_connection = True
                    self.connection.close()
                    return
                status = int(step)
                body = b"{}"
                self.send_response(status)
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Docker-Distribution-Api-Version", "registry/2.0")
                self.end_headers()
                self.wfile.write(body)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.host = f"127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def scripted() -> Iterator[Any]:
    servers: list[Scripted] = []

    def make(*script: str) -> Scripted:
        servers.append(Scripted(list(script)))
        return servers[-1]

    yield make
    for server in servers:
        server.close()


def test_5xx_and_resets_are_retried(beecli, scripted) -> None:
    server = scripted("503", "reset", "502", "200")
    proc = beecli("--plain-http", "login", server.host, "-u", "u", "-p", "p")
    assert proc.returncode == 0, proc.stderr
    assert server.seen == ["503", "reset", "502", "200"]


def test_retries_are_bounded(beecli, scripted, config_dir: Path) -> None:
    server = scripted(*["503"] * 10)
    proc = beecli("--plain-http", "login", server.host, "-u", "u", "-p", "p")
    assert_one_line_error(proc, f"{server.host} answered 503 Service Unavailable after 4 attempts")
    assert server.seen == ["503"] * 4
    assert not (config_dir / "config.json").exists()


def _on_a_terminal(args: list[str], env: dict[str, str]) -> tuple[int, str]:
    """Run with stderr on a pseudo-terminal; returns the exit code and what the terminal showed."""
    leader, follower = pty.openpty()
    proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=follower, env=env)
    os.close(follower)
    shown = b""
    while True:
        ready, _, _ = select.select([leader], [], [], 30)
        if not ready:
            break
        try:
            chunk = os.read(leader, 65536)
        except OSError:
            break
        if not chunk:
            break
        shown += chunk
    os.close(leader)
    return proc.wait(30), shown.decode(errors="replace")


def test_progress_bars_on_a_terminal(registry_plain, stored, store_dir: Path, tmp_path: Path) -> None:
    ref = registry_plain.ref("tty/tiny", "v1")
    digest = stored(ref)
    env = dict(os.environ, BEE_STORAGE=str(store_dir), DOCKER_CONFIG=str(tmp_path / "none"), TERM="xterm",
               COLUMNS="100")
    base = [sys.executable, "-m", "bee", "--config-dir", str(tmp_path / "cfg"), "--plain-http"]
    code, shown = _on_a_terminal([*base, "push", ref], env)
    assert code == 0, shown
    assert "program.o" in shown and "config.json" in shown  # one bar per blob, named by its title
    assert f"Pushed {ref} ({digest})" in shown
    subprocess.run([*base, "rm", ref], env=env, check=True, capture_output=True)
    code, shown = _on_a_terminal([*base, "pull", ref], env)
    assert code == 0, shown
    assert "program.o" in shown
    assert f"Pulled {ref} ({digest})" in shown
