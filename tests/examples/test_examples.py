"""Every example under examples/: built into a store, run by reference with `bee run --no-tty`, its event
caused for real on this kernel, and the decoded events and exact metric series checked.

Activity that is not ours (other processes on the machine) is told apart by pid, command name, file
name or by loopback addresses of our own (127.x.y.2 -> 127.x.y.3), never by timing.
"""

from __future__ import annotations

import json
import os
import re
import select
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from bee.sinks.families import format_value
from tests.examples.conftest import EXAMPLES, VERSION, example_names, make
from tests.helpers import require
from tests.netns import HOST_IP, veth_pair
from tests.run.conftest import BeeRun, free_port

PR_SET_NAME = 15

#: Tracked maps of each example (name -> output kind): the names Bumblebee's examples use, so that
#: metric names (`ebpf_solo_io_<map>`) stay the same.
TRACKED_MAPS = {
    "activeconn": {"gauge_sockets_ext": "gauge"},
    "bashreadline": {"print_events": "print"},
    "capable": {"print_events": "print"},
    "exitsnoop": {"print_exits": "print"},
    "kprobetcp": {"print_events": "print"},
    "labels": {"counter_open_errors": "counter", "print_open_errors": "print", "counter_xmit_packets": "counter"},
    "nfsstats": {"hist_nfs_op_time_us": "hist"},
    "offcputime": {"counter_offcpu_us": "counter"},
    "oomkill": {"counter_oomkills": "counter"},
    "opensnoop": {"print_events": "print"},
    "runqlat": {"hist_runqlat_us": "hist"},
    "runqlat_kernel": {"log2hist_runqlat_us": "log2hist"},
    "syscount": {"counter_syscalls": "counter"},
    "tcpconnect": {"counter_events_hash": "counter", "counter_events_ring": "counter"},
    "tcpconnlat": {"print_events": "print"},
    "xdpcount": {"counter_packets": "counter"},
}

SOCK_STATE = ["tracepoint/sock/inet_sock_set_state"]
#: Program sections of each example: kprobes only where the kernel offers no other hook (nfsstats).
SECTIONS = {
    "activeconn": SOCK_STATE,
    "bashreadline": ["uretprobe//bin/bash:readline"],
    "capable": ["tracepoint/capability/cap_capable"],
    "exitsnoop": ["tracepoint/sched/sched_process_exit"],
    "kprobetcp": SOCK_STATE,
    "labels": ["tracepoint/syscalls/sys_exit_openat", "tracepoint/net/net_dev_queue"],
    "nfsstats": [f"{kind}/nfs_file_{op}" for kind in ("kprobe", "kretprobe") for op in ("open", "read", "write")],
    "offcputime": ["tracepoint/sched/sched_switch"],
    "oomkill": ["tracepoint/oom/mark_victim"],
    "opensnoop": [f"tracepoint/syscalls/sys_{way}_{call}" for way in ("enter", "exit") for call in ("open", "openat")],
    "runqlat": [f"tracepoint/sched/sched_{name}" for name in ("switch", "wakeup", "wakeup_new")],
    "runqlat_kernel": [f"tracepoint/sched/sched_{name}" for name in ("switch", "wakeup", "wakeup_new")],
    "syscount": ["tracepoint/raw_syscalls/sys_enter"],
    "tcpconnect": SOCK_STATE,
    "tcpconnlat": SOCK_STATE,
    "xdpcount": ["xdp"],
}

BUCKETS = ["0", "10", "20", "50", "100", "200", "500", "1000", "2000", "5000", "+Inf"]


def ref(name: str) -> str:
    return f"{name}:{VERSION}"


def as_command(tmp_path: Path, comm: str, program: str) -> str:
    """A copy of `program` named `comm` (so the process's command name is `comm`)."""
    path = tmp_path / "bin" / comm
    if not path.exists():
        path.parent.mkdir(exist_ok=True)
        shutil.copy(program, path)
    return str(path)


def python_as(comm: str, code: str, *args: str) -> list[str]:
    """argv of a Python process that renames itself `comm` (prctl PR_SET_NAME), then runs `code`."""
    rename = f"import ctypes; ctypes.CDLL(None).prctl({PR_SET_NAME}, {comm.encode()!r}, 0, 0, 0)\n"
    return [sys.executable, "-c", rename + code, *args]


def loopback_pair(test: int) -> tuple[str, str]:
    """Source and destination addresses on lo that only this test of this session uses."""
    net = f"127.{100 + os.getpid() % 100}.{test}"
    return f"{net}.2", f"{net}.3"


