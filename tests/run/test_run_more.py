"""`bee run` on the older convention, interfaces, uprobes, pinning, privileges and repeated runs."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from bee.errors import BeeError
from bee.libbpf import VerifierError
from bee.run.runner import Runner
from bee.run.settings import RunSettings
from tests.goldens import object_bytes
from tests.helpers import DATA, REPO, assert_one_line_error, require
from tests.netns import veth_pair
from tests.run.conftest import bpf_prog_ids
from tests.run.support import running

SRC = DATA / "src"


def test_bumblebee_v0_0_14_section_convention(bee_run, object_file, trigger) -> None:
    run = bee_run(object_file("run_legacy"))
    trigger("beelegacy")
    (event,) = run.wait_for(lambda: run.events("events"), what="an event")
    assert event["event"] == {"uid": 4242, "comm": "beelegacy"}
    run.wait_for(lambda: run.metric_lines("ebpf_solo_io_level{"), what="the gauge")
    lines = run.scrape().splitlines()
    assert 'ebpf_solo_io_execs{comm="beelegacy"} 1' in lines
    assert 'ebpf_solo_io_level{comm="beelegacy"} 9' in lines
    assert "# TYPE ebpf_solo_io_execs counter" in lines and "# TYPE ebpf_solo_io_level gauge" in lines
    run.stop()


def test_xdp_on_an_interface_and_a_uprobe(bee_run, object_file, trigger) -> None:
    with veth_pair("br") as veth:
        progs = bpf_prog_ids("count_packets")
        run = bee_run(object_file("run_net"), "--iface", veth.host)
        assert f"xdp on {veth.host}" in run.stderr_lines[-1] and "libc.so.6:getpid" in run.stderr_lines[-1]
        veth.send_udp(9999, 7)
        run.wait_for(lambda: 'ebpf_solo_io_counter_packets{proto="PROTO_UDP"} 7' in run.scrape().splitlines(),
                     what="7 UDP packets counted")
        trigger("beeuprobe", "/bin/bash", "-c", "echo $$")
        run.wait_for(lambda: [line for line in run.metric_lines("ebpf_solo_io_counter_getpid{")
                              if line.startswith('ebpf_solo_io_counter_getpid{comm="beeuprobe"} ')],
                     what="getpid calls of beeuprobe")
        run.stop()
        assert bpf_prog_ids("count_packets") == progs
        assert "xdp" not in subprocess.run(["ip", "link", "show", veth.host], capture_output=True,
                                           text=True).stdout


def test_interface_programs_need_an_interface(bee, object_file, root) -> None:
    assert_one_line_error(bee("run", object_file("run_net"), "--no-tty", "--prom-port", "0"),
                          "program count_packets (section xdp) attaches to a network interface", "--iface")
    assert_one_line_error(bee("run", object_file("run_net"), "--no-tty", "--prom-port", "0", "--iface", "nosuchif0"),
                          "no network interface named 'nosuchif0'")


def test_pinned_maps_and_programs_outlive_the_run(bee_run, object_file, tmp_path: Path) -> None:
    pins = Path("/sys/fs/bpf") / f"bee-test-{os.getpid()}"
    require(Path("/sys/fs/bpf").is_dir(), "needs bpffs at /sys/fs/bpf")
    try:
        run = bee_run(object_file("run_types"), "--pin-maps", str(pins / "maps"), "--pin-progs",
                      str(pins / "progs"))
        run.stop()
        assert {p.name for p in (pins / "maps").iterdir()} >= {"print_events", "counter_hash", "gauge_hash"}
        assert [p.name for p in (pins / "progs").iterdir()] == ["on_exec"]
        shown = subprocess.run(["bpftool", "map", "show", "pinned", str(pins / "maps" / "gauge_hash")],
                               capture_output=True, text=True)
        assert shown.returncode == 0 and "gauge_hash" in shown.stdout
    finally:
        shutil.rmtree(pins, ignore_errors=True)


def test_pinning_mounts_the_bpf_filesystem_when_none_is_mounted(object_file, root, store_dir: Path) -> None:
    """A fresh boot of these machines has nothing at /sys/fs/bpf: bee mounts it, as bpftool does
    (here in a private mount namespace whose /sys/fs/bpf was unmounted first)."""
    unshare = shutil.which("unshare")
    require(unshare is not None, "needs unshare (util-linux)")
    script = """
        umount /sys/fs/bpf 2>/dev/null
        grep -q ' /sys/fs/bpf ' /proc/self/mountinfo && echo still-mounted
        "$PYTHON" -m bee run "$OBJ" --no-tty --prom-port 0 --pin-maps /sys/fs/bpf/bee-ns/maps >/dev/null &
        for _ in $(seq 200); do [ -e /sys/fs/bpf/bee-ns/maps/gauge_hash ] && break; sleep 0.1; done
        ls /sys/fs/bpf/bee-ns/maps
        grep ' /sys/fs/bpf ' /proc/self/mountinfo | sed 's/.* - //' | cut -d' ' -f1
        kill -TERM $!; wait $!; echo "exit $?"
        rm -rf /sys/fs/bpf/bee-ns
    """
    proc = subprocess.run([str(unshare), "--mount", "--propagation", "private", "sh", "-c", script],
                          capture_output=True, text=True, timeout=60,
                          env=dict(os.environ, PYTHON=sys.executable, OBJ=object_file("run_types"),
                                   BEE_STORAGE=str(store_dir)))
    lines = proc.stdout.split()
    assert "still-mounted" not in lines, proc.stdout
    assert {"print_events", "counter_hash", "gauge_hash"} <= set(lines), (proc.stdout, proc.stderr)
    assert lines[-3:] == ["bpf", "exit", "0"], (proc.stdout, proc.stderr)


def test_without_privileges_says_what_is_needed(object_file, root) -> None:
    setpriv = shutil.which("setpriv")
    require(setpriv is not None, "needs setpriv (util-linux)")
    shared = Path(tempfile.mkdtemp(prefix="bee-unpriv-"))  # readable by the unprivileged user
    os.chmod(shared, 0o755)
    obj = str(shutil.copy(object_file("run_types"), shared / "run_types.o"))
    os.chmod(obj, 0o644)
    proc = subprocess.run([str(setpriv), "--reuid=65534", "--regid=65534", "--clear-groups", sys.executable,
                           "-m", "bee", "run", obj, "--no-tty", "--prom-port", "0"],
                          capture_output=True, text=True, timeout=60, env=dict(os.environ, HOME="/tmp"))
    shutil.rmtree(shared)
    assert_one_line_error(proc, "CAP_BPF")


def _open_fds() -> set[str]:
    return set(os.listdir("/proc/self/fd"))


def test_twenty_runs_leave_no_fds_and_nothing_in_the_kernel(object_file, root, tmp_path: Path) -> None:
    obj = object_file("run_types")
    progs = bpf_prog_ids("on_exec")
    settings = RunSettings(programs=(obj,), no_tty=True, fmt="json", prom_port=0, prom_host="127.0.0.1",
                           poll_interval=0.05)

    def one_run() -> None:
        with running(settings, tmp_path / "store") as runner:
            assert runner.server is not None and runner.server.ready
            assert len(bpf_prog_ids("on_exec") - progs) == 1

    one_run()  # the first run loads libbpf and imports modules: measure from the second on
    before = _open_fds()
    for _ in range(20):
        one_run()
    assert _open_fds() == before
    assert bpf_prog_ids("on_exec") == progs


def test_failures_while_the_object_loads_leave_nothing_behind(object_file, root, tmp_path: Path) -> None:
    """The object loads on a thread while the server and outputs are made: a failure on either side
    raises its one error, waits for the load, and closes everything (fds, kernel objects)."""
    progs = bpf_prog_ids("on_exec")
    interval = sys.getswitchinterval()

    def fails(program: str, **options: object) -> BeeError:
        settings = RunSettings(programs=(program,), no_tty=True, fmt="json", prom_host="127.0.0.1",
                               **options)  # type: ignore[arg-type]
        with open(os.devnull, "wb") as out, open(os.devnull, "w") as err:
            runner = Runner(settings, tmp_path / "store", out=out, err=err)
            with pytest.raises(BeeError) as caught:
                runner.run()
        return caught.value

    fails(object_file("lb_reject"))  # the first run loads libbpf and imports modules
    before = _open_fds()
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert "address already in use" in str(fails(object_file("run_types"), prom_port=port))
    error = fails(object_file("run_types"), prom_port=0, hist_value_keys={"hist_latency": "nofield"})
    assert "hist_latency" in str(error) and "nofield" in str(error)
    error = fails(object_file("lb_reject"), prom_port=0)
    assert isinstance(error, VerifierError) and error.program == "lb_out_of_bounds"
    assert _open_fds() == before
    assert bpf_prog_ids("on_exec") == progs
    assert sys.getswitchinterval() == interval



def test_a_taken_port_or_a_bad_filter_is_reported_before_the_kernel(object_file, root, tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """The filters are read and the metrics port bound before the object is even opened."""
    from bee.libbpf.object import BpfObject
    from bee.sinks.errors import SinkError

    opened: list[str] = []
    real_open = BpfObject.open.__func__  # type: ignore[attr-defined]
    monkeypatch.setattr(BpfObject, "open", classmethod(lambda cls, data, name, **kw: (
        opened.append(name), real_open(cls, data, name, **kw))[1]))

    def run(**options: object) -> None:
        settings = RunSettings(programs=(object_file("run_types"),), no_tty=True, fmt="json", prom_host="127.0.0.1",
                               **options)  # type: ignore[arg-type]
        with open(os.devnull, "wb") as out, open(os.devnull, "w") as err:
            Runner(settings, tmp_path / "store", out=out, err=err).run()

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        with pytest.raises(SinkError, match="address already in use"):
            run(prom_port=taken.getsockname()[1])
    with pytest.raises(BeeError, match="regex"):
        run(prom_port=0, filters=("events,comm,[unclosed",))
    assert opened == []


def test_no_kernel_btf_is_one_error_before_the_kernel_for_objects_that_need_it(
        object_file, root, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every machine of this project has kernel BTF, so the check is substituted in-process:
    `bee.libbpf.system.kernel_has_btf` answers False. opensnoop's programs have CO-RE relocations:
    one sentence, raised before libbpf opens the object. run_types has none: it runs as usual."""
    from bee.libbpf import system
    from bee.libbpf.object import BpfObject
    from bee.run.errors import RunError

    monkeypatch.setattr(system, "kernel_has_btf", lambda: False)
    opened: list[str] = []
    real_open = BpfObject.open.__func__  # type: ignore[attr-defined]
    monkeypatch.setattr(BpfObject, "open", classmethod(lambda cls, data, name, **kw: (
        opened.append(name), real_open(cls, data, name, **kw))[1]))
    opensnoop = tmp_path / "opensnoop.o"
    opensnoop.write_bytes(object_bytes("opensnoop"))
    settings = RunSettings(programs=(str(opensnoop),), no_tty=True, fmt="json", prom_port=0, prom_host="127.0.0.1")
    with open(os.devnull, "wb") as out, open(os.devnull, "w") as err, pytest.raises(RunError) as caught:
        Runner(settings, tmp_path / "store", out=out, err=err).run()
    assert str(caught.value) == (
        "program tracepoint__syscalls__sys_enter_open (section tracepoint/syscalls/sys_enter_open) uses 2 CO-RE "
        "relocations (and 3 more like it), which needs the kernel's BTF, but this kernel has none "
        "(/sys/kernel/btf/vmlinux is missing): the kernel must be built with CONFIG_DEBUG_INFO_BTF=y")
    assert opened == []

    settings = RunSettings(programs=(object_file("run_types"),), no_tty=True, fmt="json", prom_port=0,
                           prom_host="127.0.0.1", poll_interval=0.05)
    with running(settings, tmp_path / "store") as runner:
        assert runner.server is not None and runner.server.ready
    assert opened == ["run_types"]


