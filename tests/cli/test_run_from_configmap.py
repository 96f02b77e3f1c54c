"""What an exported CronJob's pod runs, `sbsched run --from-configmap`, against the fake API server:
the schedule read from its ConfigMap gives a bundle laid out as the host's `sbsched run` lays it out."""
from __future__ import annotations

import json
import stat
import tarfile
from datetime import datetime, timezone
from pathlib import Path

import pytest

from reconciler.k8s.runner import scheduled_time

MANIFEST = """
apiVersion: sbsched/v1
kind: ScheduleSet
metadata: {name: cluster}
schedules:
  - name: roundtrip
    cron: "15 4 * * *"
    policy: {timeoutSeconds: 120, retries: 0}
    collect:
      specs: [specs/roundtrip.yaml]
      collectors:
        - clusterResources: {namespaces: [kube-system]}
        - configMap: {name: coredns, namespace: kube-system, includeAllData: true}
      hostCollectors:
        - run: {collectorName: hello, command: echo, args: [hello]}
    redact:
      redactors: [specs/redact.yaml]
"""
SPEC = """apiVersion: troubleshoot.sh/v1beta2
kind: SupportBundle
metadata: {name: roundtrip}
spec:
  collectors:
    - clusterInfo: {}
    - logs: {name: dns, namespace: kube-system, selector: [k8s-app=kube-dns], limits: {maxLines: 20}}
  analyzers:
    - clusterVersion:
        outcomes:
          - pass: {message: fine}
"""
REDACTOR = """apiVersion: troubleshoot.sh/v1beta2
kind: Redactor
metadata: {name: words}
spec:
  redactors:
    - name: hello
      removals: {values: [hello]}
"""


def layout(record: dict) -> set[str]:
    archive = Path(record["bundle"]["path"])
    top = archive.name.removesuffix(".tar.gz") + "/"
    with tarfile.open(archive) as tar:
        return {m.name.removeprefix(top) for m in tar.getmembers() if m.isfile() or m.issym()}


@pytest.fixture
def manifest(write_manifest) -> Path:
    path = write_manifest(MANIFEST)
    (path.parent / "specs" / "roundtrip.yaml").write_text(SPEC)
    (path.parent / "specs" / "redact.yaml").write_text(REDACTOR)
    return path


@pytest.fixture
def planted(cli, manifest, kube, kubeconfig, monkeypatch) -> dict:
    """The exported ConfigMap, stored in the fake cluster; the CLI finds the cluster through KUBECONFIG."""
    monkeypatch.setenv("KUBECONFIG", str(kubeconfig))
    exported = cli("export", "kubernetes", "-f", str(manifest), "-o", "json", "--namespace", "kube-system")
    assert exported.code == 0, exported.err
    items = json.loads(exported.out)["items"]
    configmap = next(obj for obj in items if obj["kind"] == "ConfigMap")
    kube.add(configmap)
    return next(obj for obj in items if obj["kind"] == "CronJob")


def test_the_cronjob_command_gives_the_host_runs_bundle_layout(cli, manifest, planted, tmp_path):
    command = planted["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]["command"]
    assert command[:4] == ["sbsched", "run", "--from-configmap", "kube-system/sbsched-roundtrip"]
    args = [arg.replace("$(SBSCHED_JOB_NAME)", "roundtrip-29612415").replace("/tmp/bundles", str(tmp_path / "pod"))
            for arg in command[1:]]
    pod = cli(*args)
    assert pod.code == 0, pod.err
    in_pod = json.loads(pod.out)
    assert in_pod["status"] == "completed" and in_pod["trigger"] == "schedule"
    assert in_pod["id"] == "roundtrip-20260421T0415Z"   # the slot named by the Job, not the clock
    assert Path(in_pod["bundle"]["path"]).parent == tmp_path / "pod"

    assert cli("apply", "-f", str(manifest)).code == 0
    host = cli("run", "roundtrip", "-o", "json")
    assert host.code == 0, host.err
    on_host = json.loads(host.out)
    assert layout(in_pod) == layout(on_host)
    files = layout(in_pod)
    assert {"version.yaml", "analysis.json", "cluster-info/cluster_version.json", "host-collectors/run-host/hello.txt",
            "configmaps/kube-system/coredns.json", "cluster-resources/pods/kube-system.json"} <= files
    assert any(name.startswith("dns/") for name in files)
    for key in ("collectors", ):
        assert in_pod["bundle"][key] == on_host["bundle"][key]
    assert in_pod["redaction"]["byRedactor"] == on_host["redaction"]["byRedactor"]
    assert in_pod["analysis"] == on_host["analysis"]


def test_a_run_by_hand_is_manual_and_writes_into_the_working_directory(cli, planted, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = cli("run", "--from-configmap", "kube-system/sbsched-roundtrip")
    assert result.code == 0, result.err
    assert "Execution roundtrip-" in result.out and "-manual-1: completed" in result.out
    assert [p.name.endswith(".tar.gz") for p in tmp_path.iterdir() if p.name.startswith("support-bundle-")] == [True]


def test_the_working_directory_keeps_its_mode(cli, planted, tmp_path, monkeypatch):
    shared = tmp_path / "shared"     # run by hand from /tmp: its sticky bit and world-write stay
    shared.mkdir()
    shared.chmod(0o1777)
    monkeypatch.chdir(shared)
    assert cli("run", "--from-configmap", "kube-system/sbsched-roundtrip").code == 0
    assert stat.S_IMODE(shared.stat().st_mode) == 0o1777


def test_a_missing_configmap_and_a_foreign_one_are_errors(cli, kube, kubeconfig, monkeypatch):
    monkeypatch.setenv("KUBECONFIG", str(kubeconfig))
    missing = cli("run", "--from-configmap", "default/sbsched-nothing")
    assert missing.code == 2 and "no ConfigMap default/sbsched-nothing" in missing.err
    kube.add({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "plain", "namespace": "default"},
              "data": {"a": "b"}})
    foreign = cli("run", "--from-configmap", "plain")   # the context's namespace
    assert foreign.code == 2 and "has no 'schedule.json' key" in foreign.err


def test_run_takes_a_name_or_a_configmap(cli):
    assert cli("run").code == 2
    assert cli("run", "x", "--from-configmap", "a/b").code == 2


def test_the_job_name_carries_the_slot():
    assert scheduled_time("nightly-29612415", "nightly") == datetime(2026, 4, 21, 4, 15, tzinfo=timezone.utc)
    assert scheduled_time("nightly-manual-x", "nightly") is None
    assert scheduled_time("", "nightly") is None
    assert scheduled_time("other-29612345", "nightly") is None
