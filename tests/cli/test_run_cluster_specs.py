"""`collect: {loadClusterSpecs: true}` through `sbsched run` and `sbsched check`: troubleshoot's own labelled
specs (tests/fixtures/cluster-specs) put into the loopback fake API server, read by the real `kubernetes`
client, merged with the schedule's own."""
from __future__ import annotations

import base64
import copy
import json

import pytest
import yaml

from ..conftest import FIXTURES
from .test_run_cluster import manifest, run, unpack

LABELLED = {path.stem: yaml.safe_load(path.read_text()) for path in (FIXTURES / "cluster-specs").glob("*.yaml")}


def put(kube, obj: dict, *, namespace: str = "default", labels: dict | None = None) -> None:
    """Into the fake cluster as the API server stores it: a Secret's stringData as base64 data."""
    obj = copy.deepcopy(obj)
    obj["metadata"].setdefault("namespace", namespace)
    if labels is not None:
        obj["metadata"]["labels"] = labels
    if "stringData" in obj:
        obj["data"] = {k: base64.b64encode(v.encode()).decode() for k, v in obj.pop("stringData").items()}
    kube.add(obj)


@pytest.fixture
def labelled(kube):
    kube.add({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "labelled-specs"}})
    for obj in LABELLED.values():
        put(kube, obj)
    return kube


def schedule(name: str, extra: str = "") -> str:
    return f"""          - name: {name}
            cron: "@daily"
            collect:
              loadClusterSpecs: true
              collectors: [{{data: {{name: own, data: "the schedule's own REDACT FIRST TEXT PLEASE"}}}}]{extra}"""


def test_labelled_specs_in_secrets_and_configmaps_join_the_schedules_own_collectors_and_redactors(
        cli, write_manifest, labelled, kubeconfig):
    old_label = copy.deepcopy(LABELLED["sb-spec-3"])
    old_label["metadata"]["name"] = "older-label"
    old_label["stringData"]["support-bundle-spec"] = old_label["stringData"]["support-bundle-spec"].replace(
        "echo-hi-3", "echo-hi-io")
    put(labelled, old_label, labels={"troubleshoot.io/kind": "support-bundle"})   # troubleshoot's older label
    unlabelled = copy.deepcopy(old_label)
    unlabelled["metadata"]["name"] = "not-labelled"
    unlabelled["stringData"]["support-bundle-spec"] = unlabelled["stringData"]["support-bundle-spec"].replace(
        "echo-hi-io", "echo-hi-unlabelled")
    put(labelled, unlabelled, labels={"app": "other"})
    record = run(cli, manifest(write_manifest, kubeconfig, schedule("from-cluster")), "from-cluster")
    assert record["status"] == "completed", record.get("error")
    assert record["clusterSpecs"] == {"denied": [], "errors": [], "loaded": [
        "configmap/default/labelled-redactor-spec-3/redactor-spec",
        "configmap/labelled-specs/labelled-support-bundle-4/support-bundle-spec",
        "secret/default/labelled-support-bundle-3/support-bundle-spec",
        "secret/default/older-label/support-bundle-spec",
        "secret/labelled-specs/labelled-redactor-spec-4/redactor-spec"]}
    files = unpack(record)
    assert files["echo-hi-3"] == b"I am labelled-support-bundle-3 ***HIDDEN***"
    assert files["echo-hi-4"] == b"I am labelled-support-bundle-4 ***HIDDEN***"
    assert files["own"] == b"the schedule's own ***HIDDEN***"   # the cluster's redactor masks the own files too
    assert "echo-hi-io" in files and "echo-hi-unlabelled" not in files
    assert record["redaction"]["byRedactor"] == {"redact-text-3": 3, "redact-text-4": 1}
    assert "REDACT SECOND TEXT" not in json.dumps(record)   # specs are named in the record, never copied


def test_a_cluster_wide_refusal_falls_back_to_each_namespace_and_what_stays_refused_is_recorded(
        cli, write_manifest, labelled, kubeconfig):
    labelled.forbid("secrets", namespace="labelled-specs")
    record = run(cli, manifest(write_manifest, kubeconfig, schedule("partly")), "partly")
    assert record["status"] == "completed"
    found = record["clusterSpecs"]
    assert "secret/default/labelled-support-bundle-3/support-bundle-spec" in found["loaded"]
    assert "configmap/labelled-specs/labelled-support-bundle-4/support-bundle-spec" in found["loaded"]
    assert not any(path.startswith("secret/labelled-specs/") for path in found["loaded"])
    assert found["denied"] and all('"secrets"' in message and "labelled-specs" in message
                                   for message in found["denied"])
    assert unpack(record)["echo-hi-4"] == b"I am labelled-support-bundle-4 REDACT SECOND TEXT PLEASE"
    text = cli("run", "partly")
    assert text.code == 0 and f"Cluster specs: {len(found['loaded'])} loaded, {len(found['denied'])} list(s) " \
        "refused, 0 unusable" in text.out


def test_a_cluster_spec_that_does_not_parse_is_recorded_and_the_run_goes_on(
        cli, write_manifest, labelled, kubeconfig):
    broken = copy.deepcopy(LABELLED["sb-spec-4"])
    broken["metadata"]["name"] = "broken"
    broken["data"]["support-bundle-spec"] = "spec: [unclosed"
    put(labelled, broken, namespace="labelled-specs")
    record = run(cli, manifest(write_manifest, kubeconfig, schedule("broken")), "broken")
    assert record["status"] == "completed"
    assert [e for e in record["clusterSpecs"]["errors"] if "configmap/labelled-specs/broken" in e]
    assert "echo-hi-4" in unpack(record)


def test_only_the_schedules_namespaces_are_searched(cli, write_manifest, labelled, kubeconfig):
    record = run(cli, manifest(write_manifest, kubeconfig, schedule("limited", "\n              namespaces: [default]")),
                 "limited")
    assert all(path.split("/")[1] == "default" for path in record["clusterSpecs"]["loaded"])
    assert not any(r.path.startswith("/api/v1/secrets") for r in labelled.requests)   # no cluster-wide list


def test_check_covers_the_lists_loading_cluster_specs_needs(cli, write_manifest, kube, kubeconfig):
    kube.forbid("configmaps")
    path = manifest(write_manifest, kubeconfig, """          - name: specs-only
            cron: "@daily"
            collect: {loadClusterSpecs: true}""")
    assert cli("apply", "-f", str(path)).code == 0
    result = cli("check", "specs-only", "-o", "json")
    assert result.code == 1, result.err
    report = json.loads(result.out)
    assert [(d["collector"], d["verb"], d["resource"], d["namespace"]) for d in report["denied"]] == [
        ("loadClusterSpecs", "list", "configmaps", "")]
    assert {(i["resource"], i["allowed"]) for i in report["items"]} == {("secrets", True), ("configmaps", False)}
