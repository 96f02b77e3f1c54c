"""kernelConfigs, cgroups, systemPackages, subnetAvailable, udpPortStatus and tcpLoadBalancer: on
this host's real files, fake tools on PATH, and sockets on 127.0.0.1 only."""
from __future__ import annotations

import gzip
import os
import socket
from pathlib import Path

import pytest

from reconciler.collect import CollectContext, CollectorSpec, Output, Skipped
from reconciler.collect.host.kernelconfig import cgroups_result, mount_type, parse_kconfigs, v1_controllers
from reconciler.collect.host.network import valid_load_balancer_address
from reconciler.collect.host.packages import system_packages, wanted_packages
from reconciler.collect.host.subnet import first_free_subnet, parse_routes

from .test_host_shapes import assert_written, collect
from .test_host_system import fake_tool

ROUTES = ("Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT   \n"
          "eth0\t00000000\t010200C0\t0003\t0\t0\t0\t00000000\t0\t0\t0   \n"
          "eth0\t0000000A\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0   \n")


def free_port(kind: int = socket.SOCK_STREAM) -> int:
    with socket.socket(socket.AF_INET, kind) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_kernel_configs_keep_tristate_options_only_and_read_this_hosts_config(tmp_path):
    lines = ["# CONFIG_X is not set", "CONFIG_CGROUPS=y", "CONFIG_XFS_FS=m", "CONFIG_HZ=250", "CONFIG_NO=n"]
    assert parse_kconfigs(lines) == {"CONFIG_CGROUPS": "y", "CONFIG_XFS_FS": "m", "CONFIG_NO": "n"}
    if not Path("/proc/config.gz").exists() and not Path(f"/boot/config-{os.uname().release}").exists():
        pytest.skip("this kernel keeps no config where troubleshoot looks")
    collect("kernelConfigs", tmp_path)
    configs = assert_written(tmp_path, "kernelConfigs", "host-collectors/system/kernel-configs.json")
    if Path("/proc/config.gz").exists():
        with gzip.open("/proc/config.gz", "rt") as handle:
            assert configs == parse_kconfigs(line.rstrip("\n") for line in handle)


def test_cgroups_reports_the_version_mounted_at_the_mount_point(tmp_path):
    mountinfo = ("23 1 0:21 / / rw - ext4 /dev/sda1 rw\n"
                 "31 23 0:28 / /sys/fs/cgroup rw,relatime - cgroup2 cgroup2 rw\n")
    assert mount_type(mountinfo, "/sys/fs/cgroup") == "cgroup2"
    assert mount_type(mountinfo, "/") == "ext4"
    assert mount_type(mountinfo, str(tmp_path / "absent")) is None
    assert v1_controllers("#subsys_name\thierarchy\tnum_cgroups\tenabled\ncpu\t1\t1\t1\nnet_prio\t0\t1\t0\n") == ["cpu"]
    (tmp_path / "cgroup.controllers").write_text("memory cpu io\n")
    v2 = cgroups_result(str(tmp_path), "cgroup2")
    assert v2["cgroup-enabled"] and not v2["cgroup-v1"]["enabled"]
    assert {"cpu", "cpuacct", "devices", "io", "memory"} <= set(v2["cgroup-v2"]["controllers"])
    assert v2["allControllers"] == v2["cgroup-v2"]["controllers"]
    assert cgroups_result(str(tmp_path / "absent"), None)["allControllers"] is None
    with pytest.raises(RuntimeError, match="unexpected file system type"):
        cgroups_result(str(tmp_path), "ext4")


def test_cgroups_on_this_host(tmp_path):
    if not Path("/sys/fs/cgroup").exists():
        pytest.skip("no /sys/fs/cgroup here")
    collect("cgroups", tmp_path)
    found = assert_written(tmp_path, "cgroups", "host-collectors/system/cgroups.json")
    assert found["cgroup-enabled"] is (found["cgroup-v1"]["enabled"] or found["cgroup-v2"]["enabled"])


def test_system_packages_asks_dpkg_for_the_lists_of_this_ubuntu_version(tmp_path):
    etc = tmp_path / "etc"
    etc.mkdir()
    (etc / "os-release").write_text('ID=ubuntu\nVERSION_ID="20.04"\n')
    env = fake_tool(tmp_path, "dpkg", 'if [ "$2" = curl ]; then echo "Status: install ok installed"; '
                                      'else echo "dpkg-query: package \'$2\' is not installed" >&2; exit 1; fi')
    ctx = CollectContext(Output(tmp_path / "out"), timeout=10, env=env)
    system_packages(CollectorSpec("systemPackages", {"ubuntu": ["curl"], "ubuntu20": ["nfs-common"],
                                                     "ubuntu18": ["old"], "rhel": ["x"]}, True), ctx, etc=etc)
    info = assert_written(tmp_path / "out", "systemPackages", "host-collectors/system/packages-packages.json")
    assert info["os"] == "ubuntu" and info["osVersion"] == "20.04"
    assert info["packages"] == [
        {"name": "curl", "details": "Status: install ok installed\n", "exitCode": "0"},
        {"name": "nfs-common", "details": "", "exitCode": "1",
         "error": "dpkg-query: package 'nfs-common' is not installed\n"}]
    assert wanted_packages("centos", "9", {"centos8": ["a"], "centos9": ["b"]}) == ["a"]   # as troubleshoot


