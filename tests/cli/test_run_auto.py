"""`collect: {auto: true}` through `sbsched run`: troubleshoot's auto-discovery against the loopback fake
API server (the k3s baseline bundle) with the real `kubernetes` client, no spec file; and `create --auto`."""
from __future__ import annotations

import base64
import json
from pathlib import Path

import yaml

from .test_run_cluster import manifest, run, unpack

SECRET_VALUE = "auto-discovered-s3cr3t-value"


def auto_schedule(name: str, namespaces: str = "") -> str:
    limit = f"\n              namespaces: [{namespaces}]" if namespaces else ""
    return f"""          - name: {name}
            cron: "@daily"
            collect:
              auto: true{limit}"""


def add_secret(kube, namespace: str, name: str) -> None:
    kube.add({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": name, "namespace": namespace},
              "data": {"password": base64.b64encode(SECRET_VALUE.encode()).decode()}})


def test_auto_collects_the_foundational_set_in_the_schedules_namespaces_without_a_spec(
        cli, write_manifest, kube, kubeconfig):
    add_secret(kube, "kube-system", "app-credentials")
    record = run(cli, manifest(write_manifest, kubeconfig, auto_schedule("auto", "kube-system")), "auto")
    assert record["status"] == "completed", record.get("error")
    files = unpack(record)
    assert "cluster-info/cluster_version.json" in files and "cluster-resources/pods/kube-system.json" in files
    assert any(name.startswith("cluster-resources/pods/logs/kube-system/coredns-") for name in files)
    coredns = json.loads(files["configmaps/kube-system/coredns.json"])
    assert coredns["configMapExists"] and "Corefile" in coredns["data"]   # includeAllData, as troubleshoot's
    secret = json.loads(files["secrets/kube-system/app-credentials.json"])
    assert secret == {"namespace": "kube-system", "name": "app-credentials", "key": "", "secretExists": True,
                      "keyExists": False}   # values never: troubleshoot's includeValue/includeAllData false
    assert not any(SECRET_VALUE.encode() in content for content in files.values() if isinstance(content, bytes))
    assert not any(name.startswith(("configmaps/default/", "secrets/default/")) for name in files)
    assert record["autoDiscovery"] == {
        "namespaces": ["kube-system"], "namespacesFrom": "collect.namespaces",
        "collectors": ["clusterInfo", "clusterResources", "logs/kube-system", "configmaps/kube-system",
                       "secrets/kube-system"], "denied": []}
    assert {r["name"]: r["status"] for r in record["bundle"]["collectorResults"]} == dict.fromkeys(
        record["autoDiscovery"]["collectors"], "succeeded")
    assert "skipped-collectors.json" not in files


def test_auto_without_namespaces_discovers_every_namespace_the_api_lists(cli, write_manifest, kube, kubeconfig):
    record = run(cli, manifest(write_manifest, kubeconfig, auto_schedule("everywhere")), "everywhere")
    assert record["status"] == "completed"
    assert record["autoDiscovery"]["namespaces"] == ["default", "kube-node-lease", "kube-public", "kube-system"]
    assert record["autoDiscovery"]["namespacesFrom"] == "listed"
    assert "logs/kube-public" in record["autoDiscovery"]["collectors"]
    assert "configmaps/kube-public/kube-root-ca.crt.json" in unpack(record)
    reviews = [r for r in kube.requests if r.path.endswith("/selfsubjectaccessreviews")]
    assert len(reviews) == 4   # each access once at the cluster scope, not once per namespace


def test_what_rbac_refuses_is_skipped_and_reported_in_the_bundle_and_record_and_the_run_completes(
        cli, write_manifest, kube, kubeconfig):
    kube.forbid("secrets", namespace="kube-system", verb="list")
    kube.forbid("pods/log", namespace="default", verb="get")
    path = manifest(write_manifest, kubeconfig, auto_schedule("partial", "default, kube-system"))
    record = run(cli, path, "partial")
    assert record["status"] == "completed"
    denied = {d["collector"]: d["errors"] for d in record["autoDiscovery"]["denied"]}
    assert denied == {
        "logs/default": ['cannot collect logs/default: action "get" is not allowed on resource "pods/log" in the '
                         '"default" namespace'],
        "secrets/kube-system": ['cannot collect secrets/kube-system: action "list" is not allowed on resource '
                                '"secrets" in the "kube-system" namespace']}
    results = {r["name"]: r for r in record["bundle"]["collectorResults"]}
    assert results["secrets/kube-system"]["status"] == "skipped"
    assert results["secrets/kube-system"]["reason"].startswith("insufficient RBAC permissions: cannot collect")
    assert results["secrets/default"]["status"] == results["logs/kube-system"]["status"] == "succeeded"
    files = unpack(record)
    skipped = json.loads(files["skipped-collectors.json"])   # troubleshoot's collect.SkippedCollector list
    assert [(s["collector"], s["reason"], len(s["errors"])) for s in skipped] == [
        ("logs/default", "insufficient RBAC permissions", 1), ("secrets/kube-system", "insufficient RBAC permissions", 1)]
    assert skipped[0]["errors"] == denied["logs/default"]   # (the built-in redaction masks "secrets/...: action")
    assert all(set(s) == {"collector", "reason", "errors", "timestamp"} for s in skipped)
    error = json.loads(files["collector-errors/secrets-kube-system-error.json"])
    assert error["status"] == "skipped" and "not allowed" in error["error"]
    assert not any(name.startswith("secrets/kube-system/") for name in files)
    text = cli("run", "partial")
    assert text.code == 0
    assert "Refused:    2 discovered collector(s) by RBAC: logs/default, secrets/kube-system " \
           "(see skipped-collectors.json)" in text.out