def series(run: BeeRun, metric: str) -> dict[str, float]:
    """Samples of `metric` (`name{labels}` -> value); histogram parts (`_bucket`, ...) included."""
    samples = {}
    for line in run.scrape().splitlines():
        if line.startswith(metric) and not line.startswith("#"):
            name, value = line.rsplit(" ", 1)
            samples[name] = float(value)
    return samples


def go_duration_seconds(text: str) -> float:
    """Seconds in a Go duration of at least one second (`49m23.797732761s`, `1h2m3.5s`)."""
    match = re.fullmatch(r"(?:(\d+)h)?(?:(\d+)m)?(\d+(?:\.\d+)?)s", text)
    assert match, text
    hours, minutes, seconds = match.groups()
    return int(hours or 0) * 3600 + int(minutes or 0) * 60 + float(seconds)


# TCP on loopback: `ok` connections from SRC to a listener on DST (both ends closed again), then
# `refused` attempts from SRC to a port nobody listens on at REFUSED_DST.
TCP_CLIENT = """
import socket, sys
src, dst, ok, refused_dst, refused = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4], int(sys.argv[5])
listener = socket.socket(); listener.bind((dst, 0)); listener.listen(16)
closed = socket.socket(); closed.bind((refused_dst, 0))
ends = []
for _ in range(ok):
    c = socket.socket(); c.bind((src, 0)); c.connect(listener.getsockname())
    ends += [c, listener.accept()[0]]
for _ in range(refused):
    c = socket.socket(); c.bind((src, 0))
    assert c.connect_ex(closed.getsockname()) != 0
    c.close()
for end in ends:
    end.close()
"""


def run_pid(argv: list[str]) -> tuple[int, int]:
    """Run `argv` to completion; returns (pid, exit status as Popen reports it: -N for signal N)."""
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return proc.pid, proc.wait(30)


def tcp_client(comm: str, src: str, dst: str, ok: int, refused_dst: str = "", refused: int = 0) -> int:
    """Run TCP_CLIENT as `comm`; returns its pid."""
    pid, status = run_pid(python_as(comm, TCP_CLIENT, src, dst, str(ok), refused_dst or dst, str(refused)))
    assert status == 0
    return pid


# -- every example builds, keeps its map names, and is documented --------------------------------------------------


def test_every_example_is_covered_and_documented() -> None:
    assert example_names() == sorted(TRACKED_MAPS)
    for name in example_names():
        readme = (EXAMPLES / name / "README.md").read_text()
        assert f"bee build examples/{name}/{name}.c {name}:{VERSION} --local" in readme, name
        assert f"bee run {name}:{VERSION} --no-tty" in readme, name


@pytest.mark.parametrize("name", sorted(TRACKED_MAPS))
def test_builds_with_bumblebee_map_names(name: str, examples_store: Path) -> None:
    proc = subprocess.run([sys.executable, "-m", "bee", "describe", "--json", ref(name)], capture_output=True,
                          text=True, env=dict(os.environ, BEE_STORAGE=str(examples_store)), check=True)
    described = json.loads(proc.stdout)
    assert {m["name"]: m["output"] for m in described["maps"] if m["tracked"]} == TRACKED_MAPS[name]
    assert sorted(p["section"] for p in described["programs"]) == sorted(SECTIONS[name])


@pytest.mark.clang  # make example-xdpcount runs bee build --local
def test_make_examples_with_a_registry_builds_and_pushes_each(registry_plain, tmp_path: Path) -> None:
    registry = f"{registry_plain.host}/examples"
    # every example: built under the registry's name, then pushed over plain HTTP (commands only)
    dry = make(tmp_path / "store", tmp_path / "objects", "-n", "examples", f"REGISTRY={registry}/", "PLAIN_HTTP=1")
    assert dry.returncode == 0, dry.stderr
    bee = f"{sys.executable} -m bee"
    assert sorted(dry.stdout.splitlines()) == sorted(
        line for name in example_names() for line in (
            f"{bee} build examples/{name}/{name}.c {registry}/{name}:{VERSION} --local -o {tmp_path}/objects/{name}.o",
            f"{bee} --plain-http push {registry}/{name}:{VERSION}"))
    # one for real (the others differ only by name): pushed, and the registry has the stored manifest
    proc = make(tmp_path / "store", tmp_path / "objects", "example-xdpcount", f"REGISTRY={registry}", "PLAIN_HTTP=1")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    pushed = f"{registry}/xdpcount:{VERSION}"
    described = subprocess.run([sys.executable, "-m", "bee", "describe", "--json", pushed], capture_output=True,
                               text=True, env=dict(os.environ, BEE_STORAGE=str(tmp_path / "store")), check=True)
    digest = json.loads(described.stdout)["digest"]
    assert f"Pushed {pushed} ({digest})" in proc.stdout + proc.stderr
    request = urllib.request.Request(f"{registry_plain.url}/v2/examples/xdpcount/manifests/{VERSION}", method="HEAD",
                                     headers={"Accept": "application/vnd.oci.image.manifest.v1+json"})
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.headers["Docker-Content-Digest"] == digest


