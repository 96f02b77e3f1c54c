"""`sbsched run` against a Kubernetes API: the real `kubernetes` client talking to the loopback fake API
server that serves the real k3s baseline bundle (tests/fakes/kube_api). The bundle we write is compared
with that source bundle file by file."""
from __future__ import annotations

import base64
import io
import json
import shutil
import tarfile
from pathlib import Path

import pytest

from ..conftest import FIXTURES
from ..fakes.kubeconfig import unreachable_url, write_kubeconfig
from ..kube_fixtures import BASELINE_BUNDLE

SUPPORT_BUNDLE_SPECS = sorted((FIXTURES / "specs" / "support-bundle").glob("*.yaml"))


def manifest(write_manifest, kubeconfig: Path, schedule: str, *, defaults: str = "") -> Path:
    return write_manifest(f"""
        apiVersion: sbsched/v1
        kind: ScheduleSet
        metadata: {{name: cluster}}
        defaults:
          collect: {{kubeconfig: {kubeconfig}}}
          policy: {{timeoutSeconds: 120, retries: 0}}
          {defaults}
        schedules:
{schedule}
    """)


def run(cli, path: Path, name: str) -> dict:
    assert cli("apply", "-f", str(path)).code == 0
    result = cli("run", name, "-o", "json")
    record = json.loads(result.out)
    assert result.code == (0 if record["status"] == "completed" else 1), result.err
    return record


def unpack(record: dict) -> dict[str, bytes | str]:
    """Archive members under the bundle's top directory: file contents, or the target of a symlink."""
    archive = Path(record["bundle"]["path"])
    top = archive.name.removesuffix(".tar.gz") + "/"
    found: dict[str, bytes | str] = {}
    with tarfile.open(archive) as tar:
        for member in tar.getmembers():
            name = member.name.removeprefix(top)
            if member.isfile():
                found[name] = tar.extractfile(member).read()
            elif member.issym():
                found[name] = member.linkname
    return found


def source_files() -> dict[str, bytes]:
    with tarfile.open(BASELINE_BUNDLE) as tar:
        return {m.name.removeprefix("supportbundle/"): tar.extractfile(m).read()
                for m in tar.getmembers() if m.isfile()}


def shape(value):
    """What must match between their file and ours: List kind and item identities, or array identities."""
    if isinstance(value, dict) and "items" in value:
        return (value["kind"], value["apiVersion"],
                sorted((i["kind"], i["metadata"].get("namespace"), i["metadata"]["name"]) for i in value["items"] or []))
    if isinstance(value, list) and value and isinstance(value[0], dict) and "metadata" in value[0]:
        return sorted((i["kind"], i["metadata"].get("namespace"), i["metadata"]["name"]) for i in value)
    if isinstance(value, list) and value and isinstance(value[0], dict) and "groupVersion" in value[0]:
        return sorted(v["groupVersion"] for v in value)
    if isinstance(value, list) and value and isinstance(value[0], dict) and "preferredVersion" in value[0]:
        return sorted(g["name"] for g in value)
    return value


def test_cluster_resources_match_the_source_bundle_file_by_file(cli, write_manifest, kube, kubeconfig):
    path = manifest(write_manifest, kubeconfig, """          - name: everything
            cron: "@daily"
            collect: {collectors: [{clusterInfo: {}}, {clusterResources: {}}]}""")
    record = run(cli, path, "everything")
    assert record["status"] == "completed" and record["warnings"] == 0
    ours, theirs = unpack(record), source_files()
    compared = 0
    for name, content in theirs.items():
        if not name.startswith(("cluster-resources/", "cluster-info/")) or not name.endswith(".json") \
                or "/pods/logs/" in name or name.startswith("cluster-resources/auth-cani-list/"):
            continue   # logs are the logs collectors'; auth-cani-list depends on the credentials (below)
        assert name in ours, f"missing {name}"
        assert shape(json.loads(ours[name])) == shape(json.loads(content)), name
        compared += 1
    assert compared >= 90
    assert {n for n in theirs if n.startswith("cluster-resources/auth-cani-list/")} == \
        {n for n in ours if n.startswith("cluster-resources/auth-cani-list/")}
    rules = json.loads(ours["cluster-resources/auth-cani-list/default.json"])
    assert all("verbs" in rule for rule in rules) and any(rule.get("resources") == ["*"] for rule in rules)
    assert json.loads(ours["cluster-info/cluster_version.json"])["string"] == "v1.31.2+k3s1"
    # one cluster-wide LIST per kind: requests do not grow with the number of namespaces
    lists = [r for r in kube.requests if r.method == "GET" and "/namespaces/" in r.path and not r.path.endswith("/log")]
    assert lists == []


