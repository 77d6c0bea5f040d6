"""The metrics HTTP server, on real sockets."""

from __future__ import annotations

import concurrent.futures
import os
import re
import socket
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator

import pytest

from bee.sinks import http
from bee.sinks.errors import SinkError
from bee.sinks.http import MetricsServer
from bee.sinks.metrics import MetricsRegistry
from tests.helpers import require


def fetch(url: str) -> tuple[int, str, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=5) as resp:
            return resp.status, resp.headers["Content-Type"], resp.read()
    except urllib.error.HTTPError as err:
        with err:
            return err.code, err.headers["Content-Type"], err.read()


@pytest.fixture
def registry() -> MetricsRegistry:
    registry = MetricsRegistry()
    registry.counter("counter_events_hash", ["comm"]).inc(("curl",))
    return registry


@pytest.fixture
def server(registry: MetricsRegistry) -> Iterator[MetricsServer]:
    server = MetricsServer(registry, host="127.0.0.1", port=0)
    server.start()
    yield server
    server.stop()


def test_serves_metrics(server: MetricsServer, registry: MetricsRegistry) -> None:
    assert server.port != 0
    status, ctype, body = fetch(f"{server.url}/metrics")
    assert status == 200
    assert ctype == "text/plain; version=0.0.4; charset=utf-8"
    assert body == registry.exposition()
    assert b'ebpf_solo_io_counter_events_hash{comm="curl"} 1\n' in body


def test_healthz_is_503_until_ready(server: MetricsServer) -> None:
    assert fetch(f"{server.url}/healthz")[0] == 503
    server.mark_ready()
    status, _, body = fetch(f"{server.url}/healthz")
    assert (status, body) == (200, b"ok\n")


def test_other_paths_are_404(server: MetricsServer) -> None:
    assert fetch(f"{server.url}/")[0] == 404
    assert fetch(f"{server.url}/metricsx")[0] == 404


def test_query_string_is_ignored(server: MetricsServer) -> None:
    assert fetch(f"{server.url}/metrics?x=1")[0] == 200


def test_port_in_use_is_one_sentence(registry: MetricsRegistry) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        server = MetricsServer(registry, host="127.0.0.1", port=port)
        with pytest.raises(SinkError) as err:
            server.start()
    assert str(err.value) == (
        f"cannot serve metrics on 127.0.0.1:{port}: address already in use; choose another with --prom-port"
    )
    server.stop()


def test_invalid_addresses(registry: MetricsRegistry) -> None:
    with pytest.raises(SinkError, match=r"^cannot serve metrics on 127.0.0.1:70000: ports go from 0 to 65535$"):
        MetricsServer(registry, host="127.0.0.1", port=70000).start()
    with pytest.raises(SinkError, match=r"^cannot serve metrics on 192.0.2.1:0: that address is not on this machine$"):
        MetricsServer(registry, host="192.0.2.1", port=0).start()


def test_stop_frees_the_port_and_is_idempotent(registry: MetricsRegistry) -> None:
    server = MetricsServer(registry, host="127.0.0.1", port=0)
    server.stop()  # before start: nothing to do
    server.start()
    port = server.port
    server.stop()
    server.stop()
    with socket.socket() as again:
        again.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        again.bind(("127.0.0.1", port))
        again.listen()
    with pytest.raises(urllib.error.URLError):
        urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2)


def test_restart_on_the_same_port(registry: MetricsRegistry) -> None:
    with MetricsServer(registry, host="127.0.0.1", port=0) as first:
        port = first.port
        assert fetch(f"{first.url}/metrics")[0] == 200
    with MetricsServer(registry, host="127.0.0.1", port=port) as second:
        assert fetch(f"{second.url}/metrics")[0] == 200


def _ipv6_loopback() -> bool:
    try:
        with socket.socket(socket.AF_INET6) as s:
            s.bind(("::1", 0))
        return True
    except OSError:
        return False


@pytest.mark.parametrize("host", ["::1", "::"])
def test_ipv6(registry: MetricsRegistry, host: str) -> None:
    require(_ipv6_loopback(), "IPv6 loopback (::1) is not configured")
    with MetricsServer(registry, host=host, port=0) as server:
        assert server.url == f"http://[::1]:{server.port}"
        assert fetch(f"{server.url}/metrics")[0] == 200
        if host == "::":  # all interfaces: IPv4 clients too
            assert fetch(f"http://127.0.0.1:{server.port}/metrics")[0] == 200