# -- process and file events --------------------------------------------------------------------------------------


def test_opensnoop(bee_run, tmp_path: Path) -> None:
    present, missing = tmp_path / "present.txt", tmp_path / "missing.txt"
    present.write_text("bee\n")
    run = bee_run(ref("opensnoop"), "-f", f"print_events,fname,^{re.escape(str(tmp_path))}/(present|missing)\\.txt$")
    pid, status = run_pid([as_command(tmp_path, "beeopen", "/bin/cat"), str(present), str(missing)])
    assert status == 1  # cat: missing.txt: No such file or directory
    events = run.wait_for(lambda: len(run.events("print_events")) >= 2 and run.events("print_events"),
                          what="two open events")
    decoded = [e["event"] for e in events]
    for event in decoded:
        assert event.pop("ts") > 0
    assert decoded == [
        {"pid": pid, "uid": 0, "ret": 3, "flags": os.O_RDONLY, "comm": "beeopen", "fname": str(present)},
        {"pid": pid, "uid": 0, "ret": -2, "flags": os.O_RDONLY, "comm": "beeopen", "fname": str(missing)},
    ]
    assert series(run, "ebpf_solo_io_") == {}  # a print_ map: events only, no metric
    run.stop()


def test_opensnoop_parameters_filter_in_the_kernel(bee_run, tmp_path: Path) -> None:
    """--param target_comm: only that command's opens reach the ring buffer (bee_events_read_total counts
    them all, before any -f filter); the other command's do not."""
    present = tmp_path / "present.txt"
    present.write_text("bee\n")
    run = bee_run(ref("opensnoop"), "--param", "target_comm=beeopenparam")
    for _ in range(3):
        run_pid([as_command(tmp_path, "beeopenother", "/bin/cat"), str(present)])
    pid, status = run_pid([as_command(tmp_path, "beeopenparam", "/bin/cat"), str(present)])
    assert status == 0
    run.wait_for(lambda: any(e["event"]["fname"] == str(present) for e in run.events("print_events")),
                 what="the named command's open")
    time.sleep(0.3)
    events = [e["event"] for e in run.events("print_events")]
    assert {(e["pid"], e["comm"]) for e in events} == {(pid, "beeopenparam")}  # cat's libraries too, nothing else
    assert series(run, "bee_events_read_total") == {'bee_events_read_total{map="print_events"}': len(events)}
    run.stop()


def test_exitsnoop(bee_run, tmp_path: Path) -> None:
    run = bee_run(ref("exitsnoop"), "-f", "print_exits,comm,^bee(exit|killed)$")
    started = time.monotonic_ns()
    exited, status = run_pid([as_command(tmp_path, "beeexit", "/bin/sh"), "-c", "exit 3"])
    assert status == 3
    sleeper = subprocess.Popen([as_command(tmp_path, "beekilled", "/bin/sleep"), "30"])
    time.sleep(0.2)
    sleeper.send_signal(signal.SIGKILL)
    assert sleeper.wait(10) == -signal.SIGKILL
    events = run.wait_for(lambda: len(run.events("print_exits")) >= 2 and run.events("print_exits"),
                          what="two exits")
    decoded = [e["event"] for e in events]
    for event in decoded:
        start, end = event.pop("start_time"), event.pop("exit_time")
        assert started - 1_000_000_000 < start < end < time.monotonic_ns()
    assert decoded == [
        {"pid": exited, "tid": exited, "ppid": os.getpid(), "sig": 0, "exit_code": 3, "comm": "beeexit"},
        {"pid": sleeper.pid, "tid": sleeper.pid, "ppid": os.getpid(), "sig": signal.SIGKILL, "exit_code": 0,
         "comm": "beekilled"},
    ]
    run.stop()