@pytest.mark.parametrize("spec", SUPPORT_BUNDLE_SPECS, ids=lambda p: p.stem)
def test_each_real_support_bundle_spec_runs_to_a_bundle(cli, write_manifest, kube, kubeconfig, tmp_path, spec):
    specs = tmp_path / "repo" / "specs"
    specs.mkdir(parents=True, exist_ok=True)
    shutil.copy(spec, specs / spec.name)
    path = manifest(write_manifest, kubeconfig, f"""          - name: spec-{spec.stem}
            cron: "@daily"
            collect: {{specs: [specs/{spec.name}]}}""")
    record = run(cli, path, f"spec-{spec.stem}")
    assert record["status"] == "completed", record["error"]
    files = unpack(record)
    results = {r["kind"]: r for r in record["bundle"]["collectorResults"]}
    for result in results.values():   # every collector is accounted for, never silently dropped
        assert result["status"] in ("succeeded", "skipped"), result
    if "clusterResources" in results:
        assert "cluster-resources/pods/kube-system.json" in files
    if "runPod" in results:
        assert files["static-hi.log"] == "cluster-resources/pods/logs/default/static-hi/static-hi.log"
        assert files["cluster-resources/pods/logs/default/static-hi/static-hi.log"] == b"hi static!\n"
        assert json.loads(files["static-hi/static-hi.json"])["spec"] == {}
    if "data" in results:
        assert files["config/replicas.txt"] == b"5"
    if spec.stem == "db-collector":
        assert {r["status"] for r in results.values()} == {"skipped"}
        assert "not supported" in results["mysql"]["reason"]


def test_forbidden_secrets_and_nodes_are_recorded_and_the_run_completes(cli, write_manifest, kube, kubeconfig):
    kube.forbid("secrets")
    kube.forbid("nodes")
    kube.forbid("secrets", verb="get")
    path = manifest(write_manifest, kubeconfig, """          - name: rbac
            cron: "@daily"
            collect:
              collectors:
                - clusterResources: {}
                - secret: {name: my-app-config, namespace: default}""")
    record = run(cli, path, "rbac")
    assert record["status"] == "completed" and record["warnings"] >= 3
    files = unpack(record)
    nodes_errors = json.loads(files["cluster-resources/nodes-errors.json"])
    assert nodes_errors == [nodes_errors[0]] and 'cannot list resource "nodes"' in nodes_errors[0]
    pull_errors = json.loads(files["cluster-resources/image-pull-secrets-errors.json"])
    assert set(pull_errors) == {"default", "kube-node-lease", "kube-public", "kube-system"}
    assert 'cannot list resource "secrets"' in pull_errors["default"]
    secret_errors = json.loads(files["secrets-errors/default/my-app-config.json"])
    assert "forbidden" in secret_errors[0]
    assert "cluster-resources/nodes.json" not in files
    assert "cluster-resources/pods/kube-system.json" in files and "cluster-resources/deployments/default.json" in files
    record_of = json.loads(files["collector-errors/clusterResources-error.json"])
    assert record_of["status"] == "succeeded" and any("nodes" in w for w in record_of["warnings"])
    text = cli("run", "rbac")
    assert text.code == 0 and "Warnings:" in text.out


def test_a_kind_forbidden_cluster_wide_falls_back_to_each_namespace(cli, write_manifest, kube, kubeconfig):
    kube.forbid("configmaps", namespace=None)
    path = manifest(write_manifest, kubeconfig, """          - name: fallback
            cron: "@daily"
            collect: {collectors: [{clusterResources: {}}]}""")
    record = run(cli, path, "fallback")
    errors = json.loads(unpack(record)["cluster-resources/configmaps-errors.json"])
    assert set(errors) == {"default", "kube-node-lease", "kube-public", "kube-system"}
    tried = {r.path for r in kube.requests if r.path.endswith("/configmaps")}
    assert "/api/v1/configmaps" in tried and "/api/v1/namespaces/kube-system/configmaps" in tried


