"""Files another user cannot read, met by an unprivileged user (uid 65534, through setpriv): each is one
sentence naming the file, never an internal error (exit 70) nor click's usage text, and a signature
policy that cannot be looked at is never taken as absent (it may be what requires signatures).

In a directory of /tmp of its own: pytest's are readable by root only.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers import DATA, assert_one_line_error

NOBODY = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]  # setpriv: util-linux, always there

pytestmark = pytest.mark.root  # to make files only root can read, and switch user


@pytest.fixture
def place() -> Iterator[Path]:
    """A directory everyone may enter, holding `home` (nobody's) and `private` (root's, mode 0700, with a
    policy, a web config and a store inside)."""
    path = Path(tempfile.mkdtemp(prefix="bee-test-others-"))
    try:
        path.chmod(0o755)
        home = path / "home"
        home.mkdir()
        os.chown(home, 65534, 65534)
        private = path / "private"
        (private / "conf").mkdir(parents=True)
        (private / "conf" / "policy.yaml").write_text("require-signature: true\n")
        (private / "web.yml").write_text("basic_auth_users: {}\n")
        private.chmod(0o700)
        yield path
    finally:
        shutil.rmtree(path)


def _as_nobody(place: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "HOME": str(place / "home"), "BEE_STORAGE": str(place / "home" / "store")}
    return subprocess.run([*NOBODY, sys.executable, "-m", "bee", *args], capture_output=True, text=True,
                          timeout=60, env=env, cwd=place / "home")


def test_files_of_another_user_are_named_in_one_sentence(place: Path) -> None:
    private = place / "private"
    policy = private / "conf" / "policy.yaml"
    refused = ("cannot tell whether the signature policy", f"{policy} exists: Permission denied",
               "give --config-dir a directory this user can read, or --policy FILE")
    pulled = _as_nobody(place, "pull", "localhost:1/x:v1", "--config-dir", str(private / "conf"))
    assert pulled.returncode == 1
    assert_one_line_error(pulled, *refused)  # not "cannot reach the registry": the policy comes first
    ran = _as_nobody(place, "run", str(DATA / "obj" / "fleet_execs.o"), "--no-tty", "--config-dir",
                     str(private / "conf"))
    assert ran.returncode == 1
    assert_one_line_error(ran, *refused)

    web = _as_nobody(place, "run", str(DATA / "obj" / "fleet_execs.o"), "--no-tty", "--web-config",
                     str(private / "web.yml"))
    assert web.returncode == 1
    assert_one_line_error(web, f"cannot read the web config file {private / 'web.yml'}: Permission denied")

    listed = _as_nobody(place, "--storage", str(private / "store"), "list")
    assert listed.returncode == 1
    assert_one_line_error(listed, f"cannot read the local store index {private / 'store' / 'index.json'}: "
                                  "Permission denied")


COMMANDS = [["list"], ["describe", "x:v1"], ["build", str(DATA / "src" / "hello.c"), "x:v1", "--local"],
            ["push", "localhost:1/x:v1"], ["pull", "localhost:1/x:v1"], ["tag", "x:v1", "y:v1"], ["rm", "x:v1"],
            ["store", "check"], ["k8s", "manifest", "ghcr.io/example/x:v1"], ["run", "x:v1", "--no-tty"]]


@pytest.mark.parametrize("args", COMMANDS, ids=lambda args: " ".join(args[:2]))
def test_a_home_of_another_user_is_one_sentence(place: Path, args: list[str]) -> None:
    """HOME still naming root's home after a switch of user (`su` without `-`, sudo keeping HOME): the store,
    the policy and the cache there cannot be looked at, and the command says which and what to do."""
    env = {k: v for k, v in os.environ.items() if k not in ("BEE_STORAGE", "XDG_CACHE_HOME", "BEE_VMLINUX_H")}
    env["HOME"] = str(place / "private")
    proc = subprocess.run([*NOBODY, sys.executable, "-m", "bee", *args], capture_output=True, text=True,
                          timeout=60, env=env, cwd=place / "home")
    assert proc.returncode == 1
    assert_one_line_error(proc, str(place / "private"), "Permission denied")


def test_a_key_pair_that_cannot_be_written_names_the_file_meant(place: Path) -> None:
    for prefix in (place / "private" / "k", place / "k"):  # a directory it cannot enter, one it cannot write
        proc = subprocess.run([*NOBODY, sys.executable, "-m", "bee", "generate-key-pair", "--output-key-prefix",
                               str(prefix)], capture_output=True, text=True, timeout=60, cwd=place / "home",
                              env={**os.environ, "HOME": str(place / "home"), "BEE_PASSWORD": ""})
        assert proc.returncode == 1
        assert_one_line_error(proc, f"cannot write the key pair: Permission denied ({prefix}.key)")
    assert sorted(p.name for p in place.iterdir()) == ["home", "private"]  # no temporary file left