def test_labels_read_like_names(bee_run, tmp_path: Path) -> None:
    """bee's label types on real events: an errno as its name, a cgroup id as its path (a cgroup v2 child made
    here for the process), an interface index as its name and a driver's transmit function as its symbol."""
    from bee.decode.system_names import cgroup2_mount

    mount = cgroup2_mount()
    require(mount is not None, "needs cgroup v2 mounted (the ids bpf_get_current_cgroup_id gives)")
    assert mount is not None
    group = Path(mount) / f"bee-labels-{os.getpid()}"
    group.mkdir()
    try:
        run = bee_run(ref("labels"), "-f", "print_open_errors,comm,^beelabels$")
        script = f"echo $$ > {group}/cgroup.procs && exec {as_command(tmp_path, 'beelabels', '/bin/cat')} /no/such/file"
        _, status = run_pid(["/bin/sh", "-c", script])
        assert status == 1
        with socket.create_server(("127.0.0.1", 0)) as server, socket.create_connection(server.getsockname()):
            server.accept()[0].close()
        events = run.wait_for(lambda: run.events("print_open_errors"), what="the failed open")
        assert events[0]["event"] == {"error": "ENOENT", "cgroup": f"/{group.name}", "comm": "beelabels"}
        series = run.wait_for(lambda: [line for line in run.scrape().splitlines() if line.startswith(
            "ebpf_solo_io_counter_xmit_packets{") and 'dev="lo"' in line], what="packets on lo")
        assert 'xmit="loopback_xmit"' in series[0] and float(series[0].rsplit(" ", 1)[1]) >= 1
        errors = [line for line in run.scrape().splitlines() if line.startswith("ebpf_solo_io_counter_open_errors{")
                  and f'cgroup="/{group.name}"' in line]
        assert len(errors) == 1 and errors[0].startswith(
            f'ebpf_solo_io_counter_open_errors{{cgroup="/{group.name}",error="ENOENT"}} '), errors
        assert float(errors[0].rsplit(" ", 1)[1]) >= 1  # the file, and the loader's search of its libraries
        helps = [line for line in run.scrape().splitlines() if line.startswith("# HELP ebpf_solo_io_counter_")]
        assert helps == [  # the program's own words (BEE_HELP, BEE_UNIT), then where the series come from
            "# HELP ebpf_solo_io_counter_open_errors Failed openat calls by error and cgroup (unit: calls); counter "
            "from BPF map counter_open_errors (hash)",
            "# HELP ebpf_solo_io_counter_xmit_packets Packets queued for transmission, by interface and driver "
            "(unit: packets); counter from BPF map counter_xmit_packets (hash)"]
        run.stop()
    finally:
        group.rmdir()


def labelled(run: BeeRun, metric: str, *labels: str) -> dict[str, float]:
    """Series of `metric` (its labels' text -> value) whose labels contain every one of `labels`."""
    found = {}
    for line in run.scrape().splitlines():
        if line.startswith(metric + "{"):
            name, value = line.rsplit(" ", 1)
            if all(label in name for label in labels):
                found[name[len(metric) + 1:-1]] = float(value)
    return found


def test_syscount_names_system_calls(bee_run) -> None:
    """syscall_t on real calls: a process that calls getppid(2) 50 times has a series named getppid with at least
    50 calls, and no series of it is a bare number (every call it made has a name on this architecture)."""
    run = bee_run(ref("syscount"))
    _, status = run_pid(python_as("beesyscount", "import os\nfor _ in range(50): os.getppid()"))
    assert status == 0
    metric = "ebpf_solo_io_counter_syscalls"
    ours = run.wait_for(lambda: labelled(run, metric, 'comm="beesyscount"', 'syscall="getppid"'),
                        what="the getppid calls")
    assert list(ours.values())[0] >= 50, ours
    calls = [re.search(r'syscall="([^"]*)"', key).group(1) for key in labelled(run, metric, 'comm="beesyscount"')]
    assert "exit_group" in calls or "execve" in calls or "close" in calls, calls
    assert not [call for call in calls if call.isdigit()], calls
    run.stop()


def test_offcputime_names_kernel_stacks(bee_run) -> None:
    """kstack_t on real switches: a process that sleeps 0.3 s has a series whose stack label is its kernel stack,
    root first, through the sleep (do_nanosleep, then schedule), with at least 0.2 s off the CPU in it."""
    run = bee_run(ref("offcputime"))
    _, status = run_pid(python_as("beeoffcpu", "import time\ntime.sleep(0.3)"))
    assert status == 0
    metric = "ebpf_solo_io_counter_offcpu_us"
    ours = run.wait_for(lambda: labelled(run, metric, 'comm="beeoffcpu"', "do_nanosleep"), what="the sleep's stack")
    (labels, microseconds), *_ = sorted(ours.items(), key=lambda item: -item[1])
    stack = re.search(r'stack="([^"]*)"', labels).group(1).split(";")
    assert "schedule" in stack[stack.index("do_nanosleep"):], stack  # the sleep calls the scheduler, leaf last
    assert not [frame for frame in stack if frame.startswith("0x") or "+" in frame], stack
    assert microseconds >= 200_000, ours
    run.stop()