def test_an_unreachable_api_server_fails_the_run_as_transient_naming_the_server(cli, write_manifest, tmp_path):
    url = unreachable_url()
    kubeconfig = write_kubeconfig(tmp_path / "down.kubeconfig", url)
    path = manifest(write_manifest, kubeconfig, """          - name: down
            cron: "@daily"
            collect: {collectors: [{clusterResources: {}}], hostCollectors: [{hostOS: {}}]}""")
    record = run(cli, path, "down")
    assert record["status"] == "failed" and record["reason"] == "cluster-unreachable"
    assert record["error"]["class"] == "transient" and url in record["error"]["message"]
    assert "connection refused" in record["error"]["message"]


def test_cluster_false_never_touches_the_network(cli, write_manifest, kube, kubeconfig):
    path = manifest(write_manifest, kubeconfig, """          - name: offline
            cron: "@daily"
            collect:
              cluster: false
              collectors: [{clusterResources: {}}, {clusterInfo: {}}]
              hostCollectors: [{hostOS: {}}]""")
    record = run(cli, path, "offline")
    assert record["status"] == "completed" and kube.request_count == 0
    assert {r["kind"]: r["status"] for r in record["bundle"]["collectorResults"]} == \
        {"clusterResources": "skipped", "clusterInfo": "skipped", "hostOS": "succeeded"}


def test_collect_namespaces_limits_everything_namespaced(cli, write_manifest, kube, kubeconfig):
    path = manifest(write_manifest, kubeconfig, """          - name: limited
            cron: "@daily"
            collect:
              namespaces: [kube-system]
              collectors: [{clusterResources: {}}, {configMap: {name: coredns, namespace: default}},
                           {logs: {name: all-logs}}]""")
    record = run(cli, path, "limited")
    files = unpack(record)
    assert {n for n in files if n.startswith("cluster-resources/pods/") and n.count("/") == 2} == \
        {"cluster-resources/pods/kube-system.json"}
    namespaces = json.loads(files["cluster-resources/namespaces.json"])
    assert [ns["metadata"]["name"] for ns in namespaces] == ["kube-system"]
    results = {r["kind"]: r for r in record["bundle"]["collectorResults"]}
    assert results["configMap"]["status"] == "skipped" and "collect.namespaces" in results["configMap"]["reason"]
    cluster_wide = [r.path for r in kube.requests if r.path in ("/api/v1/pods", "/apis/apps/v1/deployments")]
    assert cluster_wide == []


def chatty_pod(kube, name: str) -> None:
    kube.add({"apiVersion": "v1", "kind": "Pod",
              "metadata": {"name": name, "namespace": "default", "labels": {"app": name}},
              "spec": {"containers": [{"name": "app", "image": "busybox"}]},
              "status": {"phase": "Running", "containerStatuses": [{"name": "app", "ready": True,
                                                                     "state": {"running": {}}}]}})
    kube.set_log("default", name, "app", "".join(f"line {i}\n" for i in range(5000)))


def test_logs_honour_the_limits_and_keep_previous_logs(cli, write_manifest, kube, kubeconfig):
    chatty_pod(kube, "chatty")
    chatty_pod(kube, "bulky")
    kube.set_log("default", "chatty", "app", "crashed before\n", previous=True)
    path = manifest(write_manifest, kubeconfig, """          - name: logs
            cron: "@daily"
            collect:
              collectors:
                - logs: {name: app-logs, selector: [app=chatty], namespace: default, limits: {maxLines: 100, maxAge: 1h}}
                - logs: {name: small, selector: [app=bulky], namespace: default, limits: {maxBytes: 1000}}""")
    files = unpack(run(cli, path, "logs"))
    assert files["cluster-resources/pods/logs/default/chatty/app.log"] == \
        "".join(f"line {i}\n" for i in range(4900, 5000)).encode()
    assert files["app-logs/chatty/app.log"] == "../../cluster-resources/pods/logs/default/chatty/app.log"
    assert files["app-logs/chatty/app-previous.log"] == \
        "../../cluster-resources/pods/logs/default/chatty/app-previous.log"
    assert files["cluster-resources/pods/logs/default/chatty/app-previous.log"] == b"crashed before\n"
    assert len(files["cluster-resources/pods/logs/default/bulky/app.log"]) == 1000
    assert "small/bulky/app-previous.log" not in files   # no previous container, no file
    queries = {r.path.split("/")[6]: r.query for r in kube.requests
               if r.path.endswith("/log") and "previous" not in r.query}
    assert queries["chatty"]["tailLines"] == ["100"] and queries["chatty"]["sinceSeconds"] == ["3600"]
    assert queries["bulky"]["limitBytes"] == ["1000"] and queries["bulky"]["tailLines"] == ["10000"]


