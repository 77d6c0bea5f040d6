"""Registries that misbehave: each failure is one sentence naming the fault, never an internal error or a hang.

The misbehaving peers are real TCP servers on 127.0.0.1, run as threads of the test (`http.server` or a bare
socket): a redirect loop, a manifest cut short, a manifest nested 100,000 levels deep, a server that accepts
and never answers, and a blob download that stalls. Nothing is mocked. Every test checks the exit status
(1, not 70), the sentence, and that the local store is unchanged.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from bee.oci import mediatypes
from bee.oci.manifest import sha256_digest
from tests.helpers import assert_one_line_error

MANIFEST = mediatypes.MANIFEST


class Misbehaving:
    """An HTTP/1.1 server answering `/v2/` with 200 and everything else per `mode`.

    "redirect": every GET, HEAD or POST redirects to itself; "short": a manifest announced as 1000 bytes,
    18 sent, then the connection closed; "huge": an error answer of 2 MiB; "deep": a manifest of 100,000
    nested arrays; "stall": a valid manifest whose program blob sends 10 of its 1000 bytes, then nothing;
    "trickle-headers": an answer whose headers come one byte every 0.2 s, forever; "trickle-body": a manifest
    announced as 1000 bytes whose body comes one byte every 0.2 s; "redirect-body": the manifest behind a
    302 whose own body is 256 MiB (`redirect_body_sent` counts what of it got out), blobs served whole;
    "offsite": Basic auth required, blobs redirected to `offsite_url` (another server).
    """

    def __init__(self, mode: str) -> None:
        config = b"{}"
        self.blob = sha256_digest(b"x" * 1000)
        manifest = (b'{"schemaVersion":2,"mediaType":"' + MANIFEST.encode() + b'","config":{"mediaType":"'
                    + mediatypes.CONFIG.encode() + b'","digest":"' + sha256_digest(config).encode()
                    + b'","size":2},"layers":[{"mediaType":"' + mediatypes.PROGRAM.encode() + b'","digest":"'
                    + self.blob.encode() + b'","size":1000}]}')
        release = self.release = threading.Event()
        self.redirect_body_sent = 0
        self.offsite_url = ""
        self.requests: list[tuple[str, dict[str, str]]] = []  # (path, headers) of every GET and HEAD
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
                pass

            def _send(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
                self.send_response(status)
                for key, value in (headers or {}).items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(body)

            def _trickle(self, data: bytes) -> None:
                for byte in data:
                    if release.wait(0.2):
                        return
                    try:
                        self.wfile.write(bytes([byte]))
                        self.wfile.flush()
                    except OSError:
                        return

            def do_GET(self) -> None:  # noqa: N802 - http.server's naming
                server.requests.append((self.path, dict(self.headers)))
                if mode == "offsite" and self.headers.get("Authorization") != "Basic dTpw":  # u:p
                    self._send(401, b"{}", {"WWW-Authenticate": 'Basic realm="test"'})
                elif self.path == "/v2/":
                    self._send(200, b"{}")
                elif mode == "trickle-headers":
                    self.wfile.write(b"HTTP/1.1 200 OK\r\n")
                    self._trickle(b"X-Slow: " + b"z" * 10_000)
                elif mode == "trickle-body" and "/manifests/" in self.path:
                    self.send_response(200)
                    self.send_header("Content-Type", MANIFEST)
                    self.send_header("Content-Length", "1000")
                    self.end_headers()
                    self._trickle(b" " * 1000)
                elif mode == "redirect-body" and self.path.endswith("/manifests/v1"):
                    self.send_response(302)
                    self.send_header("Location", self.path.replace("/v1", "/final"))
                    self.send_header("Content-Length", str(256 << 20))
                    self.end_headers()
                    block = b"r" * (1 << 16)
                    try:
                        for _ in range((256 << 20) // len(block)):
                            self.wfile.write(block)
                            server.redirect_body_sent += len(block)
                    except OSError:
                        self.close_connection = True
                elif mode == "offsite" and "/blobs/" in self.path:
                    self._send(307, b"", {"Location": server.offsite_url + self.path})
                elif mode == "redirect":
                    self._send(302, b"", {"Location": self.path})
                elif mode == "short":
                    self.send_response(200)
                    self.send_header("Content-Type", MANIFEST)
                    self.send_header("Content-Length", "1000")
                    self.end_headers()
                    self.wfile.write(b'{"schemaVersion":2')
                    self.wfile.flush()
                    self.close_connection = True
                    self.connection.shutdown(socket.SHUT_RDWR)
                elif mode == "huge":  # an error body of 2 MiB
                    self._send(400, b"x" * (2 << 20), {"Content-Type": "application/json"})
                elif mode == "deep":
                    self._send(200, b"[" * 100_000 + b"]" * 100_000, {"Content-Type": MANIFEST})
                elif "/manifests/" in self.path:
                    self._send(200, manifest, {"Content-Type": MANIFEST})
                elif self.path.endswith(sha256_digest(config)):
                    self._send(200, config)
                elif mode != "stall":
                    self._send(200, b"x" * 1000)
                else:  # stall: 10 of the 1000 bytes the descriptor announces, then silence
                    self.send_response(200)
                    self.send_header("Content-Length", "1000")
                    self.end_headers()
                    self.wfile.write(b"x" * 10)
                    self.wfile.flush()
                    release.wait(30)

            do_HEAD = do_GET

            def do_POST(self) -> None:  # noqa: N802
                self._send(307, b"", {"Location": self.path})

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.host = f"127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True).start()

    def close(self) -> None:
        self.release.set()
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def misbehaving() -> Iterator[Callable[[str], Misbehaving]]:
    servers: list[Misbehaving] = []

    def make(mode: str) -> Misbehaving:
        servers.append(Misbehaving(mode))
        return servers[-1]

    yield make
    for server in servers:
        server.close()


@pytest.fixture
def silent() -> Iterator[str]:
    """A real TCP listener that accepts connections and never answers; yields its host:port."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.1)
        while not stop.is_set():
            try:
                accepted.append(listener.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield f"127.0.0.1:{listener.getsockname()[1]}"
    stop.set()
    thread.join()
    for conn in accepted:
        conn.close()
    listener.close()


def test_redirect_loop_on_pull(beecli, misbehaving, store_snapshot) -> None:
    server = misbehaving("redirect")
    before = store_snapshot()
    proc = beecli("--plain-http", "pull", f"{server.host}/loop/tiny:v1")
    assert proc.returncode == 1
    assert_one_line_error(proc, f"http://{server.host}/v2/loop/tiny/manifests/v1 redirects in a loop",
                          "check the registry's address")
    assert store_snapshot() == before


def test_redirect_loop_on_push(beecli, misbehaving, stored, store_snapshot) -> None:
    server = misbehaving("redirect")
    ref = f"{server.host}/loop/tiny:v1"
    stored(ref)
    before = store_snapshot()
    proc = beecli("--plain-http", "push", ref)
    assert proc.returncode == 1
    assert_one_line_error(proc, f"http://{server.host}/v2/loop/tiny/blobs/sha256:", "redirects in a loop")
    assert store_snapshot() == before


def test_manifest_cut_short(beecli, misbehaving, store_snapshot) -> None:
    server = misbehaving("short")
    before = store_snapshot()
    proc = beecli("--plain-http", "pull", f"{server.host}/short/tiny:v1")
    assert proc.returncode == 1
    assert_one_line_error(proc, f"{server.host} closed the connection after 18 of 1000 bytes of the manifest of "
                          f"{server.host}/short/tiny:v1: try again")
    assert store_snapshot() == before


def test_manifest_nested_too_deeply_from_a_registry(beecli, misbehaving, store_snapshot) -> None:
    server = misbehaving("deep")
    before = store_snapshot()
    proc = beecli("--plain-http", "pull", f"{server.host}/deep/tiny:v1")
    assert proc.returncode == 1
    assert_one_line_error(proc, f"{server.host}/deep/tiny:v1 is not an eBPF program: the registry sent JSON "
                          "nested too deeply to be a manifest")
    assert store_snapshot() == before


def test_manifest_nested_too_deeply_in_the_store(beecli, stored, store_dir: Path) -> None:
    digest = stored("deep/tiny:v1")
    blob = store_dir / "blobs" / "sha256" / digest.split(":", 1)[1]
    deep = b"[" * 100_000 + b"]" * 100_000
    index_path = store_dir / "index.json"
    index = json.loads(index_path.read_bytes())
    deep_digest = sha256_digest(deep)
    (blob.parent / deep_digest.split(":", 1)[1]).write_bytes(deep)
    index["manifests"][0]["digest"] = deep_digest
    index["manifests"][0]["size"] = len(deep)
    index_path.write_text(json.dumps(index))
    proc = beecli("describe", "deep/tiny:v1")
    assert proc.returncode == 1
    assert_one_line_error(proc, "the manifest of deep/tiny:v1 in the local store is not valid: it is JSON nested "
                          "too deeply to be a manifest")


def test_port_out_of_range(beecli, store_snapshot) -> None:
    before = store_snapshot()
    for args in (("pull", "127.0.0.1:99999/x:v1"), ("login", "127.0.0.1:99999", "-u", "u", "-p", "p")):
        proc = beecli(*args)
        assert proc.returncode == 1
        assert_one_line_error(proc, "the registry 127.0.0.1:99999 has port 99999, which is not between 1 and 65535")
    assert store_snapshot() == before


def test_silent_registry_times_out(beecli, silent: str, store_snapshot) -> None:
    before = store_snapshot()
    started = time.monotonic()
    proc = beecli("--plain-http", "--timeout", "1", "pull", f"{silent}/quiet/tiny:v1", timeout=30)
    assert time.monotonic() - started < 10  # one wait of 1 s, not 4 x 120 s
    assert proc.returncode == 1
    assert_one_line_error(proc, f"{silent} accepted the connection but did not answer within 1 s",
                          "--timeout (or BEE_TIMEOUT)")
    proc = beecli("--plain-http", "pull", f"{silent}/quiet/tiny:v1", env={"BEE_TIMEOUT": "0.5"}, timeout=30)
    assert_one_line_error(proc, f"{silent} accepted the connection but did not answer within 0.5 s")
    assert store_snapshot() == before


def test_silent_registry_on_push(beecli, silent: str, stored, store_snapshot) -> None:
    ref = f"{silent}/quiet/tiny:v1"
    stored(ref)
    before = store_snapshot()
    started = time.monotonic()
    proc = beecli("--plain-http", "--timeout", "1", "push", ref, timeout=30)
    assert time.monotonic() - started < 10
    assert proc.returncode == 1
    assert_one_line_error(proc, f"{silent} accepted the connection but did not answer within 1 s")
    assert store_snapshot() == before


def test_stalled_blob_download(beecli, misbehaving, store_snapshot) -> None:
    server = misbehaving("stall")
    before = store_snapshot()
    proc = beecli("--plain-http", "--timeout", "1", "pull", f"{server.host}/stall/tiny:v1", timeout=30)
    assert proc.returncode == 1
    assert_one_line_error(proc, f"the download of blob {server.blob} of "
                          f"{server.host}/stall/tiny:v1 from {server.host} stalled: no data for 1 s after 10 of "
                          "1000 bytes")
    assert store_snapshot() == before


def test_headers_that_trickle_end_at_the_deadline(beecli, misbehaving, store_snapshot) -> None:
    """A registry that sends a byte every 0.2 s is never silent for --timeout, yet the pull ends at the deadline."""
    server = misbehaving("trickle-headers")
    before = store_snapshot()
    proc = beecli("--plain-http", "--timeout", "2", "pull", f"{server.host}/drip/tiny:v1", timeout=60)
    assert proc.returncode == 1
    assert_one_line_error(proc, f"{server.host} did not finish answering GET http://{server.host}/v2/drip/tiny/"
                          "manifests/v1 within 2 s", "allow longer with --timeout (or BEE_TIMEOUT)")
    assert store_snapshot() == before


def test_a_manifest_that_trickles_ends_at_the_deadline(beecli, misbehaving, store_snapshot) -> None:
    server = misbehaving("trickle-body")
    before = store_snapshot()
    proc = beecli("--plain-http", "--timeout", "2", "pull", f"{server.host}/drip/tiny:v1", timeout=60)
    assert proc.returncode == 1
    assert_one_line_error(proc, f"{server.host} did not finish answering GET", "bytes of the manifest of "
                          f"{server.host}/drip/tiny:v1) within 2 s")
    assert store_snapshot() == before


def test_a_redirect_body_is_never_read(beecli, misbehaving, store_dir: Path) -> None:
    """requests reads a redirect's whole body before following it; bee closes it unread (any size)."""
    server = misbehaving("redirect-body")
    proc = beecli("--plain-http", "pull", f"{server.host}/moved/tiny:v1", timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert server.redirect_body_sent < 128 << 20  # what socket buffers took before the close, not 256 MiB
    assert (store_dir / "blobs" / "sha256" / server.blob.split(":")[1]).read_bytes() == b"x" * 1000


def test_credentials_stay_with_the_registry_on_a_redirect_elsewhere(beecli, misbehaving) -> None:
    """Storage behind a registry (S3, a CDN) gets no Authorization header: it would refuse a foreign one."""
    registry, storage = misbehaving("offsite"), misbehaving("recording")
    registry.offsite_url = f"http://{storage.host}"
    proc = beecli("--plain-http", "-u", "u", "-p", "p", "pull", f"{registry.host}/off/tiny:v1")
    assert proc.returncode == 0, proc.stderr
    blob_requests = [headers for path, headers in storage.requests if "/blobs/" in path]
    assert len(blob_requests) == 2  # the config and the program, each once
    assert all("Authorization" not in headers for headers in blob_requests)


def test_plain_http_registry_without_the_flag(beecli, registry_plain, store_snapshot) -> None:
    before = store_snapshot()
    proc = beecli("pull", registry_plain.ref("plain/tiny", "v1"))
    assert proc.returncode == 1
    assert_one_line_error(proc, f"{registry_plain.host} speaks plain HTTP, not HTTPS: use --plain-http")
    assert store_snapshot() == before


def test_error_answer_too_large(beecli, misbehaving, store_snapshot) -> None:
    server = misbehaving("huge")
    before = store_snapshot()
    proc = beecli("--plain-http", "pull", f"{server.host}/huge/tiny:v1")
    assert proc.returncode == 1
    assert_one_line_error(proc, f"the answer of http://{server.host}/v2/huge/tiny/manifests/v1 is 2097152 bytes, "
                          "more than bee's limit of 1024 KiB for such an answer")
    assert store_snapshot() == before


def test_credentials_file_nested_too_deeply(beecli, misbehaving, config_dir: Path) -> None:
    server = misbehaving("redirect")  # its /v2/ answers 200: the login check passes, then the file is read
    config_dir.mkdir()
    deep = b'{"auths":' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    (config_dir / "config.json").write_bytes(deep)
    proc = beecli("--plain-http", "login", server.host, "-u", "u", "-p", "p")
    assert proc.returncode == 1
    assert_one_line_error(proc, f"the credentials file {config_dir / 'config.json'} is JSON nested too deeply: "
                          "fix or remove it")
    assert (config_dir / "config.json").read_bytes() == deep
