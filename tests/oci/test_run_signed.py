"""`bee run` under a signature requirement, with the real kernel: a signed program from a registry with
GHCR-style token auth runs; from the store it is verified again offline, and nothing unsigned or
tampered with reaches the kernel (no `bee: attached`, one sentence, exit status 1)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.helpers import assert_one_line_error
from tests.registry import cosign
from tests.registry.client import RawClient


def _refused_run(root: None, store_dir: Path, config_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, BEE_STORAGE=str(store_dir))
    return subprocess.run([sys.executable, "-m", "bee", "--config-dir", str(config_dir), "--plain-http", "run", *args,
                           "--no-tty", "--prom-port", "0"], capture_output=True, text=True, env=env, timeout=60)


def test_a_signed_program_runs_from_a_token_registry_and_again_offline(
        run_bee, beecli, registry_token, stored, store_dir: Path, config_dir: Path, tmp_path: Path, root) -> None:
    reg = registry_token
    ref = reg.ref("signed/tiny", "v1")
    digest = stored(ref)
    assert beecli("--plain-http", "login", reg.host, "-u", reg.username, "-p", reg.password).returncode == 0
    assert beecli("--plain-http", "push", ref).returncode == 0
    assert beecli("rm", ref).returncode == 0
    key = cosign.new_key()
    pub = tmp_path / "ci.pub"
    pub.write_bytes(cosign.public_pem(key))
    client = RawClient(reg.url, reg.auth)
    data = cosign.payload(f"{reg.host}/signed/tiny", digest)
    cosign.push_tag_signatures(client, "signed/tiny", digest, [(cosign.layer(data, cosign.sign(key, data)), data)])

    run = run_bee(ref, "--verify-key", str(pub))
    assert f"bee: pulled {ref} ({digest})" in run.stderr_lines
    assert run.scrape("/healthz")
    run.stop()

    reg.token_server.clear()
    offline = run_bee(ref, "--verify-key", str(pub), "--pull", "never")  # from the store, its signature with it
    offline.stop()
    assert reg.token_server.requests == []  # the registry was not asked

    other = tmp_path / "other.pub"
    other.write_bytes(cosign.public_pem(cosign.new_key()))
    refused = _refused_run(root, store_dir, config_dir, ref, "--verify-key", str(other), "--pull", "never")
    assert_one_line_error(refused, "is not verified", "no signature verifies with")
    assert "attached" not in refused.stdout + refused.stderr


def test_unsigned_programs_and_files_do_not_load_under_a_key(beecli, stored, program: bytes, store_dir: Path,
                                                            config_dir: Path, tmp_path: Path, root) -> None:
    pub = tmp_path / "k.pub"
    pub.write_bytes(cosign.public_pem(cosign.new_key()))
    stored("local/unsigned:v1")
    refused = _refused_run(root, store_dir, config_dir, "local/unsigned:v1", "--verify-key", str(pub))
    assert_one_line_error(refused, "local/unsigned:v1", "has no signature")
    (tmp_path / "tiny.o").write_bytes(program)
    refused = _refused_run(root, store_dir, config_dir, str(tmp_path / "tiny.o"), "--verify-key", str(pub))
    assert_one_line_error(refused, "is a file, which carries no signature")


def test_a_runner_config_with_keys_refuses_an_unsigned_program(stored, store_dir: Path, config_dir: Path,
                                                              tmp_path: Path, root) -> None:
    (tmp_path / "keys").mkdir()
    (tmp_path / "keys" / "ci.pub").write_bytes(cosign.public_pem(cosign.new_key()))
    stored("local/unsigned:v1")
    config = tmp_path / "runner.yaml"
    config.write_text("programs:\n  - program: local/unsigned:v1\nmetrics: {port: 0}\nverify_keys: [keys/ci.pub]\n")
    env = dict(os.environ, BEE_STORAGE=str(store_dir))
    refused = subprocess.run([sys.executable, "-m", "bee", "--config-dir", str(config_dir), "run", "--config",
                              str(config), "--no-tty"], capture_output=True, text=True, env=env,
                             timeout=60)
    assert_one_line_error(refused, "local/unsigned:v1", "has no signature")
