"""ipv4Interfaces, and the interface lookups tcpPortStatus shares with it.

troubleshoot (pkg/collect/host_ipv4interfaces.go) marshals Go's []net.Interface as it is: keys
Index, MTU, Name, HardwareAddr (a []byte, so base64; null when all zero) and Flags (Go's own bit
numbering, not the kernel's IFF_*), listing the interfaces that are up, not loopback, and have an
IPv4 address. The analyzer unmarshals that same struct, so the shape is kept byte for byte.
"""
from __future__ import annotations

import base64
import fcntl
import socket
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .. import CollectContext, CollectorSpec

HOST_IPV4_INTERFACES_PATH = "host-collectors/system/ipv4Interfaces.json"
SYS_CLASS_NET = Path("/sys/class/net")
_SIOCGIFFLAGS, _SIOCGIFADDR = 0x8913, 0x8915
# Go's net.Flags bits, from the kernel's IFF_* bits (golang net/interface_linux.go linkFlags).
GO_UP, GO_BROADCAST, GO_LOOPBACK, GO_POINT_TO_POINT, GO_MULTICAST, GO_RUNNING = 1, 2, 4, 8, 16, 32
_KERNEL_TO_GO = ((0x1, GO_UP), (0x40, GO_RUNNING), (0x2, GO_BROADCAST), (0x8, GO_LOOPBACK),
                 (0x10, GO_POINT_TO_POINT), (0x1000, GO_MULTICAST))
# ARPHRD_* of IP tunnels, whose link-layer "address" is an IP address that Go does not report.
_TUNNEL_TYPES = {768, 769, 776, 778, 823}


@dataclass(frozen=True)
class Link:
    index: int
    mtu: int
    name: str
    hardware_addr: bytes | None
    flags: int

    def to_json(self) -> dict[str, Any]:
        hardware = base64.b64encode(self.hardware_addr).decode("ascii") if self.hardware_addr else None
        return {"Index": self.index, "MTU": self.mtu, "Name": self.name, "HardwareAddr": hardware,
                "Flags": self.flags}


def ipv4_interfaces(spec: CollectorSpec, ctx: CollectContext) -> None:
    found = [link.to_json() for link in links() if _up_and_not_loopback(link) and ipv4_of(link.name)]
    ctx.output.write_json(HOST_IPV4_INTERFACES_PATH, found or None)   # Go marshals a nil slice as null


def links() -> list[Link]:
    """The network interfaces of this namespace, by index as netlink lists them."""
    found = []
    for entry in SYS_CLASS_NET.iterdir():
        answer = _ioctl(entry.name, _SIOCGIFFLAGS)   # as netlink reports them, with IFF_RUNNING
        try:
            index = int(_read(entry / "ifindex"))
            mtu = int(_read(entry / "mtu"))
        except (OSError, ValueError):
            answer = None
        if answer is None:
            continue  # not an interface (bonding_masters) or gone meanwhile
        kernel_flags = struct.unpack_from("H", answer, 16)[0]
        flags = sum(go for kernel, go in _KERNEL_TO_GO if kernel_flags & kernel)
        found.append(Link(index, mtu, entry.name, _hardware_addr(entry), flags))
    return sorted(found, key=lambda link: link.index)


def ipv4_of(name: str) -> str | None:
    """The interface's (primary) IPv4 address, as the kernel reports it to SIOCGIFADDR."""
    answer = _ioctl(name, _SIOCGIFADDR)
    return None if answer is None else socket.inet_ntoa(answer[20:24])


def local_ipv4() -> str:
    """The first up, non-loopback interface's IPv4 address: where tcpPortStatus dials itself."""
    for link in links():
        if _up_and_not_loopback(link) and (address := ipv4_of(link.name)):
            return address
    raise RuntimeError("No network interface has an IPv4 address")


def _up_and_not_loopback(link: Link) -> bool:
    return bool(link.flags & GO_UP) and not link.flags & GO_LOOPBACK


def _hardware_addr(entry: Path) -> bytes | None:
    try:
        raw = bytes.fromhex(_read(entry / "address").replace(":", ""))
        kind = int(_read(entry / "type"))
    except (OSError, ValueError):
        return None
    if kind in _TUNNEL_TYPES and len(raw) in (4, 16):
        return None
    return raw if any(raw) else None


def _ioctl(name: str, request: int) -> bytes | None:
    """An interface ioctl's struct ifreq answer; None when the kernel has no answer for that name."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        try:
            return fcntl.ioctl(sock.fileno(), request, struct.pack("256s", name.encode("utf-8")[:15]))
        except OSError:
            return None


def _read(path: Path) -> str:
    return path.read_text(encoding="ascii").strip()
