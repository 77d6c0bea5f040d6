"""`bee run --web-config FILE`: the metrics endpoint behind TLS and basic auth, configured as Prometheus
exporters are (the exporter-toolkit's web config), scraped by a real HTTPS client with certificates and
bcrypt hashes made here."""

from __future__ import annotations

import socket
import ssl
import time
from pathlib import Path

import bcrypt
import pytest
import requests

from tests.helpers import assert_one_line_error
from tests.pki import make_pki

PASSWORD = "s3cret passw0rd"


@pytest.fixture
def pki(tmp_path: Path) -> dict[str, Path]:
    """A CA, a server certificate for localhost/127.0.0.1 and a client certificate, as PEM files."""
    return make_pki(tmp_path)


def _web_config(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "web.yml"
    path.write_text(text)
    return path


def test_tls_and_basic_auth(bee_run, object_file, pki: dict[str, Path], tmp_path: Path) -> None:
    hashed = bcrypt.hashpw(PASSWORD.encode(), bcrypt.gensalt(rounds=10)).decode().replace("$2b$", "$2y$")
    config = _web_config(tmp_path, f"tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n"
                                   f"basic_auth_users:\n  prometheus: '{hashed}'\n")
    run = bee_run(object_file("run_types"), "--web-config", str(config))
    assert any(f"metrics on https://[::1]:{run.port}/metrics" in line for line in run.stderr_lines), run.stderr_lines
    url = f"https://127.0.0.1:{run.port}/metrics"
    ca = str(pki["ca.crt"])

    good = requests.get(url, verify=ca, auth=("prometheus", PASSWORD), timeout=10)
    assert good.status_code == 200 and "bee_ringbuf_poll_errors_total" in good.text
    again = requests.get(url, verify=ca, auth=("prometheus", PASSWORD), timeout=10)  # remembered, still right
    assert again.status_code == 200
    for auth in (("prometheus", "wrong"), ("nobody", PASSWORD), None, ("prometheus", "x" * 100)):
        refused = requests.get(url, verify=ca, auth=auth, timeout=10)
        assert refused.status_code == 401, auth
        assert refused.headers["WWW-Authenticate"] == 'Basic realm="bee"'
        assert "bee_ringbuf_poll_errors_total" not in refused.text
    assert requests.get(f"https://127.0.0.1:{run.port}/healthz", verify=ca, timeout=10).status_code == 401
    # a client that does not trust the certificate stops at the handshake
    with pytest.raises(requests.exceptions.SSLError):
        requests.get(url, auth=("prometheus", PASSWORD), timeout=10)
    # plain HTTP to the TLS port: told so in plain HTTP, as Go's servers do, and given nothing else
    with socket.create_connection(("127.0.0.1", run.port), timeout=10) as plain:
        plain.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
        answer = plain.recv(4096)
    assert answer.startswith(b"HTTP/1.1 400 Bad Request") and b"HTTP request to an HTTPS server" in answer
    assert b"bee_ringbuf_poll_errors_total" not in answer
    run.stop()


def test_client_certificates_are_required_when_asked(bee_run, object_file, pki: dict[str, Path],
                                                     tmp_path: Path) -> None:
    config = _web_config(tmp_path, "tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n"
                                   "  client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: ca.crt\n"
                                   "  min_version: TLS13\n")
    run = bee_run(object_file("run_types"), "--web-config", str(config))
    url = f"https://127.0.0.1:{run.port}/metrics"
    ca = str(pki["ca.crt"])
    with_cert = requests.get(url, verify=ca, cert=(str(pki["client.crt"]), str(pki["client.key"])), timeout=10)
    assert with_cert.status_code == 200 and "bee_ringbuf_poll_errors_total" in with_cert.text
    with pytest.raises((requests.exceptions.SSLError, requests.exceptions.ConnectionError)):
        requests.get(url, verify=ca, timeout=10)
    tls12 = ssl.create_default_context(cafile=ca)
    tls12.maximum_version = ssl.TLSVersion.TLSv1_2
    tls12.load_cert_chain(str(pki["client.crt"]), str(pki["client.key"]))
    with pytest.raises(ssl.SSLError), socket.create_connection(("127.0.0.1", run.port), timeout=10) as raw, \
            tls12.wrap_socket(raw, server_hostname="localhost"):
        pass  # min_version TLS13 refuses a TLS 1.2 client
    run.stop()


@pytest.mark.parametrize(("text", "message"), [
    ("tls_server_config:\n  cert_file: server.crt\n",
     "line 2: tls_server_config: needs key_file (the certificate's private key)"),
    ("tls_server_config:\n  cert_file: nope.crt\n  key_file: server.key\n", "nope.crt is not a file"),
    ("tls_server_config:\n  cert_file: server.crt\n  key_file: client.key\n",
     "cannot use the certificate"),
    ("tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n  cipher_suites: [TLS_AES_128_GCM_SHA256]\n",
     "tls_server_config.cipher_suites: bee does not support cipher_suites"),
    ("tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n  min_version: TLS99\n",
     "expected one of TLS10, TLS11, TLS12, TLS13"),
    ("basic_auth_users:\n  alice: plaintext\n", "basic_auth_users.alice: expected a bcrypt hash"),
    ("basic_auth_user:\n  alice: x\n", "unknown key"),
    ("http_server_config:\n  http2: false\n", "bee does not support http_server_config"),
])
def test_a_bad_web_config_is_one_sentence_before_anything_loads(bee, pki: dict[str, Path], tmp_path: Path,
                                                                object_file, text: str, message: str) -> None:
    config = _web_config(tmp_path, text)
    proc = bee("run", object_file("run_types"), "--no-tty", "--prom-port", "0", "--web-config", str(config))
    assert_one_line_error(proc, str(config), message)
    assert "attached" not in proc.stderr


def test_a_real_prometheus_scrapes_it_with_its_own_tls_and_basic_auth(bee_run, object_file, pki: dict[str, Path],
                                                                     tmp_path: Path) -> None:
    """Debian's Prometheus server, configured as for any protected exporter (`scheme: https`, `tls_config`,
    `basic_auth` with a `password_file`), scrapes bee; a second job with a wrong password is refused (`up` 0)."""
    from tests.fleet.prometheus import JOB, Prometheus, prometheus_binary
    from tests.helpers import require
    from tests.run.conftest import free_port

    require(prometheus_binary() is not None, "needs Debian's prometheus (scripts/setup.sh installs it)")
    hashed = bcrypt.hashpw(PASSWORD.encode(), bcrypt.gensalt(rounds=10)).decode()
    config = _web_config(tmp_path, f"tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n"
                                   f"basic_auth_users:\n  prometheus: '{hashed}'\n")
    run = bee_run(object_file("run_types"), "--web-config", str(config))
    (tmp_path / "password").write_text(PASSWORD)
    (tmp_path / "wrong").write_text("not it")
    tls = f"    scheme: https\n    tls_config:\n      ca_file: {pki['ca.crt']}\n"
    prometheus = Prometheus(tmp_path / "prometheus", free_port(), scrape=(
        f"{tls}    basic_auth:\n      username: prometheus\n      password_file: {tmp_path / 'password'}\n"), jobs=(
        f"  - job_name: wrong-password\n    scrape_interval: 1s\n    scrape_timeout: 1s\n{tls}"
        f"    basic_auth:\n      username: prometheus\n      password_file: {tmp_path / 'wrong'}\n"
        f"    static_configs:\n      - targets: ['127.0.0.1:{run.port}']\n"))
    prometheus.start()
    try:
        prometheus.set_targets({"bee": f"127.0.0.1:{run.port}"})
        deadline = time.monotonic() + 60
        while True:
            up = {series["metric"]["job"]: series["value"][1] for series in prometheus.query("up")}
            scraped = prometheus.query(f'bee_ringbuf_poll_errors_total{{job="{JOB}"}}')
            if up.get(JOB) == "1" and "wrong-password" in up and scraped:
                break
            assert time.monotonic() < deadline, (up, prometheus.log())
            time.sleep(0.5)
        assert up["wrong-password"] == "0", up  # 401: nothing of bee's reached that job
        assert not prometheus.query('bee_ringbuf_poll_errors_total{job="wrong-password"}')
    finally:
        prometheus.stop()
    run.stop()


#: Capability numbers (linux/capability.h) of those a `bee k8s manifest` container may be given.
CAPABILITY_BITS = {"NET_ADMIN": 12, "PERFMON": 38, "BPF": 39}


def test_what_the_daemonset_grants_runs_a_protected_runner_here(bee, bee_run, object_file, pki: dict[str, Path],
                                                               tmp_path: Path, trigger) -> None:
    """The runner as `bee k8s manifest --web-config` deploys it, on this kernel: root with only the container's
    capabilities and no new privileges loads and attaches, reads the web Secret's files at the Secret's mode
    (the private key included), and serves the counts over TLS with basic auth."""
    import base64

    import yaml

    hashed = bcrypt.hashpw(PASSWORD.encode(), bcrypt.gensalt(rounds=4)).decode()
    config = _web_config(tmp_path, f"tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n"
                                   f"basic_auth_users:\n  prometheus: '{hashed}'\n")
    printed = bee("k8s", "manifest", "ghcr.io/example/execs:v1", "--web-config", str(config))
    assert printed.returncode == 0, printed.stderr
    objects = {d["kind"]: d for d in yaml.safe_load_all(printed.stdout)}
    spec = objects["DaemonSet"]["spec"]["template"]["spec"]
    container = spec["containers"][0]
    security = container["securityContext"]
    assert security["runAsUser"] == 0 and security["allowPrivilegeEscalation"] is False
    assert security["capabilities"]["drop"] == ["ALL"]
    granted = security["capabilities"]["add"]
    mode = next(v["secret"]["defaultMode"] for v in spec["volumes"] if v["name"] == "web")
    mounted = tmp_path / "etc-bee-web"  # the Secret as the kubelet mounts it: its files, root's, at its mode
    mounted.mkdir()
    for name, value in objects["Secret"]["data"].items():
        (mounted / name).write_bytes(base64.b64decode(value))
        (mounted / name).chmod(mode)

    bounding = "-all," + ",".join(f"+{name.lower()}" for name in granted)
    run = bee_run(object_file("fleet_execs"), "--web-config", str(mounted / "web.yml"),
                  prefix=["setpriv", f"--bounding-set={bounding}", "--no-new-privs", "--"])
    status = Path(f"/proc/{run.proc.pid}/status").read_text()
    effective = int(next(line.split()[1] for line in status.splitlines() if line.startswith("CapEff:")), 16)
    assert effective == sum(1 << CAPABILITY_BITS[name] for name in granted), status  # nothing more than granted

    url = f"https://127.0.0.1:{run.port}/metrics"
    trigger("fleet-k8s")
    run.wait_for(lambda: 'ebpf_solo_io_counter_execs{comm="fleet-k8s"} 1' in requests.get(
        url, verify=str(pki["ca.crt"]), auth=("prometheus", PASSWORD), timeout=10).text, what="the exec counted")
    assert requests.get(url, verify=str(pki["ca.crt"]), auth=("prometheus", "wrong"), timeout=10).status_code == 401
    run.stop()