def test_system_packages_is_skipped_with_the_reason_on_a_distribution_without_lists(tmp_path):
    etc = tmp_path / "etc"
    etc.mkdir()
    (etc / "os-release").write_text('ID=debian\nVERSION_ID="12"\n')
    with pytest.raises(Skipped, match="this host is debian 12"):
        system_packages(CollectorSpec("systemPackages", {"ubuntu": ["curl"]}, True),
                        CollectContext(Output(tmp_path / "out"), timeout=10), etc=etc)
    assert not (tmp_path / "out").exists()


def test_subnet_available_skips_subnets_that_overlap_a_route_but_not_the_default_one(tmp_path):
    import ipaddress
    routes = parse_routes(ROUTES)
    assert [str(r) for r in routes] == ["0.0.0.0/0", "10.0.0.0/24"]
    assert str(first_free_subnet(ipaddress.IPv4Network("10.0.0.0/16"), 24, routes)) == "10.0.1.0/24"
    assert first_free_subnet(ipaddress.IPv4Network("10.0.0.0/24"), 25, routes) is None
    collect("subnetAvailable", tmp_path, CIDRRangeAlloc="10.0.0.0/8", desiredCIDR=22, collectorName="pods")
    assert assert_written(tmp_path, "subnetAvailable", "host-collectors/subnetAvailable/pods.json")["desiredCIDR"] == 22
    with pytest.raises(ValueError, match="must be between 1 and 32"):
        collect("subnetAvailable", tmp_path, CIDRRangeAlloc="10.0.0.0/8", desiredCIDR=33)


def test_udp_port_status_binds_the_port_and_reports_it_in_use(tmp_path):
    port = free_port(socket.SOCK_DGRAM)
    collect("udpPortStatus", tmp_path, port=port)
    assert assert_written(tmp_path, "udpPortStatus", "host-collectors/udpPortStatus/udpPortStatus.json") == {
        "status": "connected", "message": ""}
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as taken:
        taken.bind(("0.0.0.0", port))
        with pytest.raises(RuntimeError, match="address already in use"):
            collect("udpPortStatus", tmp_path, port=port, collectorName="dns")
    assert assert_written(tmp_path, "udpPortStatus", "host-collectors/udpPortStatus/dns.json")["status"] == \
        "address-in-use"


def test_tcp_load_balancer_listens_on_the_port_and_reaches_it_through_the_address(tmp_path):
    port = free_port()
    collect("tcpLoadBalancer", tmp_path, port=port, address=f"127.0.0.1:{port}", timeout="5s")
    assert assert_written(tmp_path, "tcpLoadBalancer", "host-collectors/tcpLoadBalancer/tcpLoadBalancer.json") == {
        "status": "connected", "message": ""}
    with pytest.raises(RuntimeError, match="connection refused"):
        collect("tcpLoadBalancer", tmp_path, port=port, address=f"127.0.0.1:{free_port()}", collectorName="lb")
    assert assert_written(tmp_path, "tcpLoadBalancer", "host-collectors/tcpLoadBalancer/lb.json")["status"] == \
        "connection-refused"
    with pytest.raises(RuntimeError, match="Invalid Load Balancer Address"):
        collect("tcpLoadBalancer", tmp_path, port=port, address="LB.example:80", collectorName="bad")
    assert assert_written(tmp_path, "tcpLoadBalancer", "host-collectors/tcpLoadBalancer/bad.json")["status"] == \
        "invalid-address"


def test_http_load_balancer_serves_the_port_and_posts_its_token_through_the_address(tmp_path):
    port = free_port()
    collect("httpLoadBalancer", tmp_path, port=port, address=f"http://127.0.0.1:{port}/healthz", timeout="5s")
    assert assert_written(tmp_path, "httpLoadBalancer", "host-collectors/httpLoadBalancer/httpLoadBalancer.json") == {
        "status": "connected", "message": ""}
    collect("httpLoadBalancer", tmp_path, port=port, address=f"http://127.0.0.1:{free_port()}/", collectorName="off")
    assert assert_written(tmp_path, "httpLoadBalancer", "host-collectors/httpLoadBalancer/off.json") == {
        "status": "connection-refused", "message": ""}
    with socket.socket() as taken:
        taken.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)   # our server's connections linger
        taken.bind(("0.0.0.0", port))
        taken.listen()
        with pytest.raises(RuntimeError, match="address already in use"):
            collect("httpLoadBalancer", tmp_path, port=port, address=f"http://127.0.0.1:{port}/", collectorName="in")
    assert assert_written(tmp_path, "httpLoadBalancer", "host-collectors/httpLoadBalancer/in.json")["status"] == \
        "address-in-use"
    with pytest.raises(ValueError, match="not an http:// or https:// URL"):
        collect("httpLoadBalancer", tmp_path, port=port, address="127.0.0.1", collectorName="bare")
    assert assert_written(tmp_path, "httpLoadBalancer", "host-collectors/httpLoadBalancer/bare.json")["status"] == \
        "error"


@pytest.mark.parametrize("address, valid", [("127.0.0.1:6443", True), ("lb.example.com:443", True),
                                            ("LB:443", False), ("1.2.3.999:80", False), ("lb:0", False),
                                            ("lb", False), ("[::1]:80", False), ("lb:http", False)])
def test_load_balancer_addresses_are_checked_as_troubleshoot_checks_them(address, valid):
    assert valid_load_balancer_address(address) is valid
