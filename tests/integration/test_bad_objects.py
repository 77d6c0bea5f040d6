"""Objects bee must not treat as runnable here, and inputs too big to read: each refused (or described)
with one sentence naming the cause, through the real CLI and real files."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from tests.helpers import DATA, assert_one_line_error

HELLO_O = DATA / "obj" / "hello.o"
BIG_ENDIAN = DATA / "obj" / "lb_ringbuf_be.o"  # committed, built with -target bpfeb

CLASS32 = "says it is a 32-bit ELF file (class byte ELFCLASS32), but BPF objects are always 64-bit"


@pytest.fixture
def class32(tmp_path: Path) -> Path:
    """A real 64-bit object whose class byte (e_ident[EI_CLASS]) was changed to ELFCLASS32."""
    data = bytearray(HELLO_O.read_bytes())
    assert data[4] == 2
    data[4] = 1
    path = tmp_path / "class32.o"
    path.write_bytes(bytes(data))
    return path


@pytest.mark.skipif(sys.byteorder != "little", reason="the committed foreign-order object is big-endian")
def test_describe_says_a_big_endian_object_cannot_run_here(bee) -> None:
    text = bee("describe", str(BIG_ENDIAN))
    assert text.returncode == 0, text.stderr
    assert (f"Runs here:    no: {BIG_ENDIAN} is a big-endian BPF object (built with -target bpfeb) and this "
            "machine is little-endian, so it cannot run here; rebuild it for this machine") in text.stdout
    doc = json.loads(bee("describe", "--json", str(BIG_ENDIAN)).stdout)
    assert "big-endian BPF object" in doc["cannot_run"]
    assert json.loads(bee("describe", "--json", str(HELLO_O)).stdout)["cannot_run"] is None
    assert "Runs here" not in bee("describe", str(HELLO_O)).stdout


@pytest.mark.parametrize("command", [["describe"], ["run", "--no-tty", "--prom-port", "0"]])
def test_a_wrong_class_byte_is_named_not_described_as_empty(bee, class32: Path, command: list[str]) -> None:
    proc = bee(*command[:1], str(class32), *command[1:])
    assert proc.returncode == 1
    assert_one_line_error(proc, f"{class32} {CLASS32}", "rebuild it from its source")


@pytest.fixture
def huge(tmp_path: Path) -> Path:
    """A 2 GiB sparse file with a valid object at its start (no disk blocks beyond the object's)."""
    path = tmp_path / "huge.o"
    with open(path, "wb") as file:
        file.write(HELLO_O.read_bytes())
        file.truncate(2 << 30)
    return path


@pytest.mark.parametrize("command", [["describe"], ["run", "--no-tty", "--prom-port", "0"]])
def test_an_oversized_object_is_refused_before_it_is_read(bee, huge: Path, store_dir: Path,
                                                          command: list[str]) -> None:
    # run bee under a small Python parent that reports its child's peak RSS (kB on Linux)
    probe = ("import resource, subprocess, sys; p = subprocess.run(sys.argv[1:], capture_output=True, text=True); "
             "sys.stderr.write(p.stderr); print(p.returncode, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)")
    proc = subprocess.run([sys.executable, "-c", probe, sys.executable, "-m", "bee", command[0], str(huge),
                           *command[1:]], capture_output=True, text=True, timeout=60,
                          env={**os.environ, "BEE_STORAGE": str(store_dir)})
    code, peak_kib = (int(word) for word in proc.stdout.split())
    assert code == 1
    assert proc.stderr == (f"Error: {huge} is 2048 MiB, more than the 64 MiB a BPF object may be; give the "
                           "compiled .o of the program (real objects are a few MiB at most)\n")
    assert peak_kib < 200 * 1024  # not read: before, describe died of MemoryError and run held 2.1 GB


def test_the_limit_leaves_room_for_real_objects() -> None:
    from bee.inputs import MAX_OBJECT_SIZE

    largest = max(p.stat().st_size for p in (DATA / "obj").glob("*.o"))
    assert largest * 100 < MAX_OBJECT_SIZE == 64 << 20


@pytest.mark.clang
@pytest.mark.skipif(os.geteuid() != 0 or shutil.which("setpriv") is None,
                    reason="needs root to make a root-owned cache and setpriv to build as another user")
def test_a_root_owned_vmlinux_cache_is_named_with_its_fix() -> None:
    """A build as an unprivileged user (uid 65534, a real user of the system) whose cache was made by root.
    In a directory of /tmp of its own: pytest's are readable by root only."""
    tmp_path = Path(tempfile.mkdtemp(prefix="bee-test-rootcache-"))
    try:
        _build_as_nobody_with_roots_cache(tmp_path)
    finally:
        shutil.rmtree(tmp_path)


def _build_as_nobody_with_roots_cache(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    (cache / "bee").mkdir(parents=True)  # root's, mode 755: others cannot unpack bee's kernel types there
    work = tmp_path / "work"
    work.mkdir()
    shutil.copy(DATA / "src" / "hello.c", work / "hello.c")
    os.chown(work, 65534, 65534)
    tmp_path.chmod(0o755)
    env = {**os.environ, "XDG_CACHE_HOME": str(cache), "BEE_STORAGE": str(tmp_path / "store")}
    env.pop("BEE_VMLINUX_H", None)
    proc = subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", sys.executable, "-m",
                           "bee", "build", str(work / "hello.c"), "--local", "--binary-only"],
                          capture_output=True, text=True, timeout=120, env=env, cwd=work)
    assert proc.returncode == 1
    assert_one_line_error(proc, f"cannot write the vmlinux.h cache {cache / 'bee' / 'types'}/",
                          "(Permission denied); make", f"sudo chown -R 65534 {cache / 'bee'}",
                          "set XDG_CACHE_HOME to a directory you own, or BEE_VMLINUX_H to a vmlinux.h")
    assert sorted(p.name for p in work.iterdir()) == ["hello.c"]

    # an input behind a directory the user cannot enter: a sentence, not an internal error (exit 70)
    private = tmp_path / "private"
    private.mkdir(mode=0o700)
    shutil.copy(DATA / "src" / "hello.c", private / "hello.c")
    proc = subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", sys.executable, "-m",
                           "bee", "build", str(private / "hello.c"), "--local", "--binary-only",
                           "-o", str(work / "hello.o")], capture_output=True, text=True, timeout=120, env=env, cwd=work)
    assert proc.returncode == 1
    assert_one_line_error(proc, f"cannot access the input file {private / 'hello.c'}: Permission denied")