def test_capable(bee_run, tmp_path: Path) -> None:
    require(shutil.which("setpriv") is not None, "needs setpriv (util-linux)")
    cap_sys_nice = 23  # lowering one's nice value needs it
    run = bee_run(ref("capable"), "-f", "print_events,task,^(beecapable|nice)$")
    granted, _ = run_pid([as_command(tmp_path, "beecapable", "/usr/bin/nice"), "-n", "-1", "/bin/true"])
    refused, _ = run_pid(["setpriv", "--reuid", "65534", "--regid", "65534", "--clear-groups",
                          "/usr/bin/nice", "-n", "-1", "/bin/true"])

    def nice_checks() -> list[dict]:
        return [e["event"] for e in run.events("print_events")
                if e["event"]["cap"] == cap_sys_nice and e["event"]["tgid"] in (granted, refused)]

    run.wait_for(lambda: len(nice_checks()) >= 2, what="two CAP_SYS_NICE checks")
    mntns = os.stat("/proc/self/ns/mnt").st_ino
    assert nice_checks() == [
        {"mntnsid": mntns, "pid": granted, "cap": cap_sys_nice, "tgid": granted, "uid": 0, "ret": 0,
         "task": "beecapable"},
        {"mntnsid": mntns, "pid": refused, "cap": cap_sys_nice, "tgid": refused, "uid": 65534, "ret": -1,
         "task": "nice"},
    ]
    run.stop()


# -- TCP on loopback ----------------------------------------------------------------------------------------------


def test_tcpconnect(bee_run) -> None:
    src, dst = loopback_pair(1)
    unreachable = dst.rsplit(".", 1)[0] + ".4"
    run = bee_run(ref("tcpconnect"))
    tcp_client("beeconnect", src, dst, ok=2, refused_dst=unreachable, refused=1)
    expected = {
        f'ebpf_solo_io_counter_events_hash{{daddr="{dst}",saddr="{src}"}}': 2,
        f'ebpf_solo_io_counter_events_hash{{daddr="{unreachable}",saddr="{src}"}}': 1,
        f'ebpf_solo_io_counter_events_ring{{daddr="{dst}",saddr="{src}"}}': 2,
        f'ebpf_solo_io_counter_events_ring{{daddr="{unreachable}",saddr="{src}"}}': 1,
    }

    def ours() -> dict[str, float]:
        return {k: v for k, v in series(run, "ebpf_solo_io_counter_events_").items() if f'saddr="{src}"' in k}

    run.wait_for(lambda: ours() == expected, what=f"{expected}; have {ours()}")
    run.stop()


def test_activeconn(bee_run) -> None:
    src, dst = loopback_pair(2)
    gauge = f'ebpf_solo_io_gauge_sockets_ext{{daddr="{dst}",saddr="{src}"}}'
    run = bee_run(ref("activeconn"))

    def value() -> float | None:
        return series(run, gauge).get(gauge)

    with socket.socket() as listener:
        listener.bind((dst, 0))
        listener.listen(8)
        ends = []
        for _ in range(2):
            client = socket.socket()
            client.bind((src, 0))
            client.connect(listener.getsockname())
            ends.append((client, listener.accept()[0]))
        run.wait_for(lambda: value() == 2, what="2 open connections")
        for end in ends.pop():
            end.close()
        run.wait_for(lambda: value() == 1, what="1 open connection")
        for end in ends.pop():
            end.close()
        run.wait_for(lambda: value() == 0, what="no open connection")
    with socket.socket() as closed, socket.socket() as client:  # a refused attempt: +1, then -1 at once
        closed.bind((dst, 0))
        client.bind((src, 0))
        assert client.connect_ex(closed.getsockname()) != 0
    time.sleep(0.3)  # three polls
    ours = {k: v for k, v in series(run, "ebpf_solo_io_gauge_sockets_ext").items() if f'saddr="{src}"' in k}
    assert ours == {gauge: 0}
    run.stop()


def test_tcpconnlat(bee_run) -> None:
    src, dst = loopback_pair(3)
    run = bee_run(ref("tcpconnlat"), "-f", f"print_events,saddr_v4,^{re.escape(src)}$")
    before = time.monotonic_ns() // 1000
    pid = tcp_client("beeconnlat", src, dst, ok=2, refused=1)
    after = time.monotonic_ns() // 1000
    run.wait_for(lambda: len(run.events("print_events")) >= 2, what="two connections")
    time.sleep(0.2)  # the refused attempt was never established: no event may follow
    decoded = [e["event"] for e in run.events("print_events")]
    for event in decoded:
        assert 0 <= event.pop("delta_us") < 1_000_000
        assert before <= event.pop("ts_us") <= after
    assert decoded == 2 * [{"saddr_v4": src, "daddr_v4": dst, "comm": "beeconnlat", "tgid": pid, "af": 2}]
    assert series(run, "ebpf_solo_io_") == {}
    run.stop()


