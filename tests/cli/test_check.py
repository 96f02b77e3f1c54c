"""`sbsched check NAME`: the RBAC preflight against the loopback fake API server, whose access reviews
answer from the same refusals (`kube.forbid`) that its requests get."""
from __future__ import annotations

import json
from pathlib import Path

from ..fakes.kubeconfig import unreachable_url, write_kubeconfig
from .test_run_cluster import manifest

REVIEWS = "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews"
SCHEDULE = """          - name: nightly
            cron: "@daily"
            collect:
              collectors:
                - clusterResources: {}
                - logs: {name: app-logs, selector: ["app=web"]}
                - secret: {name: my-app-config, namespace: default}
                - configMap: {name: example-configmap, namespace: default}
                - exec: {collectorName: ps, namespace: default, command: [ps]}
                - clusterInfo: {}
              hostCollectors: [{hostOS: {}}]"""


def denied_rows(result) -> set[tuple[str, str, str, str, str]]:
    return {(d["collector"], d["verb"], d["resource"] + (f"/{d['subresource']}" if d["subresource"] else ""),
             d["namespace"], d["name"]) for d in json.loads(result.out)["denied"]}


def test_everything_allowed_exits_0_with_one_review_per_distinct_access(cli, write_manifest, kube, kubeconfig):
    assert cli("apply", "-f", str(manifest(write_manifest, kubeconfig, SCHEDULE))).code == 0
    result = cli("check", "nightly")
    assert result.code == 0, result.err
    assert "are allowed" in result.out and kube.url in result.out
    report = json.loads(cli("check", "nightly", "-o", "json").out)
    assert report["denied"] == [] and report["allowed"] == report["checked"] > 40
    posts = [r for r in kube.requests if r.method == "POST" and r.path == REVIEWS]
    assert len(posts) == 2 * report["checked"]   # two checks, each access asked once
    assert len({(i["verb"], i["group"], i["resource"], i["subresource"], i["namespace"], i["name"])
                for i in report["items"]}) == report["checked"]


def test_chosen_403s_are_listed_exactly_and_exit_1(cli, write_manifest, kube, kubeconfig):
    kube.forbid("nodes")
    kube.forbid("pods/log", verb="get")
    kube.forbid("secrets", namespace="kube-system")           # so no cluster-wide list of secrets either
    kube.forbid("configmaps", namespace="default", verb="get")
    kube.forbid("pods/exec", namespace="default", verb="create")
    assert cli("apply", "-f", str(manifest(write_manifest, kubeconfig, SCHEDULE))).code == 0
    result = cli("check", "nightly", "-o", "json")
    assert result.code == 1, result.err
    assert denied_rows(result) == {
        ("clusterResources", "list", "nodes", "", ""),
        ("clusterResources", "get", "pods/log", "", ""),
        ("clusterResources", "list", "secrets", "", ""),
        ("logs", "get", "pods/log", "", ""),
        ("configMap", "get", "configmaps", "default", "example-configmap"),
        ("exec/ps", "create", "pods/exec", "default", ""),
    }
    text = cli("check", "nightly")
    assert text.code == 1
    lines = text.out.splitlines()
    assert lines[0].split() == ["COLLECTOR", "VERB", "RESOURCE", "NAMESPACE"]
    assert any(line.split()[:4] == ["clusterResources", "list", "nodes", "<all>"] for line in lines)
    assert any(line.split()[:4] == ["exec/ps", "create", "pods/exec", "default"] for line in lines)
    assert "5 of " in lines[-1] and "would be denied" in lines[-1]   # pods/log is one access for two collectors


def test_collect_namespaces_bound_the_check(cli, write_manifest, kube, kubeconfig):
    kube.forbid("secrets", namespace="kube-system")    # outside the schedule's namespaces: irrelevant
    kube.forbid("deployments", namespace="default")
    path = manifest(write_manifest, kubeconfig, """          - name: limited
            cron: "@daily"
            collect:
              namespaces: [default]
              collectors: [{clusterResources: {}}, {logs: {namespace: kube-system}}]""")
    assert cli("apply", "-f", str(path)).code == 0
    result = cli("check", "limited", "-o", "json")
    assert result.code == 1
    assert denied_rows(result) == {("clusterResources", "list", "deployments", "default", "")}
    report = json.loads(result.out)
    assert report["skipped"] == [{"collector": "logs", "reason": "namespace kube-system is outside the "
                                                                  "schedule's collect.namespaces (default)"}]
    assert {i["namespace"] for i in report["items"]} == {"", "default"}


def test_an_unreachable_server_is_one_line_naming_it_exit_2(cli, write_manifest, tmp_path: Path):
    url = unreachable_url()
    path = manifest(write_manifest, write_kubeconfig(tmp_path / "down.kubeconfig", url), """          - name: down
            cron: "@daily"
            collect: {collectors: [{logs: {}}]}""")
    assert cli("apply", "-f", str(path)).code == 0
    result = cli("check", "down")
    assert result.code == 2 and result.out == ""
    assert result.err.count("\n") == 1 and url in result.err and "connection refused" in result.err


def test_host_only_and_unknown_schedules(cli, write_manifest, kube, kubeconfig):
    path = manifest(write_manifest, kubeconfig, """          - name: host
            cron: "@daily"
            collect: {hostCollectors: [{hostOS: {}}], collectors: [{clusterResources: {}}], cluster: false}""")
    assert cli("apply", "-f", str(path)).code == 0
    result = cli("check", "host")
    assert result.code == 0 and "needs no Kubernetes access" in result.out and kube.request_count == 0
    missing = cli("check", "hots")
    assert missing.code == 2 and "no schedule named 'hots'" in missing.err
