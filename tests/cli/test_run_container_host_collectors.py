"""issue 22, collectors that work in containers: `sbsched validate` warns about the host collectors this
host would skip, and `sbsched run` of a spec with the newer host collector kinds writes them into the
bundle at troubleshoot's paths (network ones on 127.0.0.1 only)."""
from __future__ import annotations

import json
import socket
from pathlib import Path

from ..reconciler.collect.test_host_more_kinds import free_port
from .test_run import manifest, members

SPEC = """apiVersion: troubleshoot.sh/v1beta2
kind: HostCollector
metadata: {{name: container}}
spec:
  collectors:
    - time: {{}}
    - cgroups: {{}}
    - subnetAvailable: {{CIDRRangeAlloc: 10.0.0.0/8, desiredCIDR: 22}}
    - udpPortStatus: {{port: {udp}}}
    - tcpLoadBalancer: {{port: {tcp}, address: "127.0.0.1:{tcp}", timeout: 10s}}
    - httpLoadBalancer: {{port: {http}, address: "http://127.0.0.1:{http}/", timeout: 10s}}
    - networkNamespaceConnectivity: {{fromCIDR: 10.0.0.0/24, toCIDR: 10.0.1.0/24, port: 9}}
    - fancyNewKind: {{}}
"""


def write_schedule(write_manifest, tmp_path: Path) -> Path:
    spec = tmp_path / "repo" / "specs" / "container.yaml"
    spec.parent.mkdir(parents=True, exist_ok=True)
    spec.write_text(SPEC.format(udp=free_port(socket.SOCK_DGRAM), tcp=free_port(), http=free_port()))
    return manifest(write_manifest, """          - name: container
            cron: "@daily"
            collect: {specs: [specs/container.yaml]}""")


def test_validate_warns_one_line_each_about_host_collectors_this_host_will_skip(cli, write_manifest, tmp_path):
    path = write_schedule(write_manifest, tmp_path)
    result = cli("validate", "-f", str(path))
    assert result.code == 0 and "valid" in result.out
    warnings = result.err.splitlines()
    assert all(line.startswith(f"{path}: warning: schedule 'container': host collector ") for line in warnings)
    named = {line.split("host collector ")[1].split(" ")[0].strip("'"): line for line in warnings}
    assert set(named) == {"networkNamespaceConnectivity", "fancyNewKind"}, warnings
    assert "needs root" in named["networkNamespaceConnectivity"]
    assert "not supported by sbsched" in named["fancyNewKind"]
    assert json.loads(cli("validate", "-f", str(path), "-o", "json").out)["valid"] is True


def test_run_writes_the_container_ready_host_collectors_into_the_bundle(cli, write_manifest, tmp_path):
    path = write_schedule(write_manifest, tmp_path)
    assert cli("apply", "-f", str(path)).code == 0
    result = cli("run", "container", "-o", "json")
    assert result.code == 0, result.err
    record = json.loads(result.out)
    by_kind = {r["kind"]: r for r in record["bundle"]["collectorResults"]}
    skipped = {kind for kind, r in by_kind.items() if r["status"] == "skipped"}
    assert skipped == {"networkNamespaceConnectivity", "fancyNewKind"}, by_kind
    assert "needs root" in by_kind["networkNamespaceConnectivity"]["reason"]
    assert all(r["status"] == "succeeded" for k, r in by_kind.items() if k not in skipped), by_kind
    archive = Path(record["bundle"]["path"])
    top = archive.name.removesuffix(".tar.gz")
    files = {name.removeprefix(top + "/"): data for name, data in members(archive).items()}
    time_info = json.loads(files["host-collectors/system/time.json"])
    assert time_info["source"] and set(time_info) == {"timezone", "ntp_synchronized", "ntp_active", "source"}
    assert json.loads(files["host-collectors/system/cgroups.json"])["cgroup-enabled"] in (True, False)
    assert json.loads(files["host-collectors/subnetAvailable/result.json"])["desiredCIDR"] == 22
    for kind in ("udpPortStatus", "tcpLoadBalancer", "httpLoadBalancer"):
        assert json.loads(files[f"host-collectors/{kind}/{kind}.json"]) == {"status": "connected", "message": ""}