def test_planted_secret_values_do_not_survive_in_configmaps_logs_or_secret_files(cli, write_manifest, kube, kubeconfig):
    kube.add({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "app-env", "namespace": "default"},
              "data": {"DB_PASSWORD": "cm-planted-s3cret", "settings.ini": "password=ini-planted-s3cret\n"}})
    kube.add({"apiVersion": "v1", "kind": "Secret", "type": "Opaque",
              "metadata": {"name": "app-creds", "namespace": "default"},
              "data": {"token": base64.b64encode(b"secret-planted-value").decode()}})
    kube.add({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "talker", "namespace": "default",
                                                              "labels": {"app": "talker"}},
              "spec": {"containers": [{"name": "main"}]}, "status": {"phase": "Running"}})
    kube.set_log("default", "talker", "main", "connecting with password=log-planted-s3cret\nok\n")
    path = manifest(write_manifest, kubeconfig, """          - name: redacted
            cron: "@daily"
            collect:
              collectors:
                - clusterResources: {}
                - configMap: {name: app-env, namespace: default, includeAllData: true}
                - secret: {name: app-creds, namespace: default, key: token, includeValue: true}
                - logs: {name: talk, selector: [app=talker], namespace: default}""")
    record = run(cli, path, "redacted")
    archive = Path(record["bundle"]["path"]).read_bytes()
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        everything = b"".join(tar.extractfile(m).read() for m in tar.getmembers() if m.isfile())
    for planted in (b"cm-planted-s3cret", b"ini-planted-s3cret", b"log-planted-s3cret", b"secret-planted-value"):
        assert planted not in everything, planted
    files = unpack(record)
    secret_file = json.loads(files["secrets/default/app-creds/token.json"])
    assert secret_file["secretExists"] and secret_file["keyExists"] and secret_file["value"] == "***HIDDEN***"
    assert record["redaction"]["byRedactor"].get("secret-collector-values") == 1


def test_without_redaction_a_secret_value_is_written_only_when_asked(cli, write_manifest, kube, kubeconfig):
    kube.add({"apiVersion": "v1", "kind": "Secret", "type": "Opaque",
              "metadata": {"name": "app-creds", "namespace": "default"},
              "data": {"token": base64.b64encode(b"visible-when-asked").decode()}})
    path = manifest(write_manifest, kubeconfig, """          - name: plain
            cron: "@daily"
            redact: {enabled: false}
            collect:
              collectors:
                - secret: {collectorName: with, name: app-creds, namespace: default, key: token, includeValue: true}
                - secret: {collectorName: without, name: app-creds, namespace: default}""")
    files = unpack(run(cli, path, "plain"))
    assert json.loads(files["secrets/default/app-creds/token.json"])["value"] == "visible-when-asked"
    assert json.loads(files["secrets/default/app-creds.json"]) == {
        "namespace": "default", "name": "app-creds", "key": "", "secretExists": True, "keyExists": False}