KPROBETCP_CLIENT = """
import socket
for family, host in ((socket.AF_INET, "127.0.0.1"), (socket.AF_INET6, "::1")):
    with socket.socket(family) as listener, socket.socket(family) as client:
        listener.bind((host, 0)); listener.listen(1)
        client.connect(listener.getsockname()); listener.accept()[0].close()
"""


def test_kprobetcp(bee_run) -> None:
    require(socket.has_ipv6 and Path("/proc/net/if_inet6").exists(), "needs IPv6 on lo")
    run = bee_run(ref("kprobetcp"))
    before = time.monotonic()
    pid, status = run_pid(python_as("beekprobetcp", KPROBETCP_CLIENT))
    after = time.monotonic()
    assert status == 0

    def ours() -> list[dict]:
        return [e["event"] for e in run.events("print_events") if e["event"]["pid"] == pid]

    run.wait_for(lambda: len(ours()) >= 2, what="two connects")
    decoded = ours()
    for event in decoded:
        assert before <= go_duration_seconds(event.pop("uptime")) <= after
    assert decoded == [{"pid": pid, "uid": 0, "type": 2}, {"pid": pid, "uid": 0, "type": 10}]
    run.stop()


# -- out of memory in a memory-limited cgroup --------------------------------------------------------------------


def cgroup2_with_memory() -> Path | None:
    """The cgroup v2 hierarchy that has the memory controller, if any (pure v2, or hybrid's `unified`)."""
    for root in (Path("/sys/fs/cgroup"), Path("/sys/fs/cgroup/unified")):
        controllers = root / "cgroup.controllers"
        if controllers.exists() and "memory" in controllers.read_text().split():
            return root
    return None


@contextmanager
def memory_cgroup(limit: int) -> Iterator[Path]:
    """A new cgroup limited to `limit` bytes of memory and no swap (cgroup v2, or v1's memory hierarchy);
    yields its `cgroup.procs`, removes it afterwards."""
    name = f"bee-oomkill-{os.getpid()}"
    v2 = cgroup2_with_memory()
    if v2 is not None:
        subtree = v2 / "cgroup.subtree_control"
        if "memory" not in subtree.read_text().split():
            subtree.write_text("+memory")
        group = v2 / name
        group.mkdir(exist_ok=True)
        (group / "memory.max").write_text(str(limit))
        if (group / "memory.swap.max").exists():
            (group / "memory.swap.max").write_text("0")
    else:
        require(Path("/sys/fs/cgroup/memory/memory.limit_in_bytes").exists(), "needs a memory cgroup controller")
        group = Path("/sys/fs/cgroup/memory") / name
        group.mkdir(exist_ok=True)
        (group / "memory.limit_in_bytes").write_text(str(limit))
        if (group / "memory.memsw.limit_in_bytes").exists():
            (group / "memory.memsw.limit_in_bytes").write_text(str(limit))
    try:
        yield group / "cgroup.procs"
    finally:
        for _ in range(50):  # a killed process leaves its cgroup a moment after it is reaped
            try:
                group.rmdir()
                break
            except OSError:
                time.sleep(0.1)


def test_oomkill(bee_run) -> None:
    limit = 48 << 20
    run = bee_run(ref("oomkill"))
    with memory_cgroup(limit) as procs:
        hog = "chunks = []\nwhile True:\n    chunks.append(b'x' * (1 << 20))\n"
        # the shell moves itself into the cgroup, then becomes the process that allocates until killed
        pid, status = run_pid(["sh", "-c", f'echo $$ > {procs} && exec "$@"', "sh", *python_as("beeoom", hog)])
    assert status == -signal.SIGKILL

    def ours() -> dict[str, float]:
        return {k: v for k, v in series(run, "ebpf_solo_io_counter_oomkills").items() if f'tpid="{pid}"' in k}

    run.wait_for(ours, what="the OOM kill counted")
    ((sample, value),) = ours().items()
    pages = int(re.search(r'pages="(\d+)"', sample).group(1))  # type: ignore[union-attr]
    # it held most of its allocation when killed (resident pages also count shared libraries)
    assert limit // 4096 // 2 < pages < 2 * limit // 4096
    assert sample == (f'ebpf_solo_io_counter_oomkills{{fcomm="beeoom",fpid="{pid}",pages="{pages}",'
                      f'tcomm="beeoom",tpid="{pid}"}}')
    assert value == 1
    run.stop()


# -- latency histogram ---------------------------------------------------------------------------------------------


