"""`bee store check [--repair]`, stale temporaries of killed writers, and corrupt blobs rewritten by the next write.

Real stores in temporary directories and the real CLI in a subprocess; a killed writer is imitated by
leaving a temporary file of its naming (`.tmp-<name>-<pid>-<hex>`) with an old modification time, and
a corrupt blob by appending to a blob file: nothing is mocked.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from bee.oci.fileutil import STALE_TEMP_AGE
from bee.oci.manifest import sha256_digest
from bee.oci.store import LocalStore
from tests.goldens import object_bytes
from tests.helpers import assert_one_line_error

REF = "check/tiny:v1"


def _save(store_dir: Path) -> LocalStore:
    store = LocalStore(store_dir)
    store.save_program(REF, object_bytes("tiny"), platform=None)
    return store


def _corrupt(store_dir: Path) -> Path:
    path = store_dir / "blobs" / "sha256" / sha256_digest(object_bytes("tiny")).split(":", 1)[1]
    path.chmod(0o644)
    with open(path, "ab") as blob:
        blob.write(b"junk")
    return path


def _temporary(directory: Path, age: float) -> Path:
    path = directory / f".tmp-{'a' * 64}-4242-0badcafe"
    path.write_bytes(b"half a blob")
    then = time.time() - age
    os.utime(path, (then, then))
    return path


def test_a_healthy_store_checks_clean(bee, store_dir: Path) -> None:
    _save(store_dir)
    proc = bee("store", "check")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == ""
    assert proc.stderr.strip() == f"Checked 3 blobs in {store_dir}: 0 corrupt, 0 missing, 0 stale temporary files"


def test_check_reports_and_repair_removes(bee, store_dir: Path) -> None:
    _save(store_dir)
    bad = _corrupt(store_dir)
    stale = _temporary(store_dir / "blobs" / "sha256", STALE_TEMP_AGE + 60)
    young = _temporary(store_dir, 5)  # a writer that may still be running: neither reported nor removed
    proc = bee("store", "check")
    assert proc.returncode == 1
    assert proc.stdout.splitlines() == [f"corrupt: {bad} does not match its digest", f"stale temporary file: {stale}"]
    assert proc.stderr.splitlines() == [
        f"Checked 3 blobs in {store_dir}: 1 corrupt, 0 missing, 1 stale temporary file",
        f"Error: the local store {store_dir} has 1 corrupt blob and 1 stale temporary file: "
        f"run `bee store check --repair`, then build or pull {REF} again"]
    assert bad.exists() and stale.exists()  # a check alone changes nothing

    proc = bee("store", "check", "--repair")
    assert proc.returncode == 1
    assert proc.stdout.splitlines() == [f"corrupt: {bad} does not match its digest (removed)",
                                        f"stale temporary file: {stale} (removed)",
                                        f"missing: {REF} needs blob {sha256_digest(object_bytes('tiny'))}"]
    assert proc.stderr.splitlines()[1] == (f"Error: the local store {store_dir} lacks blobs of {REF}: "
                                           f"build or pull {REF} again")
    assert not bad.exists() and not stale.exists() and young.exists()

    _save(store_dir)  # the rebuild writes the blob again
    proc = bee("store", "check")
    assert proc.returncode == 0, proc.stderr
    assert LocalStore(store_dir).program_bytes(LocalStore(store_dir).resolve(REF)) == object_bytes("tiny")


def test_writing_a_corrupt_blob_again_replaces_it(bee, store_dir: Path) -> None:
    _save(store_dir)
    bad = _corrupt(store_dir)
    proc = bee("describe", REF)
    assert_one_line_error(proc, "the program of check/tiny:v1 in the local store is corrupted")
    _save(store_dir)  # the same program built again
    assert bad.read_bytes() == object_bytes("tiny")
    assert bee("store", "check").returncode == 0


def test_the_next_write_removes_stale_temporaries_only(store_dir: Path) -> None:
    _save(store_dir)
    stale = [_temporary(store_dir, STALE_TEMP_AGE + 60), _temporary(store_dir / "blobs" / "sha256", STALE_TEMP_AGE + 1)]
    young = _temporary(store_dir / "blobs" / "sha256", 1)
    young = young.rename(young.with_name(young.name + "-young"))
    LocalStore(store_dir).tag(REF, "check/tiny:v2")
    assert not any(path.exists() for path in stale)
    assert young.exists()


def test_check_of_a_missing_store(bee, tmp_path: Path) -> None:
    proc = bee("--storage", str(tmp_path / "none"), "store", "check")
    assert proc.returncode == 0, proc.stderr
    assert "Checked 0 blobs" in proc.stderr