def test_when_namespaces_cannot_be_listed_auto_falls_back_to_the_kubeconfig_namespace(
        cli, write_manifest, kube, kubeconfig):
    kube.forbid("namespaces")
    record = run(cli, manifest(write_manifest, kubeconfig, auto_schedule("fallback")), "fallback")
    assert record["status"] == "completed"
    assert record["autoDiscovery"]["namespaces"] == ["default"]
    assert record["autoDiscovery"]["namespacesFrom"].startswith("the kubeconfig context's namespace")


def test_the_schedules_own_collectors_win_over_the_discovered_ones(cli, write_manifest, kube, kubeconfig):
    path = manifest(write_manifest, kubeconfig, """          - name: both
            cron: "@daily"
            collect:
              auto: true
              namespaces: [default]
              collectors:
                - clusterResources: {}
                - logs: {collectorName: logs/default, namespace: default, limits: {maxLines: 5}}""")
    record = run(cli, path, "both")
    kinds = [(r["kind"], r["name"]) for r in record["bundle"]["collectorResults"]]
    assert kinds.count(("clusterResources", "clusterResources")) == 1 and kinds.count(("logs", "logs/default")) == 1
    assert record["autoDiscovery"]["collectors"] == ["clusterInfo", "configmaps/default", "secrets/default"]


def test_auto_with_cluster_false_never_touches_the_network(cli, write_manifest, kube, kubeconfig):
    path = manifest(write_manifest, kubeconfig, """          - name: offline
            cron: "@daily"
            collect: {auto: true, cluster: false, hostCollectors: [{hostOS: {}}]}""")
    record = run(cli, path, "offline")
    assert record["status"] == "completed" and kube.request_count == 0 and "autoDiscovery" not in record


def test_create_auto_writes_collect_auto_and_check_covers_what_it_needs(cli, write_manifest, kube, kubeconfig,
                                                                       tmp_path: Path):
    work = tmp_path / "work"
    work.mkdir()
    target = work / "schedules.yaml"
    assert cli("create", "discover", "-c", "@daily", "-n", "default", "--auto", "-f", str(target)).code == 0
    schedule = yaml.safe_load(target.read_text())["schedules"][0]
    assert schedule["collect"] == {"namespaces": ["default"], "auto": True}
    path = manifest(write_manifest, kubeconfig, auto_schedule("discover", "default"))
    assert cli("apply", "-f", str(path)).code == 0
    kube.forbid("secrets", namespace="default", verb="list")
    result = cli("check", "discover", "-o", "json")
    report = json.loads(result.out)
    assert result.code == 1, result.err
    assert [(d["collector"], d["verb"], d["resource"], d["namespace"]) for d in report["denied"]] == [
        ("clusterResources", "list", "secrets", "default"),   # image pull secrets
        ("secret/secrets/default", "list", "secrets", "default")]


def test_check_of_auto_without_namespaces_asks_at_the_cluster_scope(cli, write_manifest, kube, kubeconfig):
    kube.forbid("namespaces")
    kube.forbid("pods/log", namespace="kube-system", verb="get")
    path = manifest(write_manifest, kubeconfig, auto_schedule("anywhere"))
    assert cli("apply", "-f", str(path)).code == 0
    result = cli("check", "anywhere", "-o", "json")
    assert result.code == 1, result.err
    denied = {(d["collector"], d["verb"], d["resource"], d["subresource"], d["namespace"])
              for d in json.loads(result.out)["denied"]}
    assert ("auto", "list", "namespaces", "", "") in denied and ("auto", "get", "pods", "log", "") in denied
    text = cli("check", "anywhere")
    assert text.code == 1 and "namespaces" in text.out