def test_runqlat(bee_run) -> None:
    sleeps = 20
    run = bee_run(ref("runqlat"))
    pid, status = run_pid(python_as("beerunq", f"import time\nfor _ in range({sleeps}): time.sleep(0.01)"))
    assert status == 0
    name = "ebpf_solo_io_hist_runqlat_us"
    count_series = f'{name}_count{{comm="beerunq"}}'

    def ours() -> dict[str, float]:
        return {k: v for k, v in series(run, name).items() if 'comm="beerunq"' in k}

    # one observation per wakeup from a sleep; on a loaded machine a sleep whose timer expired before
    # the task got to sleep is no wakeup, and the interpreter may add one or two of its own
    run.wait_for(lambda: ours().get(count_series, 0) >= sleeps - 2,
                 what=f"{sleeps} wakeups; have {ours()}, {series(run, 'bee_')}")
    time.sleep(0.5)  # the program hands events over at least every 100 ms
    samples = ours()
    buckets = [samples.pop(f'{name}_bucket{{comm="beerunq",le="{le}"}}') for le in BUCKETS]
    count, total = samples.pop(count_series), samples.pop(f'{name}_sum{{comm="beerunq"}}')
    assert samples == {}  # no other series of ours
    assert sleeps - 2 <= count <= sleeps + 3
    assert buckets == sorted(buckets) and buckets[-1] == count
    assert 0 <= total <= count * 1_000_000
    run.stop()


def test_runqlat_min_wait_leaves_short_waits_in_the_kernel(bee_run) -> None:
    """--param min_wait=1h: no wait on this machine is that long, so nothing is sent at all."""
    run = bee_run(ref("runqlat"), "--param", "min_wait=1h")
    pid, status = run_pid(python_as("beerunqparam", "import time\nfor _ in range(20): time.sleep(0.01)"))
    assert status == 0
    time.sleep(0.5)  # the program hands events over at least every 100 ms
    assert series(run, "bee_events_read_total") == {'bee_events_read_total{map="hist_runqlat_us"}': 0}
    assert series(run, "ebpf_solo_io_hist_runqlat_us") == {}
    run.stop()


# Scheduler load: threads that sleep for half a millisecond and then compute, over and over, so that they are
# woken up thousands of times and often wait for a CPU (another of them holds it, or holds the GIL).
RUNQ_LOAD = """
import threading, time
def work():
    for _ in range(300):
        time.sleep(0.0005)
        sum(range(3000))
threads = [threading.Thread(target=work) for _ in range(4)]
for t in threads:
    t.start()
for t in threads:
    t.join()
"""


def test_runqlat_kernel(bee_run, object_file) -> None:
    """The in-kernel histogram under a real scheduler load: cumulative buckets, and `_count` equal to what
    tests/data/src/runq_count.c counts of the same waits by the same rule, in a program of its own."""
    run = bee_run(ref("runqlat_kernel"), object_file("runq_count"))
    run.wait_for(lambda: len([line for line in run.stderr_lines if line.startswith("bee: attached")]) == 2,
                 what="both programs attached")
    pid, status = run_pid(python_as("beerunqk", RUNQ_LOAD))
    assert status == 0
    name = "ebpf_solo_io_log2hist_runqlat_us"
    labels = 'comm="beerunqk",program="runqlat_kernel"'
    counted = 'ebpf_solo_io_counter_runq_waits{comm="beerunqk",program="runq_count"}'

    def ours() -> dict[str, float]:
        return {k: v for k, v in series(run, "ebpf_solo_io_").items() if 'comm="beerunqk"' in k}

    def settled() -> dict[str, float] | None:  # the load has ended: both counts final, and read after that
        samples = ours()
        count = samples.get(f"{name}_count{{{labels}}}")
        return samples if count is not None and count == samples.get(counted) else None

    samples = run.wait_for(settled, what=f"the histogram's count to equal the counter's; have {ours()}")
    assert isinstance(samples, dict)
    count = samples.pop(f"{name}_count{{{labels}}}")
    assert count == samples.pop(counted) >= 4 * 300 * 0.9  # at least most sleeps end in a wait for a CPU
    total = samples.pop(f"{name}_sum{{{labels}}}")
    # 26 slots of log2 microseconds; bounds from 10^6 on as Go's clients print them (1.048575e+06)
    bounds = [format_value(2 ** (i + 1) - 1) for i in range(25)] + ["+Inf"]
    assert bounds[18:20] == ["524287", "1.048575e+06"]
    buckets = [samples.pop(f'{name}_bucket{{{labels},le="{le}"}}') for le in bounds]
    assert samples == {}  # no other series of ours
    assert buckets == sorted(buckets) and buckets[-1] == count  # cumulative, +Inf is the count
    assert buckets[12] > 0  # some waits under 8 ms...
    assert 0 <= total <= count * 1_000_000  # ...and none a second long on average (microseconds)
    run.stop()


