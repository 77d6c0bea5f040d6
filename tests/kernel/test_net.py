"""XDP and TC programs: BPF_PROG_TEST_RUN, and real packets on a veth pair into a test netns."""

from __future__ import annotations

import struct
import time
from collections.abc import Callable, Iterator

import pytest

from bee.libbpf import AttachError, BpfObject, Map, XdpAction, XdpFlags
from tests.netns import UDP, VethPair, udp_frame, veth_pair

KEY = struct.Struct("=HBB")  # struct port_key of lb_net.c
U64 = struct.Struct("=Q")


def count(counters: Map, dport: int) -> int:
    value = counters.lookup(KEY.pack(dport, UDP, 0))
    return 0 if value is None else U64.unpack(value)[0]


def wait_for(counters: Map, dport: int, expected: int, seconds: float = 5) -> int:
    deadline = time.monotonic() + seconds
    while (got := count(counters, dport)) < expected and time.monotonic() < deadline:
        time.sleep(0.01)
    return got


@pytest.fixture
def net(root: None, open_object: Callable[..., BpfObject]) -> BpfObject:
    obj = open_object("lb_net")
    obj.load()
    return obj


def test_xdp_and_tc_test_runs_count_exactly(net: BpfObject) -> None:
    xdp, tc = net.program("lb_xdp_count"), net.program("lb_tc_count")
    frame = udp_frame(7777)
    result = xdp.test_run(frame, repeat=3)
    assert result.retval == XdpAction.PASS and result.data == frame
    assert tc.test_run(frame).retval == 0  # TC_ACT_OK
    xdp.test_run(udp_frame(7777, proto=6))  # TCP: not counted
    assert count(net.map("counter_xdp"), 7777) == 3
    assert net.map("counter_tc").items() == [(KEY.pack(7777, UDP, 0), U64.pack(1))]


@pytest.fixture
def veth(root: None) -> Iterator[VethPair]:
    with veth_pair("lb") as pair:
        yield pair


@pytest.mark.parametrize("flags", [XdpFlags.AUTO, XdpFlags.SKB_MODE])
def test_xdp_counts_packets_arriving_on_a_veth(net: BpfObject, veth: VethPair, flags: XdpFlags) -> None:
    counters = net.map("counter_xdp")
    link = net.program("lb_xdp_count").attach_xdp(veth.ifindex, flags)
    assert link.kind == "xdp" and link.fd >= 0
    veth.send_udp(7777, 5)
    assert wait_for(counters, 7777, 5) == 5
    link.close()
    veth.send_udp(7777, 2)
    time.sleep(0.2)
    assert count(counters, 7777) == 5  # detached: no more counting


def test_tc_ingress_and_egress_and_the_qdisc_goes_away(net: BpfObject, veth: VethPair) -> None:
    counters = net.map("counter_tc")
    tc = net.program("lb_tc_count")
    ingress = tc.attach_tc(veth.ifindex, "ingress")
    egress = tc.attach_tc(veth.ifindex, "egress")
    assert (ingress.kind, egress.kind) == ("tc ingress", "tc egress")
    assert "clsact" in veth.qdiscs()
    veth.send_udp(7777, 4)
    veth.send_raw(8888, 3)
    assert wait_for(counters, 7777, 4) == 4
    assert wait_for(counters, 8888, 3) == 3
    ingress.close()  # the egress filter still uses the qdisc
    assert "clsact" in veth.qdiscs()
    veth.send_raw(8888, 1)
    assert wait_for(counters, 8888, 4) == 4
    net.close()
    assert egress.closed
    assert "clsact" not in veth.qdiscs()


def test_attaching_to_a_missing_interface_is_one_sentence(net: BpfObject) -> None:
    with pytest.raises(AttachError) as caught:
        net.program("lb_xdp_count").attach_xdp(987654)
    assert str(caught.value) == ("program lb_xdp_count (section xdp) could not be attached: "
                                 "there is no network interface with index 987654")
    with pytest.raises(AttachError, match="lb_tc_count .* there is no network interface with index 987654"):
        net.program("lb_tc_count").attach_tc(987654)
    with pytest.raises(AttachError, match="there is no network interface with index 987654"):
        net.program("lb_xdp_count").attach_xdp(987654, XdpFlags.SKB_MODE)
    assert net.links == []


def test_a_second_xdp_program_on_an_interface_is_refused(
        net: BpfObject, veth: VethPair, open_object: Callable[..., BpfObject]) -> None:
    net.program("lb_xdp_count").attach_xdp(veth.ifindex)
    other = open_object("lb_net")
    other.load()
    with pytest.raises(AttachError) as caught:
        other.program("lb_xdp_count").attach_xdp(veth.ifindex)
    assert str(caught.value).startswith(
        f"program lb_xdp_count (section xdp) could not be attached to interface {veth.host}: ")
    assert caught.value.errno != 0