def test_exec_copy_from_pod_and_a_missing_configmap_land_at_troubleshoots_paths(cli, write_manifest, kube,
                                                                                kubeconfig):
    kube.add({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "db-0", "namespace": "default",
                                                              "labels": {"app": "db"}},
              "spec": {"containers": [{"name": "postgres"}]}, "status": {"phase": "Running"}})
    kube.set_file("default", "db-0", "postgres", "/etc/app/app.conf", b"max_connections = 100\n")
    path = manifest(write_manifest, kubeconfig, """          - name: inpod
            cron: "@daily"
            collect:
              collectors:
                - exec: {name: dbexec, collectorName: hello, selector: [app=db], namespace: default,
                         command: [echo], args: [hello, from, pod]}
                - copyFromPod: {name: dbcopy, selector: [app=db], namespace: default, containerPath: /etc/app}
                - configMap: {name: not-there, namespace: default}""")
    record = run(cli, path, "inpod")
    files = unpack(record)
    assert files["dbexec/default/db-0/hello-stdout.txt"] == b"hello from pod\n"
    assert files["dbcopy/default/db-0/etc/app/app.conf"] == b"max_connections = 100\n"
    assert json.loads(files["configmaps/default/not-there.json"]) == {
        "namespace": "default", "name": "not-there", "key": "", "configMapExists": False, "keyExists": False,
        "data": None}
    assert json.loads(files["configmaps-errors/default/not-there.json"]) == ['configmaps "not-there" not found']


def test_the_specs_analyzers_run_over_our_bundle_and_fail_run_marks_the_run(cli, write_manifest, kube, kubeconfig,
                                                                           tmp_path):
    specs = tmp_path / "repo" / "specs"
    specs.mkdir(parents=True, exist_ok=True)
    shutil.copy(FIXTURES / "specs" / "support-bundle" / "e2e.yaml", specs / "e2e.yaml")
    path = manifest(write_manifest, kubeconfig, """          - name: analyzed
            cron: "@daily"
            collect: {specs: [specs/e2e.yaml]}
          - name: strict
            cron: "@daily"
            collect: {specs: [specs/e2e.yaml]}
            analyze:
              failRun: true
              analyzers: [{nodeResources: {checkName: Three nodes, outcomes: [{fail: {when: "count() < 3",
                           message: Too few nodes}}, {pass: {message: Enough nodes}}]}}]""")
    record = run(cli, path, "analyzed")
    analysis = {item["insight"]["primary"]: item for item in json.loads(unpack(record)["analysis.json"])}
    # expectations from the fixture cluster: k3s v1.31.2, one node, and the data collector's "5"
    assert analysis["Required Kubernetes Version"]["severity"] == "debug"
    assert analysis["Kubernetes Distribution"]["insight"]["detail"] == "K3S is a supported distribution"
    assert analysis["Replica Count"]["insight"]["detail"] == "You have at least 5 replicas"
    assert analysis["Said hi!"]["insight"]["detail"] == "Said hi!"   # reads the runPod's /static-hi.log link
    assert record["status"] == "completed" and record["analysis"]["fail"] == 0 and record["analysis"]["pass"] >= 6
    summary = unpack(record)["execution-data/summary.txt"].decode()
    assert "Replica Count (S)" in summary and "No analyzers executed" not in summary
    again = cli("analyze", record["bundle"]["path"], "--spec", str(specs / "e2e.yaml"), "-o", "json")
    assert again.code == 0 and json.loads(again.out) == json.loads(unpack(record)["analysis.json"])
    strict = run(cli, path, "strict")
    assert (strict["status"], strict["reason"], strict["analysis"]["fail"]) == ("failed", "analysis", 1)
    assert strict["error"]["class"] == "permanent"


def test_a_failing_analyzer_with_fail_run_notifies_with_its_title(cli, write_manifest, kube, kubeconfig, http_sink):
    sink = http_sink.reset()
    path = manifest(write_manifest, kubeconfig, f"""          - name: alerting
            cron: "@daily"
            collect: {{collectors: [{{clusterInfo: {{}}}}]}}
            notify: [{{webhook: "{sink.url}/hook", on: [failure]}}]
            analyze:
              failRun: true
              analyzers: [{{clusterVersion: {{checkName: Needs 1.40, outcomes: [{{fail: {{when: "< 1.40.0",
                           message: Too old}}}}, {{pass: {{message: fine}}}}]}}}}]""")
    record = run(cli, path, "alerting")
    assert (record["status"], record["reason"], record["analysis"]["failing"]) == ("failed", "analysis", ["Needs 1.40"])
    (hook,) = sink.wait_for(1)
    body = hook.json()
    assert body["analysis"] == {"pass": 0, "warn": 0, "fail": 1, "failing": ["Needs 1.40"]}
    assert body["status"] == "failed" and body["reason"] == "analysis" and "Needs 1.40" in body["text"]