# -- network interface (XDP) -----------------------------------------------------------------------------------


ICMP_ECHO = """
import socket, struct, sys
def checksum(data):
    total = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    total = (total >> 16) + (total & 0xffff)
    return ~(total + (total >> 16)) & 0xffff
with socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP) as s:
    for seq in range(int(sys.argv[2])):
        header = struct.pack("!BBHHH", 8, 0, 0, 0xbee, seq) + b"bee!"
        s.sendto(header[:2] + struct.pack("!H", checksum(header)) + header[4:], (sys.argv[1], 0))
"""


def test_xdpcount(bee_run) -> None:
    with veth_pair("xc") as veth:
        run = bee_run(ref("xdpcount"), "--iface", veth.host)
        assert f"xdp on {veth.host}" in run.stderr_lines[-1]
        veth.send_udp(9999, 7)
        subprocess.run(["ip", "netns", "exec", veth.netns, sys.executable, "-c", ICMP_ECHO, HOST_IP, "3"],
                       check=True, timeout=30)
        udp, icmp = 'ebpf_solo_io_counter_packets{proto="UDP"}', 'ebpf_solo_io_counter_packets{proto="ICMP"}'
        run.wait_for(lambda: {udp: 7, icmp: 3}.items() <= series(run, "ebpf_solo_io_counter_packets").items(),
                     what="7 UDP and 3 ICMP packets")
        # the peer's own IPv6 chatter may add neighbour discovery (ICMPV6) and MLD reports (HOPOPTS), nothing else
        assert set(series(run, "ebpf_solo_io_counter_packets")) <= {udp, icmp} | {
            f'ebpf_solo_io_counter_packets{{proto="{name}"}}' for name in ("ICMPV6", "HOPOPTS")}
        run.stop()
        link = subprocess.run(["ip", "link", "show", veth.host], capture_output=True, text=True, check=True)
        assert "xdp" not in link.stdout


# -- uprobe ----------------------------------------------------------------------------------------------------


def interactive_bash(lines: list[str]) -> int:
    """Type `lines` into an interactive bash on a pseudo-terminal (where bash reads with readline); return its pid."""
    leader, follower = os.openpty()
    try:
        proc = subprocess.Popen(["/bin/bash", "--norc", "--noprofile", "-i"], stdin=follower, stdout=follower,
                                stderr=follower, start_new_session=True,
                                env={"PATH": "/usr/bin:/bin", "TERM": "dumb", "PS1": "$ ", "HOME": "/"})
        os.close(follower)
        for line in lines:
            os.write(leader, line.encode() + b"\n")
            time.sleep(0.1)
        deadline = time.monotonic() + 10
        while proc.poll() is None and time.monotonic() < deadline:  # keep the terminal drained until bash exits
            if select.select([leader], [], [], 0.1)[0]:
                try:
                    os.read(leader, 4096)
                except OSError:  # bash closed the terminal
                    break
        assert proc.wait(10) == 0
        return proc.pid
    finally:
        os.close(leader)


def test_bashreadline(bee_run) -> None:
    require(Path("/bin/bash").exists(), "needs /bin/bash")
    typed = f"echo bee-readline-{os.getpid()}"
    run = bee_run(ref("bashreadline"))
    assert "/bin/bash:readline" in run.stderr_lines[-1]
    pid = interactive_bash([typed, "exit 0"])

    def ours() -> list[dict]:
        return [e["event"] for e in run.events("print_events") if e["event"]["pid"] == pid]

    run.wait_for(lambda: len(ours()) >= 2, what="two lines read")
    assert ours() == [{"pid": pid, "uid": 0, "comm": "bash", "line": typed},
                      {"pid": pid, "uid": 0, "comm": "bash", "line": "exit 0"}]
    run.stop()


# -- a kprobe example on a kernel without kprobes --------------------------------------------------------------


def test_nfsstats_needs_kprobes(bee: Callable[..., subprocess.CompletedProcess[str]], root: None) -> None:
    require(not Path("/sys/kernel/tracing/kprobe_events").exists(), "a kernel without kprobes")
    proc = bee("run", ref("nfsstats"), "--no-tty", "--prom-port", str(free_port()))
    assert proc.returncode != 0
    assert "Traceback" not in proc.stderr
    # bee loads all six programs (the verifier accepts them), then the first attach fails
    assert proc.stderr.strip().splitlines()[-1] == (
        "Error: program nfs_file_read (section kprobe/nfs_file_read) cannot attach: "
        "this kernel has no kprobe support")
    assert "verifier" not in proc.stderr
