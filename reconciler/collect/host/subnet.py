"""subnetAvailable: whether a subnet of `desiredCIDR` bits inside `CIDRRangeAlloc` overlaps none of
this host's routes (troubleshoot pkg/collect/host_subnetavailable.go, SubnetAvailableResult). The
routes come from /proc/net/route, which a container sees for its own network namespace.
"""
from __future__ import annotations

import ipaddress
from pathlib import Path

from .. import CollectContext, CollectorSpec
from ..params import bundle_path, collector_name, integer, text

AVAILABLE, NONE_AVAILABLE = "a-subnet-is-available", "no-subnet-available"
_DEFAULT_ROUTE = ipaddress.IPv4Network("0.0.0.0/0")


def subnet_available(spec: CollectorSpec, ctx: CollectContext) -> None:
    routes = parse_routes(Path("/proc/net/route").read_text(encoding="ascii", errors="replace"))
    desired = integer(spec.params, "desiredCIDR")
    alloc = text(spec.params, "CIDRRangeAlloc")
    found = first_free_subnet(_range(alloc, desired), desired, routes)
    ctx.output.write_json(bundle_path("host-collectors/subnetAvailable", collector_name(spec, "result") + ".json"), {
        "CIDRRangeAlloc": alloc, "desiredCIDR": desired, "status": AVAILABLE if found else NONE_AVAILABLE})


def parse_routes(proc_net_route: str) -> list[ipaddress.IPv4Network]:
    """Destination networks of /proc/net/route (hex, little-endian), header skipped."""
    routes = []
    for line in proc_net_route.splitlines():
        columns = line.strip().split("\t")
        if len(line) < 4 or line.startswith("Iface"):
            continue
        if len(columns) != 11:
            raise ValueError(f"invalid /proc/net/route line '{line}', expected 11 columns got {len(columns)}")
        dest, mask = (ipaddress.IPv4Address(bytes.fromhex(columns[i].strip())[::-1]) for i in (1, 7))
        routes.append(ipaddress.IPv4Network(f"{dest}/{mask}", strict=False))
    return routes


def first_free_subnet(alloc: ipaddress.IPv4Network, desired: int,
                      routes: list[ipaddress.IPv4Network]) -> ipaddress.IPv4Network | None:
    """The first `desired`-bit subnet of `alloc` that no route but the default one overlaps."""
    used = [route for route in routes if route != _DEFAULT_ROUTE]
    for subnet in alloc.subnets(new_prefix=desired):
        if not any(subnet.overlaps(route) for route in used):
            return subnet
    return None


def _range(alloc: str, desired: int) -> ipaddress.IPv4Network:
    if not 1 <= desired <= 32:
        raise ValueError(f"CIDR range size {desired} invalid, must be between 1 and 32")
    try:
        network = ipaddress.IPv4Network(alloc, strict=False)
    except ValueError:
        raise ValueError(f"CIDRRangeAlloc value {alloc} invalid, expected format x.x.x.x/##") from None
    if network.prefixlen > desired:
        raise ValueError(f"subnetRange size ({network.prefixlen}) must be larger than or equal to cidrRange size "
                         f"({desired}), can't check if a range larger than itself is available")
    return network