def raw(server: MetricsServer, request: bytes) -> bytes:
    """Send `request` as is and read the whole answer (the server closes the connection)."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as conn:
        conn.sendall(request)
        conn.shutdown(socket.SHUT_WR)
        chunks = []
        while chunk := conn.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


def test_head_has_the_headers_of_get_and_no_body(server: MetricsServer, registry: MetricsRegistry) -> None:
    answer = raw(server, b"HEAD /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
    head, _, body = answer.partition(b"\r\n\r\n")
    lines = head.decode().split("\r\n")
    assert lines[0] == "HTTP/1.1 200 OK"
    assert f"Content-Length: {len(registry.exposition())}" in lines
    assert "Connection: close" in lines
    assert re.fullmatch(r"Date: \w{3}, \d\d \w{3} \d{4} \d\d:\d\d:\d\d GMT", next(x for x in lines if "Date" in x))
    assert body == b""


def test_other_methods_are_405(server: MetricsServer) -> None:
    answer = raw(server, b"POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n")
    assert answer.startswith(b"HTTP/1.1 405 Method Not Allowed\r\n")
    assert b"\r\nAllow: GET, HEAD\r\n" in answer


def test_what_is_not_http_is_400_and_the_server_goes_on(server: MetricsServer) -> None:
    assert raw(server, b"hello\r\n\r\n").startswith(b"HTTP/1.1 400 Bad Request\r\n")
    assert raw(server, b"GET /metrics HTTP/1.1\r\n" + b"X: y\r\n" * 200 + b"\r\n").startswith(b"HTTP/1.1 400 ")
    assert raw(server, b"") == b""  # connected and closed without a request: no answer
    assert fetch(f"{server.url}/metrics")[0] == 200


def test_headers_split_over_packets_are_read(server: MetricsServer) -> None:
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as conn:
        for part in (b"GET /healthz HT", b"TP/1.1\r\nHost: x\r\n", b"\r\n"):
            conn.sendall(part)
        answer = conn.makefile("rb").read()
    assert answer.startswith(b"HTTP/1.1 503 Service Unavailable\r\n")
    assert answer.endswith(b"\r\n\r\nnot ready\n")


def _fds() -> set[str]:
    return set(os.listdir("/proc/self/fd"))


def test_start_and_stop_leave_no_thread_and_no_fd(registry: MetricsRegistry) -> None:
    before_fds, before_threads = _fds(), threading.active_count()
    for _ in range(10):
        with MetricsServer(registry, host="127.0.0.1", port=0) as server:
            assert fetch(f"{server.url}/metrics")[0] == 200
            held = socket.create_connection(("127.0.0.1", server.port))  # a client that never asks
        held.close()  # its handler thread sees the end of the connection and closes its side
    for _ in range(500):  # the handler threads end on their own, a moment after their client
        if _fds() == before_fds and threading.active_count() <= before_threads:
            break
        time.sleep(0.01)
    assert _fds() == before_fds
    assert threading.active_count() <= before_threads
    assert not [t for t in threading.enumerate() if t.name == "bee-metrics"]


def test_concurrent_scrapes_are_all_answered(server: MetricsServer) -> None:
    with concurrent.futures.ThreadPoolExecutor(16) as pool:
        answers = list(pool.map(lambda _: fetch(f"{server.url}/metrics"), range(64)))
    assert {status for status, _, _ in answers} == {200}
    assert len({body for _, _, body in answers}) == 1


# -- many and slow clients: the limits documented in docs/running.md, Metrics -------------


def _closed_by_server(conn: socket.socket, timeout: float) -> bool:
    """Wait up to `timeout` seconds for the server to close `conn` without answering; True if it did."""
    conn.settimeout(timeout)
    try:
        return conn.recv(1) == b""
    except ConnectionResetError:
        return True
    except TimeoutError:
        return False


def test_a_burst_of_idle_connections_cannot_starve_a_scrape(server: MetricsServer) -> None:
    threads_before = threading.active_count()
    idle: list[socket.socket] = []
    try:
        for i in range(500):
            idle.append(socket.create_connection(("127.0.0.1", server.port), timeout=30))
            if i == 250:  # a real scrape in the middle of the burst
                assert fetch(f"{server.url}/metrics")[0] == 200
        assert fetch(f"{server.url}/metrics")[0] == 200  # and at its end
        # idle clients hold no thread: the server reads requests itself
        assert threading.active_count() <= threads_before + http.MAX_ANSWERING
        # each idle connection is closed, at the latest HEADER_TIMEOUT after it connected (generous bound here)
        deadline = time.monotonic() + http.HEADER_TIMEOUT + 30
        for conn in idle:
            assert _closed_by_server(conn, max(0.1, deadline - time.monotonic()))
    finally:
        for conn in idle:
            conn.close()
    assert fetch(f"{server.url}/metrics")[0] == 200


def test_a_burst_of_requests_is_answered_or_closed(server: MetricsServer, registry: MetricsRegistry) -> None:
    """500 clients each asking at once: every one gets the whole answer or a closed connection (past
    MAX_WAITING connections not yet read, the oldest is closed), none hangs, and the server goes on."""
    conns = []
    try:
        for _ in range(500):
            conn = socket.create_connection(("127.0.0.1", server.port), timeout=30)
            conn.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
            conns.append(conn)
        answered = 0
        for conn in conns:
            try:
                answer = conn.makefile("rb").read()
            except ConnectionResetError:
                answer = b""
            assert answer == b"" or (answer.startswith(b"HTTP/1.1 200 OK\r\n")
                                     and answer.endswith(registry.exposition())), answer[:200]
            answered += bool(answer)
        assert answered > 0
    finally:
        for conn in conns:
            conn.close()
    assert fetch(f"{server.url}/metrics")[0] == 200


def test_a_slow_loris_is_cut_after_the_header_timeout_while_scrapes_go_on(server: MetricsServer) -> None:
    slow = socket.create_connection(("127.0.0.1", server.port), timeout=30)
    started = time.monotonic()
    request = b"GET /metrics HTTP/1.1\r\nX-Slow: " + b"a" * 1000
    try:
        for byte in request:  # one byte a second, never finishing the headers
            try:
                slow.sendall(bytes([byte]))
            except (BrokenPipeError, ConnectionResetError):
                break
            if _closed_by_server(slow, 1.0):
                break
            assert fetch(f"{server.url}/metrics")[0] == 200  # meanwhile, scrapes are answered
            assert time.monotonic() - started < http.HEADER_TIMEOUT + 30, "the slow client was never cut"
        cut_after = time.monotonic() - started
    finally:
        slow.close()
    assert cut_after >= http.HEADER_TIMEOUT - 0.5  # not before the documented limit
    assert fetch(f"{server.url}/metrics")[0] == 200
