"""cpu, memory, hostOS, diskUsage, ipv4Interfaces, blockDevices, kernelModules, sysctl, time and
hostServices: troubleshoot's paths and shapes on this host, and their parsing on planted inputs."""
from __future__ import annotations

import base64
import importlib.resources
import os
import shutil
from pathlib import Path

import pytest

from reconciler.collect import CollectContext, Output, Skipped
from reconciler.collect.host import system
from reconciler.collect.host.blockdevices import parse_lsblk_line
from reconciler.collect.host.interfaces import links
from reconciler.collect.host.kernel import modules_of, proc_sys
from reconciler.collect.host.kernelclock import kernel_ntp_synchronized, local_zone
from reconciler.collect.host.limits import Deadline
from reconciler.collect.host.osinfo import platform_information

from .test_host_shapes import assert_written, collect

CPUINFO = """processor\t: 0
vendor_id\t: GenuineIntel
physical id\t: 0
cpu cores\t: 2
flags\t\t: fpu vme sse
processor\t: 1
physical id\t: 0
cpu cores\t: 2
flags\t\t: fpu vme sse avx

""".splitlines()


def fake_tool(tmp_path: Path, name: str, script: str) -> dict[str, str]:
    """An env whose PATH finds only our `name` (a shell script) and the basic tools it uses."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    tool = bin_dir / name
    tool.write_text(f"#!/bin/sh\n{script}\n")
    tool.chmod(0o755)
    return {**os.environ, "PATH": f"{bin_dir}:/usr/bin:/bin"}


def test_cpu_memory_and_host_os_on_this_host(tmp_path):
    for kind in ("cpu", "memory", "hostOS"):
        collect(kind, tmp_path)
    cpu = assert_written(tmp_path, "cpu", "host-collectors/system/cpu.json")
    assert cpu["logicalCount"] == os.cpu_count() and cpu["physicalCount"] >= 1
    assert cpu["machineArch"] == os.uname().machine
    memory = assert_written(tmp_path, "memory", "host-collectors/system/memory.json")
    assert memory["total"] > 64 * 1024 * 1024
    host = assert_written(tmp_path, "hostOS", "host-collectors/system/hostos_info.json")
    assert host["kernelVersion"] == os.uname().release and host["name"] == os.uname().nodename


def test_cpu_flags_are_the_union_in_first_seen_order_and_cores_come_from_cpuinfo_without_sysfs(monkeypatch):
    assert system._flags(CPUINFO) == ["fpu", "vme", "sse", "avx"]
    assert system._logical_count(CPUINFO) == 2
    monkeypatch.setattr(system, "_TOPOLOGY", ())
    assert system._physical_count(CPUINFO) == 2
    arm = ["Processor\t: ARMv7", "processor\t: 0", "", "processor\t: 1", "", "Features\t: half thumb"]
    assert system._flags(arm) == ["half", "thumb"] and system._logical_count(arm) == 2


@pytest.mark.parametrize("files, expected", [
    ({"debian_version": "12.5\n", "os-release": "ID=debian\n"}, ("debian", "debian", "12.5")),
    ({"debian_version": "bookworm/sid\n", "lsb-release": 'DISTRIB_ID=Ubuntu\nDISTRIB_RELEASE=22.04\n'},
     ("ubuntu", "debian", "22.04")),
    ({"redhat-release": "CentOS Linux release 7.9.2009 (Core)\n"}, ("centos", "rhel", "7.9.2009")),
    ({"redhat-release": "Red Hat Enterprise Linux release 9.3 (Plow)\n"}, ("redhat", "rhel", "9.3")),
    ({"os-release": 'ID="amzn"\nVERSION_ID="2023"\n'}, ("amazon", "rhel", "2023")),
    ({"os-release": 'ID=rocky\nVERSION_ID="9.3"\n'}, ("rocky", "rhel", "9.3")),
    ({"alpine-release": "3.19.1\n", "os-release": "ID=alpine\n"}, ("alpine", "alpine", "3.19.1")),
    ({}, ("", "", "")),
])
def test_host_os_platform_is_decided_as_gopsutil_decides_it(tmp_path, files, expected):
    for name, content in files.items():
        (tmp_path / name).write_text(content)
    assert platform_information(tmp_path) == expected


def test_disk_usage_names_the_file_after_the_collector_and_climbs_to_an_existing_parent(tmp_path):
    out = tmp_path / "out"
    collect("diskUsage", out, collectorName="ephemeral", path=str(tmp_path / "not" / "yet"))
    collect("diskUsage", out, path="/")
    usage = assert_written(out, "diskUsage", "host-collectors/diskUsage/ephemeral.json")
    statvfs = os.statvfs(tmp_path)
    assert usage["total_bytes"] == statvfs.f_blocks * statvfs.f_bsize
    assert 0 < usage["used_bytes"] <= usage["total_bytes"]
    assert_written(out, "diskUsage", "host-collectors/diskUsage/diskUsage.json")
    with pytest.raises(ValueError, match="needs a path"):
        collect("diskUsage", out)


def test_ipv4_interfaces_lists_up_non_loopback_interfaces_as_go_marshals_net_interface(tmp_path):
    collect("ipv4Interfaces", tmp_path)
    found = assert_written(tmp_path, "ipv4Interfaces", "host-collectors/system/ipv4Interfaces.json") or []
    assert "lo" not in {i["Name"] for i in found}
    for interface in found:
        assert interface["Flags"] & 1 and not interface["Flags"] & 4   # Go's FlagUp, not FlagLoopback
        if interface["HardwareAddr"]:
            assert len(base64.b64decode(interface["HardwareAddr"])) == 6
    loopback = [link for link in links() if link.name == "lo"]
    assert loopback and loopback[0].hardware_addr is None and loopback[0].flags & 4


def test_block_devices_from_lsblk(tmp_path):
    if not shutil.which("lsblk"):
        with pytest.raises(Skipped):
            collect("blockDevices", tmp_path)
        return
    collect("blockDevices", tmp_path)
    assert_written(tmp_path, "blockDevices", "host-collectors/system/block_devices.json")


def test_lsblk_pairs_are_parsed_with_escapes_and_either_maj_min_spelling():
    line = (b'NAME="sda1" KNAME="sda1" PKNAME="sda" TYPE="part" MAJ_MIN="8:1" SIZE="1048576" FSTYPE="ext4" '
            b'MOUNTPOINT="/mnt/my\\x20disk" SERIAL="" RO="0" RM="1"')
    assert parse_lsblk_line(line) == {
        "name": "sda1", "kernel_name": "sda1", "parent_kernel_name": "sda", "type": "part", "major": 8, "minor": 1,
        "size": 1048576, "filesystem_type": "ext4", "mountpoint": "/mnt/my disk", "serial": "", "read_only": False,
        "removable": True}


def test_kernel_modules_overlay_loaded_and_builtin_on_loadable_as_troubleshoot_does(tmp_path):
    root = tmp_path / "root"
    kernel = root / "lib/modules/6.1.0/kernel"
    (kernel / "fs").mkdir(parents=True)
    (kernel / "fs/overlay.ko").write_bytes(b"")
    (kernel / "fs/xfs.ko.xz").write_bytes(b"")
    (kernel / "fs/README").write_bytes(b"")
    (root / "lib/modules/6.1.0/modules.builtin").write_text("kernel/fs/ext4.ko\nkernel/net/overlay.ko\n")
    (root / "proc").mkdir()
    (root / "proc/modules").write_text("overlay 151552 2 - Live 0x0000000000000000\n"
                                       "dm_mod 184320 1 - Unloading 0x0000000000000000\n")
    ctx = CollectContext(Output(tmp_path / "out"), timeout=5)
    modules, problems = modules_of(root, "6.1.0", Deadline(ctx))
    assert problems == []
    assert modules == {
        "dm_mod": {"size": 184320, "instances": 1, "status": "unloading"},
        "ext4": {"size": 0, "instances": 0, "status": "loaded"},
        "overlay": {"size": 151552, "instances": 2, "status": "loaded"},
        "xfs.ko": {"size": 0, "instances": 0, "status": "loadable"},   # troubleshoot cuts at the last dot too
    }


def test_kernel_modules_and_sysctl_on_this_host(tmp_path):
    collect("kernelModules", tmp_path)
    assert_written(tmp_path, "kernelModules", "host-collectors/system/kernel_modules.json")
    if not shutil.which("sysctl"):
        pytest.skip("no sysctl binary on this host")
    collect("sysctl", tmp_path)
    values = assert_written(tmp_path, "sysctl", "host-collectors/system/sysctl.json")
    assert values["kernel.ostype"] == "Linux"


def test_sysctl_lines_are_parsed_as_troubleshoot_does(tmp_path):
    env = fake_tool(tmp_path, "sysctl", "printf 'net.ipv4.ip_forward = 1\\nkernel.printk = 4\\t4\\t1\\t7\\n"
                                        "vm.empty =\\nnot a line\\n'; echo 'sysctl: permission denied on key x' >&2")
    collect("sysctl", tmp_path / "out", ctx_env=env)
    values = assert_written(tmp_path / "out", "sysctl", "host-collectors/system/sysctl.json")
    assert values == {"net.ipv4.ip_forward": "1", "kernel.printk": "4\t4\t1\t7", "vm.empty": ""}
    assert "permission denied" in (tmp_path / "out/host-collectors/system/sysctl-stderr.txt").read_text()


def test_sysctl_without_the_tool_reads_proc_sys_as_sysctl_would_print_it(tmp_path):
    collect("sysctl", tmp_path / "out", ctx_env={"PATH": str(tmp_path / "none")})
    values = assert_written(tmp_path / "out", "sysctl", "host-collectors/system/sysctl.json")
    assert values["kernel.ostype"] == "Linux" and values["kernel.osrelease"] == os.uname().release
    assert not any(key.endswith(".retrans_time") for key in values)
    if shutil.which("sysctl"):   # the same keys as the tool's own listing
        collect("sysctl", tmp_path / "tool")
        listed = assert_written(tmp_path / "tool", "sysctl", "host-collectors/system/sysctl.json")
        assert set(listed) == set(values)


def test_proc_sys_keys_dot_the_path_and_note_what_cannot_be_read(tmp_path):
    top = tmp_path / "sys"
    (top / "net/ipv4/conf/eth0.100").mkdir(parents=True)
    (top / "net/ipv4/conf/eth0.100/forwarding").write_text("1\n")
    (top / "kernel").mkdir()
    (top / "kernel/printk").write_text("4\t4\t1\t7\n")
    (top / "kernel/flush").write_text("")
    (top / "kernel/flush").chmod(0o200)
    (top / "kernel/retrans_time").write_text("100\n")
    values, problems = proc_sys(top, Deadline(CollectContext(Output(tmp_path / "out"), timeout=5)))
    assert values == {"net.ipv4.conf.eth0/100.forwarding": "1", "kernel.printk": "4\t4\t1\t7"}
    assert problems == []


def test_time_reads_timedated_and_upper_cases_the_zone(tmp_path):
    env = fake_tool(tmp_path, "timedatectl", "printf 'Timezone=Etc/UTC\\nNTP=yes\\nNTPSynchronized=no\\n'")
    collect("time", tmp_path / "out", ctx_env=env)
    assert assert_written(tmp_path / "out", "time", "host-collectors/system/time.json") == {
        "timezone": "UTC", "ntp_synchronized": False, "ntp_active": True, "source": "timedated"}


@pytest.mark.parametrize("script", [None, "echo 'System has not been booted with systemd as init system (PID 1).' >&2; "
                                          "exit 1", "echo 'Failed to connect to bus: No such file' >&2; exit 1"])
def test_time_without_timedated_reads_tz_and_the_kernel_clock_and_says_so(tmp_path, script):
    env = fake_tool(tmp_path, "timedatectl", script) if script else {"PATH": str(tmp_path)}
    collect("time", tmp_path / "out", ctx_env={**env, "TZ": ":Etc/UTC"})
    written = assert_written(tmp_path / "out", "time", "host-collectors/system/time.json")
    assert written["timezone"] == "UTC" and written["source"] == "TZ, adjtimex"
    assert written["ntp_synchronized"] is kernel_ntp_synchronized() is written["ntp_active"]


def test_the_zone_comes_from_tz_then_the_localtime_link_then_etc_timezone(tmp_path):
    etc = tmp_path / "etc"
    etc.mkdir()
    assert local_zone({}, etc) == ("UTC", "default")
    (etc / "timezone").write_text("Europe/Berlin\n")
    assert local_zone({}, etc) == ("Europe/Berlin", str(etc / "timezone"))
    (etc / "localtime").symlink_to("../usr/share/zoneinfo/America/New_York")
    assert local_zone({}, etc) == ("America/New_York", str(etc / "localtime"))
    assert local_zone({"TZ": ":/usr/share/zoneinfo/Asia/Tokyo"}, etc) == ("Asia/Tokyo", "TZ")
    assert local_zone({"TZ": "CET"}, etc) == ("CET", "TZ")


def test_a_copied_localtime_is_named_by_its_tzif_footer(tmp_path):
    etc = tmp_path / "etc"
    etc.mkdir()
    paris = importlib.resources.files("tzdata").joinpath("zoneinfo/Europe/Paris").read_bytes()
    (etc / "localtime").write_bytes(paris)
    assert local_zone({}, etc) == ("CET", str(etc / "localtime"))
    (tmp_path / "zone").write_bytes(paris)
    assert local_zone({"TZ": str(tmp_path / "zone")}, etc) == ("CET", "TZ")



def test_host_services_parse_systemctl_and_drop_the_failed_mark(tmp_path):
    env = fake_tool(tmp_path, "systemctl", "cat <<'EOF'\n"
                                           "  cron.service   loaded active running Regular background program\n"
                                           "● kubelet.service loaded failed failed kubelet\n"
                                           "EOF")
    collect("hostServices", tmp_path / "out", ctx_env=env)
    services = assert_written(tmp_path / "out", "hostServices", "host-collectors/system/systemctl_services.json")
    assert services == [{"Unit": "cron.service", "Load": "loaded", "Active": "active", "Sub": "running"},
                        {"Unit": "kubelet.service", "Load": "loaded", "Active": "failed", "Sub": "failed"}]


@pytest.mark.parametrize("kind, tool", [("hostServices", "systemctl")])
def test_systemd_collectors_are_skipped_without_systemd(tmp_path, kind, tool):
    with pytest.raises(Skipped, match="not installed"):
        collect(kind, tmp_path, ctx_env={"PATH": str(tmp_path)})
    env = fake_tool(tmp_path, tool, "echo 'System has not been booted with systemd as init system (PID 1).' >&2; "
                                    "exit 1")
    with pytest.raises(Skipped, match="not been booted with systemd"):
        collect(kind, tmp_path / "out", ctx_env=env)
    env = fake_tool(tmp_path, tool, "echo 'Access denied' >&2; exit 1")
    with pytest.raises(RuntimeError, match="Access denied"):
        collect(kind, tmp_path / "out", ctx_env=env)
