"""`bee run REF` pulling from a real registry (`--pull missing|always|never`), then really running in the kernel."""

from __future__ import annotations

from pathlib import Path

from bee.oci.store import LocalStore
from tests.helpers import assert_one_line_error


def test_run_pulls_a_missing_ref_then_runs_it(run_bee, beecli, registry_plain, stored, store_dir: Path) -> None:
    ref = registry_plain.ref("run/tiny", "v1")
    digest = stored(ref)
    assert beecli("--plain-http", "push", ref).returncode == 0
    assert beecli("rm", ref).returncode == 0

    run = run_bee(ref)  # --pull missing is the default
    assert f"bee: pulled {ref} ({digest})" in run.stderr_lines
    assert run.scrape("/healthz")
    run.stop()
    assert LocalStore(store_dir).resolve(ref).digest == digest

    again = run_bee(ref)  # stored now: no pull
    assert not any(line.startswith("bee: pulled") for line in again.stderr_lines)
    again.stop()

    always = run_bee(ref, "--pull", "always")
    assert f"bee: pulled {ref} ({digest})" in always.stderr_lines
    always.stop()


def test_run_by_digest_pulls(run_bee, beecli, registry_plain, stored) -> None:
    ref = registry_plain.ref("run/bydigest", "v1")
    digest = stored(ref)
    assert beecli("--plain-http", "push", ref).returncode == 0
    assert beecli("rm", ref).returncode == 0
    by_digest = f"{registry_plain.host}/run/bydigest@{digest}"
    run = run_bee(by_digest)
    assert f"bee: pulled {by_digest} ({digest})" in run.stderr_lines
    run.stop()


def test_pull_never_fails_with_the_store_error(beecli, registry_plain, stored) -> None:
    ref = registry_plain.ref("run/never", "v1")
    stored(ref)
    assert beecli("--plain-http", "push", ref).returncode == 0
    assert beecli("rm", ref).returncode == 0
    proc = beecli("--plain-http", "run", ref, "--pull", "never", "--no-tty", "--prom-port", "0")
    assert_one_line_error(proc, f"{ref} is not in the local store")


def test_pull_missing_of_an_unknown_ref_says_so(beecli, registry_plain) -> None:
    ref = registry_plain.ref("run/absent", "v1")
    proc = beecli("--plain-http", "run", ref, "--no-tty", "--prom-port", "0")
    assert_one_line_error(proc, f"{ref} was not found on {registry_plain.host}")
    # a local name is never pulled: the store's own error
    assert_one_line_error(beecli("run", "local_only:v1", "--no-tty"), "local_only:v1 is not in the local store")
