"""Test hosts in network namespaces: a veth pair whose peer lives in a namespace of the test's own.

Addresses are link-local (169.254.77.0/30) and exist only inside the pair.
"""

from __future__ import annotations

import os
import shutil
import socket
import struct
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from tests.helpers import require

UDP = 17
HOST_IP, PEER_IP = "169.254.77.1", "169.254.77.2"


def udp_frame(dport: int, *, proto: int = UDP, src_mac: bytes = b"\x02" * 6, dst_mac: bytes = b"\x04" * 6) -> bytes:
    """An Ethernet + IPv4 + UDP frame with 4 payload bytes (checksums left 0: the programs ignore them)."""
    payload = b"bee!"
    udp = struct.pack("!HHHH", 40000, dport, 8 + len(payload), 0) + payload
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 0, 0, 64, proto, 0,
                     socket.inet_aton(PEER_IP), socket.inet_aton(HOST_IP))
    return dst_mac + src_mac + b"\x08\x00" + ip + udp


@dataclass
class VethPair:
    """`host` lives in our namespace; its peer, with PEER_IP, in the test's network namespace `netns`."""

    host: str
    ifindex: int
    netns: str

    def send_udp(self, dport: int, packets: int) -> None:
        """Send UDP datagrams from inside the netns to HOST_IP: they arrive on `host`'s ingress."""
        code = ("import socket; s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n"
                f"for _ in range({packets}): s.sendto(b'bee!', ('{HOST_IP}', {dport}))")
        subprocess.run(["ip", "netns", "exec", self.netns, sys.executable, "-c", code], check=True, timeout=30)

    def send_raw(self, dport: int, frames: int) -> None:
        """Send Ethernet frames out of `host` (through its egress) towards the peer."""
        with socket.socket(socket.AF_PACKET, socket.SOCK_RAW) as raw:
            raw.bind((self.host, 0))
            for _ in range(frames):
                raw.send(udp_frame(dport))

    def qdiscs(self) -> str:
        return subprocess.run(["tc", "qdisc", "show", "dev", self.host], capture_output=True, text=True,
                              check=True).stdout


def _ip(*args: str, check: bool = True) -> None:
    subprocess.run(["ip", *args], check=check, capture_output=True, timeout=30)


@contextmanager
def veth_pair(prefix: str = "lb") -> Iterator[VethPair]:
    """Create `<prefix>h<tag>` here and its peer in netns `bee-<prefix>-<tag>`; both are removed afterwards."""
    require(shutil.which("ip") is not None and shutil.which("tc") is not None, "needs iproute2 (ip, tc)")
    tag = os.getpid() % 100000
    netns, host, peer = f"bee-{prefix}-{tag}", f"{prefix}h{tag}", f"{prefix}p{tag}"
    _ip("netns", "del", netns, check=False)
    _ip("link", "del", host, check=False)
    _ip("netns", "add", netns)
    try:
        _ip("link", "add", host, "type", "veth", "peer", "name", peer, "netns", netns)
        _ip("link", "set", host, "up")
        _ip("-n", netns, "link", "set", peer, "up")
        _ip("-n", netns, "addr", "add", f"{PEER_IP}/30", "dev", peer)
        with open(f"/sys/class/net/{host}/address") as address:
            mac = address.read().strip()
        # a static neighbour: no ARP needed, so every datagram leaves the netns at once
        _ip("-n", netns, "neigh", "add", HOST_IP, "lladdr", mac, "dev", peer)
        yield VethPair(host, socket.if_nametoindex(host), netns)
    finally:
        _ip("link", "del", host, check=False)
        _ip("netns", "del", netns, check=False)