def test_no_kernel_btf_through_the_cli(root, tmp_path: Path) -> None:
    """The same through `bee run`, with the kernel check substituted by a wrapper module that patches
    `kernel_has_btf` before the CLI starts (this machine has kernel BTF): one line, exit 1."""
    wrapper = tmp_path / "nobtf.py"
    wrapper.write_text("import sys\nfrom bee.libbpf import system\nsystem.kernel_has_btf = lambda: False\n"
                       "from bee.cli import main\nmain(sys.argv[1:])\n")
    opensnoop = tmp_path / "opensnoop.o"
    opensnoop.write_bytes(object_bytes("opensnoop"))
    proc = subprocess.run([sys.executable, str(wrapper), "run", str(opensnoop), "--no-tty", "--prom-port", "0"],
                          capture_output=True, text=True, timeout=60, cwd=REPO)
    assert_one_line_error(proc, "uses 2 CO-RE relocations", "CONFIG_DEBUG_INFO_BTF=y")


def test_start_up_runs_without_the_collector_and_turns_it_on_once_attached(object_file, root,
                                                                          tmp_path: Path) -> None:
    """`bee run` (the real entry point) starts with the cyclic GC off; once attached, the start-up's
    objects are frozen and the GC is on again. The wrapper only watches `end_of_start_up`."""
    wrapper = tmp_path / "watch_gc.py"
    wrapper.write_text(
        "import gc, os, signal, sys\nfrom bee.run import start\nwatched = start.end_of_start_up\n"
        "def watching():\n"
        "    before = gc.isenabled()\n"
        "    watched()\n"
        "    print('gc', before, gc.isenabled(), gc.get_freeze_count() > 0, file=sys.stderr, flush=True)\n"
        "    os.kill(os.getpid(), signal.SIGINT)\n"
        "start.end_of_start_up = watching\n"
        "from bee.cli import main\nmain(sys.argv[1:])\n")
    proc = subprocess.run([sys.executable, str(wrapper), "--storage", str(tmp_path / "store"), "run",
                           object_file("run_types"), "--no-tty", "--prom-port", "0", "--prom-addr", "127.0.0.1"],
                          capture_output=True, text=True, timeout=60, cwd=REPO)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr.splitlines()[-1] == "gc False True True"
