"""`bee build` in the builder container and `bee package` images, on the real Docker engine."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import DATA, REPO, assert_one_line_error
from tests.run.conftest import free_port

# Builds use bee's pinned kernel types (in the builder image, and unpacked for --local); the packaged program runs.
pytestmark = pytest.mark.kernel

OPENSNOOP = REPO / "examples" / "opensnoop" / "opensnoop.c"


def _manifest_digest(store: Path, ref: str) -> str:
    index = json.loads((store / "index.json").read_text())
    (entry,) = [m for m in index["manifests"] if m["annotations"]["org.opencontainers.image.ref.name"] == ref]
    return str(entry["digest"])


def _bee_containers(client: Any) -> int:
    return len([c for c in client.containers.list(all=True) if c.image.tags and
                any(t.startswith("bee-builder") for t in c.image.tags)])


@pytest.mark.clang  # compared with bee build --local
@pytest.mark.parametrize("what", ["template", "example"])
def test_container_build_gives_the_local_bytes_and_digest(bee, docker_client, tmp_path: Path, store_dir: Path,
                                                          what: str) -> None:
    if what == "template":
        source = tmp_path / "probe.c"
        assert bee("init", "--program-type", "Network", "-m", "HashMap", "-o", "counter", "-f", str(source),
                   input="").returncode == 0
    else:
        source = tmp_path / "opensnoop.c"
        shutil.copy(OPENSNOOP, source)
    containers = _bee_containers(docker_client)
    in_container = bee("build", str(source), f"{what}:container", "-o", str(tmp_path / "container.o"), timeout=900)
    assert in_container.returncode == 0, in_container.stderr
    local = bee("build", str(source), f"{what}:local", "--local", "-o", str(tmp_path / "local.o"))
    assert local.returncode == 0, local.stderr
    assert (tmp_path / "container.o").read_bytes() == (tmp_path / "local.o").read_bytes()
    assert _manifest_digest(store_dir, f"{what}:container") == _manifest_digest(store_dir, f"{what}:local")
    assert (tmp_path / "container.o").stat().st_uid == os.getuid()
    assert _bee_containers(docker_client) == containers  # the build container was removed


@pytest.mark.clang  # compared with bee build --local
def test_several_platforms_and_given_types_give_the_local_bytes(bee, docker_client, tmp_path: Path,
                                                                store_dir: Path) -> None:
    """One object per platform in the container, the same image index digest as --local (the builder image
    carries bee's pinned types, never the build host's), and --btf types mounted into the container."""
    source = tmp_path / "opensnoop.c"
    shutil.copy(OPENSNOOP, source)
    platforms = ("--platform", "linux/amd64,linux/arm64")
    container = bee("build", str(source), "snoop:container", *platforms, "-o", str(tmp_path / "c" / "s.o"),
                    timeout=900)
    assert container.returncode == 0, container.stderr
    local = bee("build", str(source), "snoop:local", "--local", *platforms, "-o", str(tmp_path / "l" / "s.o"))
    assert local.returncode == 0, local.stderr
    for arch in ("amd64", "arm64"):
        assert (tmp_path / "c" / f"s.{arch}.o").read_bytes() == (tmp_path / "l" / f"s.{arch}.o").read_bytes()
    assert _manifest_digest(store_dir, "snoop:container") == _manifest_digest(store_dir, "snoop:local")
    btf = ("--btf", "linux/amd64=/sys/kernel/btf/vmlinux")  # this host's own types, made into a vmlinux.h
    given = [bee("build", str(source), "--binary-only", *btf, "-o", str(tmp_path / name), *extra, timeout=900)
             for name, extra in (("gc.o", ()), ("gl.o", ("--local",)))]
    assert all(proc.returncode == 0 for proc in given), [proc.stderr for proc in given]
    assert (tmp_path / "gc.o").read_bytes() == (tmp_path / "gl.o").read_bytes()


def test_the_builder_image_does_not_depend_on_the_build_host() -> None:
    """Its tag digests bee's Dockerfile, compile code, headers and pinned types, by name and content: nothing of
    this host (not its kernel, not where bee is installed), so every host builds and names the same image."""
    from bee.compile.container import _build_inputs, default_builder_image

    package = REPO / "bee"
    inputs = _build_inputs()
    assert all(path.is_relative_to(package) or path == REPO / "builder" / "Dockerfile" for path in inputs)
    assert {p.name for p in inputs} >= {"vmlinux.h.xz", "SOURCE", "solo_types.h", "kernel_types.py"}
    tag = subprocess.run([sys.executable, "-c", "from bee.compile.container import default_builder_image as d; "
                          "print(d())"], capture_output=True, text=True, check=True, cwd="/",
                         env={**os.environ, "XDG_CACHE_HOME": "/nonexistent", "HOME": "/nonexistent"}).stdout.strip()
    assert tag == default_builder_image()  # no cache, no home: the kernel types come from bee itself


def test_relative_and_absolute_paths(bee, docker_client, tmp_path: Path) -> None:
    (tmp_path / "src").mkdir()
    shutil.copy(DATA / "src" / "hello.c", tmp_path / "src" / "hello.c")
    relative = bee("build", "src/hello.c", "--binary-only", "-o", "out/rel.o", cwd=tmp_path, timeout=900)
    assert relative.returncode == 0, relative.stderr
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    absolute = bee("build", str(tmp_path / "src" / "hello.c"), "--binary-only", "-o", str(tmp_path / "abs.o"),
                   cwd=elsewhere, timeout=900)
    assert absolute.returncode == 0, absolute.stderr
    assert (tmp_path / "out" / "rel.o").read_bytes() == (tmp_path / "abs.o").read_bytes()


def test_compiler_errors_come_back_verbatim(bee, docker_client, tmp_path: Path) -> None:
    source = tmp_path / "broken.c"
    source.write_text('#include "vmlinux.h"\nint f(void) {\n  return x +;\n}\n')
    proc = bee("build", str(source), "broken:v1", timeout=900)
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr
    assert "broken.c:3:" in proc.stderr and "error:" in proc.stderr
    assert proc.stderr.strip().splitlines()[-1] == "Error: compiling broken.c failed (exit 1)"
    assert not list(tmp_path.glob("*.o")) and not list(tmp_path.glob(".*.tmp"))


@pytest.mark.parametrize("case", ["onto the input", "through a symlink", "under a file", "an object as input"])
def test_container_builds_refuse_what_local_builds_refuse(bee, docker_client, tmp_path: Path, case: str) -> None:
    """The output and input checks of `--local` hold in the container too, before any container starts."""
    source = tmp_path / "hello.c"
    shutil.copy(DATA / "src" / "hello.c", source)
    link = tmp_path / "link.o"
    link.symlink_to(source)
    obj = tmp_path / "hello.o"
    obj.write_bytes(b"\x7fELF" + b"\0" * 60)
    args, status, words = {
        "onto the input": ([str(source), "-o", str(source)], 2, f"the output file {source} is the input file"),
        "through a symlink": ([str(source), "-o", str(link)], 2, f"the output file {link} is a symbolic link"),
        "under a file": ([str(source), "-o", str(source / "x.o")], 2, f"{source} is a file, not a directory"),
        "an object as input": ([str(obj), "-o", str(tmp_path / "y.o")], 1,
                               f"input file {obj} is already a compiled object (ELF), not C source"),
    }[case]
    before = {p.name: p.read_bytes() for p in (source, obj)}
    containers = _bee_containers(docker_client)
    proc = bee("build", *args, "--binary-only", timeout=900)
    assert proc.returncode == status
    assert_one_line_error(proc, words)
    assert {p.name: p.read_bytes() for p in (source, obj)} == before and link.is_symlink()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["hello.c", "hello.o", "link.o"]  # no output, no .tmp
    assert _bee_containers(docker_client) == containers


def test_a_missing_builder_image_is_built(bee, docker_client, tmp_path: Path) -> None:
    image = f"bee-builder:missing-{os.getpid()}"
    try:
        proc = bee("build", str(DATA / "src" / "hello.c"), "--binary-only", "-o", str(tmp_path / "h.o"), "-i", image,
                   timeout=900)
        assert proc.returncode == 0, proc.stderr
        assert f"{image} cannot be pulled; building it from bee's Dockerfile" in proc.stderr
        assert docker_client.images.get(image)
    finally:
        docker_client.images.remove(image, force=True)


def test_docker_unreachable_is_one_sentence(bee, tmp_path: Path) -> None:
    proc = bee("build", str(DATA / "src" / "hello.c"), "--binary-only", "-o", str(tmp_path / "h.o"),
               env={"DOCKER_HOST": f"unix://{tmp_path}/no-docker.sock"})
    assert_one_line_error(proc, "cannot reach docker at", "start docker or build with --local")


@pytest.mark.clang  # bee build --local
def test_packaged_program_runs_and_serves_metrics(bee, docker_client, runner_image: str,
                                                 trigger: Callable[[str], None], tmp_path: Path) -> None:
    source = tmp_path / "run_types.c"
    shutil.copy(DATA / "src" / "run_types.c", source)
    assert bee("build", str(source), "types:pkg", "--local").returncode == 0
    image = f"bee-test/types:{os.getpid()}"
    packaged = bee("package", "types:pkg", image, "--bee-image", runner_image, timeout=900)
    assert packaged.returncode == 0, packaged.stderr
    port = free_port()
    container = docker_client.containers.run(
        image, detach=True, cap_add=["SYS_ADMIN", "NET_ADMIN"], ports={"9091/tcp": ("127.0.0.1", port)},
        volumes={"/sys/kernel/tracing": {"bind": "/sys/kernel/tracing", "mode": "rw"}})
    try:
        url = f"http://127.0.0.1:{port}/metrics"
        deadline = time.monotonic() + 60
        while b"attached" not in container.logs() and time.monotonic() < deadline:
            time.sleep(0.2)
        assert b"bee: attached 1 program from types:pkg" in container.logs(), container.logs()
        trigger("beetrigger")
        expected = 'ebpf_solo_io_counter_ring{color="GREEN",comm="beetrigger"} 1'
        while time.monotonic() < deadline:
            with urllib.request.urlopen(url, timeout=5) as response:
                metrics = response.read().decode()
            if expected in metrics.splitlines():
                break
            time.sleep(0.2)
        assert expected in metrics.splitlines(), metrics
        container.stop(timeout=10)
        assert container.wait(timeout=30)["StatusCode"] == 0  # SIGTERM: clean exit
    finally:
        container.remove(force=True)
        docker_client.images.remove(image, force=True)


def test_root_in_a_container_without_the_capabilities_is_told_which_to_add(docker_client, runner_image: str) -> None:
    """Root in a container has only the capabilities it is given: bee names the missing ones and the flag that
    adds them, instead of saying it needs root; with them added, the same program attaches."""
    from docker.errors import ContainerError

    volume = {str(DATA / "obj"): {"bind": "/objects", "mode": "ro"}}
    with pytest.raises(ContainerError) as refused:
        docker_client.containers.run(runner_image, ["run", "--no-tty", "/objects/hello.o"], volumes=volume,
                                     remove=True, stderr=True, stdout=False)
    stderr = refused.value.stderr.decode().strip().splitlines()
    assert refused.value.exit_status == 1 and len(stderr) == 1, stderr
    assert stderr[0] == ("Error: bee run needs CAP_BPF and CAP_PERFMON, which this process lacks although it runs as "
                         "root (in a container, root has only the capabilities it was given: docker run --cap-add BPF "
                         "--cap-add PERFMON, or --cap-add SYS_ADMIN on Docker 20.10, which knows no CAP_BPF; "
                         "securityContext.capabilities.add in Kubernetes)")
    container = docker_client.containers.run(  # this machine's Docker is 20.10: SYS_ADMIN, as the message says
        runner_image, ["run", "--no-tty", "/objects/hello.o"], volumes={
            **volume, "/sys/kernel/tracing": {"bind": "/sys/kernel/tracing", "mode": "ro"}},
        cap_add=["SYS_ADMIN"], detach=True)
    try:
        deadline = time.monotonic() + 60
        while b"bee: attached" not in container.logs(stdout=False, stderr=True) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert b"bee: attached 1 program from /objects/hello.o" in container.logs(stdout=False, stderr=True)
    finally:
        container.remove(force=True)
