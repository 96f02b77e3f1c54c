"""`sbsched export kubernetes`: pinned by a snapshot, and every object checked offline against the
Kubernetes OpenAPI schema as the `kubernetes` client's models carry it (pydantic models generated from
the API's OpenAPI document: unknown fields, missing required fields and wrong types are refused), plus
the apiserver's own checks on names, labels and ConfigMap keys."""
from __future__ import annotations

import json
import re

import pytest
import yaml

from reconciler.collect import spec as collect_spec
from reconciler.k8s import configmap
from reconciler.k8s.names import label_problem, prune_selector
from reconciler.manifest.load import load_manifest
from reconciler.run.rbac_check import needed_access

MANIFEST = """
# yaml-language-server: $schema=../schemas/schedules.schema.json
apiVersion: sbsched/v1
kind: ScheduleSet
metadata: {name: production}
defaults:
  timezone: Europe/Berlin
  policy: {concurrency: Forbid, timeoutSeconds: 900, retries: 3}
  upload:
    url: s3://bundles/prod/
    credentials: {accessKeyId: {env: AWS_ACCESS_KEY_ID}, secretAccessKey: {env: AWS_SECRET_ACCESS_KEY}}
schedules:
  - name: nightly
    cron: "0 2 * * *"
    labels: {team: payments, "not a label": "x"}
    collect:
      specs: [specs/support-bundle.yaml]
      namespaces: [default, kube-system]
      collectors:
        - clusterResources: {}
        - secret: {name: db, namespace: default, key: password}
        - exec: {name: dns, namespace: kube-system, selector: [k8s-app=kube-dns], command: [cat, /etc/resolv.conf]}
    redact: {redactors: [specs/redactor.yaml]}
    retention: {keepLast: 7, keepFailed: 2}
  - name: hourly
    cron: "@hourly"
    timezone: UTC
    suspend: true
    policy: {concurrency: Replace, startingDeadlineSeconds: 300, retries: 0, jitterSeconds: 30}
    collect:
      collectors: [{clusterInfo: {}}, {configMap: {name: coredns, namespace: kube-system}}]
  - name: host-facts
    cron: "0 3 */2 * mon"
    collect:
      cluster: false
      specs: [specs/host-cpu.yaml]
    upload: {url: "file:///var/tmp/bundles/"}
"""

MODELS = {"ServiceAccount": "V1ServiceAccount", "ClusterRole": "V1ClusterRole",
          "ClusterRoleBinding": "V1ClusterRoleBinding", "Role": "V1Role", "RoleBinding": "V1RoleBinding",
          "ConfigMap": "V1ConfigMap", "CronJob": "V1CronJob"}
DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
CONFIGMAP_KEY = re.compile(r"^[-._a-zA-Z0-9]+$")


@pytest.fixture
def exported(cli, write_manifest):
    path = write_manifest(MANIFEST)
    result = cli("export", "kubernetes", "-f", str(path), "--image", "registry.example/sbsched:0.1.0",
                 "--namespace", "sbsched")
    assert result.code == 0, result.err
    return result, path


def objects(text: str) -> list[dict]:
    return [doc for doc in yaml.safe_load_all(text) if doc is not None]


def test_the_export_is_pinned(exported, snapshot):
    result, _ = exported
    assert result.out == snapshot


def test_the_export_is_the_same_from_another_checkout(cli, exported, write_manifest, tmp_path):
    result, path = exported
    moved = tmp_path / "elsewhere"
    path.parent.rename(moved)
    again = cli("export", "kubernetes", "-f", str(moved / "schedules.yaml"), "--image",
                "registry.example/sbsched:0.1.0", "--namespace", "sbsched")
    assert again.out == result.out


def test_every_object_passes_the_openapi_schema_of_the_kubernetes_client(exported):
    from kubernetes.client import models

    result, _ = exported
    rendered = objects(result.out)
    assert [obj["kind"] for obj in rendered] == ["ServiceAccount", "ClusterRole", "ClusterRoleBinding", "Role",
                                                 "RoleBinding", "Role", "RoleBinding", "Role", "RoleBinding",
                                                 *["ConfigMap", "CronJob"] * 3]
    for obj in rendered:
        model = getattr(models, MODELS[obj["kind"]])
        parsed = model.model_validate(obj)   # strict: extra="forbid", StrictStr/StrictInt/StrictBool
        assert parsed.to_dict(serialize=True)["metadata"]["name"] == obj["metadata"]["name"]
        metadata = obj["metadata"]
        assert DNS_SUBDOMAIN.match(metadata["name"]) and len(metadata["name"]) <= 253
        assert all(label_problem(k, v) is None for k, v in metadata["labels"].items())
        if obj["kind"] == "CronJob":
            assert len(metadata["name"]) <= 52   # the apiserver's limit: Job names add 11 characters
            spec = obj["spec"]
            assert spec["concurrencyPolicy"] in ("Allow", "Forbid", "Replace")
            pod = spec["jobTemplate"]["spec"]["template"]["spec"]
            assert pod["restartPolicy"] in ("Never", "OnFailure")
            assert pod["securityContext"]["runAsNonRoot"] is True
        if obj["kind"] == "ConfigMap":
            assert all(CONFIGMAP_KEY.match(key) for key in obj["data"])
            assert sum(len(k) + len(v.encode()) for k, v in obj["data"].items()) < 1024 * 1024


def test_a_model_check_refuses_what_the_apiserver_would(exported):
    """The check above has teeth: a misspelt field, a wrong type and a missing required field fail it."""
    from kubernetes.client import models
    from pydantic import ValidationError

    result, _ = exported
    cron_job = next(obj for obj in objects(result.out) if obj["kind"] == "CronJob")
    for broken in ({**cron_job, "spec": {**cron_job["spec"], "schedul": "x"}},
                   {**cron_job, "spec": {**cron_job["spec"], "suspend": "yes"}},
                   {**cron_job, "spec": {k: v for k, v in cron_job["spec"].items() if k != "jobTemplate"}}):
        with pytest.raises(ValidationError):
            models.V1CronJob.model_validate(broken)


def test_the_cronjob_carries_the_schedule_and_its_policy(exported):
    result, _ = exported
    by_name = {obj["metadata"]["name"]: obj for obj in objects(result.out) if obj["kind"] == "CronJob"}
    nightly, hourly = by_name["nightly"]["spec"], by_name["hourly"]["spec"]
    assert (nightly["schedule"], nightly["timeZone"], nightly["concurrencyPolicy"], nightly["suspend"]) == \
        ("0 2 * * *", "Europe/Berlin", "Forbid", False)
    assert "startingDeadlineSeconds" not in nightly
    assert (nightly["successfulJobsHistoryLimit"], nightly["failedJobsHistoryLimit"]) == (7, 2)
    assert nightly["jobTemplate"]["spec"]["backoffLimit"] == 3
    assert nightly["jobTemplate"]["spec"]["template"]["spec"]["activeDeadlineSeconds"] == 900 + 300
    assert (hourly["schedule"], hourly["timeZone"], hourly["concurrencyPolicy"], hourly["suspend"],
            hourly["startingDeadlineSeconds"], hourly["jobTemplate"]["spec"]["backoffLimit"]) == \
        ("@hourly", "UTC", "Replace", True, 300, 0)
    labels = by_name["nightly"]["metadata"]["labels"]
    assert labels["team"] == "payments" and "not a label" not in labels
    assert all(f"{k}={v}" in prune_selector("production").split(",") for k, v in labels.items()
               if k in ("app.kubernetes.io/managed-by", "sbsched.dev/set"))


def test_the_warnings_say_what_runs_differently_in_a_pod(exported):
    result, _ = exported
    warnings = result.err.splitlines()
    assert any("sbsched: warning: nightly: label 'not a label' is not put on the objects" in w for w in warnings)
    assert any("hourly: policy.jitterSeconds is not carried over" in w for w in warnings)
    assert any("host-facts: host collectors run in the runner's container" in w for w in warnings)
    assert any("host-facts: upload file:///var/tmp/bundles/ writes inside the pod" in w for w in warnings)
    assert any("host-facts: cron '0 3 */2 * mon'" in w and "'*/'" in w for w in warnings)


def test_the_rbac_grants_exactly_what_the_collectors_need(exported):
    """Each access `sbsched check` derives for the collectors is granted, in its namespace or cluster-wide,
    and nothing else is: the rules, expanded, are the derived accesses plus reading the set's ConfigMaps."""
    result, path = exported
    rendered = objects(result.out)
    granted = set()
    for obj in rendered:
        if obj["kind"] in ("Role", "ClusterRole"):
            where = obj["metadata"].get("namespace", "")
            for rule in obj["rules"]:
                for resource in rule["resources"]:
                    plural, _, sub = resource.partition("/")
                    for verb in rule["verbs"]:
                        for name in rule.get("resourceNames") or [""]:
                            granted.add((verb, rule["apiGroups"][0], plural, where, sub, name))
    manifest = load_manifest(str(path)).manifest
    needed = set()
    for spec in manifest.schedules.values():
        collect = spec["collect"]
        specs = collect_spec.load(collect["specs"], inline_collectors=collect["collectors"],
                                  inline_host_collectors=collect["hostCollectors"])
        for need in needed_access(specs, namespaces=collect["namespaces"], default_namespace="sbsched",
                                  cluster=collect["cluster"]).needs:
            a = need.access
            needed.add((a.verb, a.group, a.resource, a.namespace, a.subresource, a.name))
    own = {("get", "", "configmaps", "sbsched", "", f"sbsched-{name}") for name in manifest.schedules}
    assert granted == needed | own
    assert ("create", "", "pods", "kube-system", "exec", "") in granted      # exec
    assert ("get", "", "secrets", "default", "", "db") in granted            # the secret collector, by name
    assert not any(g[2] == "secrets" and g[3] == "" for g in granted)      # never every secret everywhere
    bindings = [obj for obj in rendered if obj["kind"] in ("RoleBinding", "ClusterRoleBinding")]
    assert all(b["subjects"] == [{"kind": "ServiceAccount", "name": "sbsched-production", "namespace": "sbsched"}]
               for b in bindings)


def test_the_configmap_holds_the_normalized_schedule_and_its_files(exported):
    result, path = exported
    data = next(obj for obj in objects(result.out) if obj["metadata"]["name"] == "sbsched-nightly")["data"]
    assert sorted(data) == ["redactor.yaml", "schedule.json", "support-bundle.yaml"]
    document = json.loads(data["schedule.json"])
    assert document["spec"]["collect"]["specs"] == ["support-bundle.yaml"]
    assert data["support-bundle.yaml"] == (path.parent / "specs" / "support-bundle.yaml").read_text()
    set_name, name, spec, files = configmap.unpack(data, "/pod/files")
    manifest = load_manifest(str(path)).manifest
    expected = json.loads(json.dumps(manifest.schedules["nightly"]))
    expected["collect"]["specs"] = ["/pod/files/support-bundle.yaml"]
    expected["redact"]["redactors"] = ["/pod/files/redactor.yaml"]
    assert (set_name, name, spec) == ("production", "nightly", expected)
    assert files == {"/pod/files/support-bundle.yaml": data["support-bundle.yaml"],
                     "/pod/files/redactor.yaml": data["redactor.yaml"]}


def test_file_keys_are_configmap_keys_and_never_collide():
    keys = configmap.file_keys(["/a/app.yaml", "/b/app.yaml", "/c/schedule.json", "/d/my spec.yaml", "/e/.hidden"])
    assert keys == {"/a/app.yaml": "app.yaml", "/b/app.yaml": "2-app.yaml", "/c/schedule.json": "2-schedule.json",
                    "/d/my spec.yaml": "my_spec.yaml", "/e/.hidden": "hidden"}


@pytest.mark.parametrize("bad", ["../../etc/cron.d/x.yaml", "..", "schedule.json", "missing.yaml"])
def test_a_configmap_cannot_name_files_outside_its_own_keys(exported, bad):
    result, _ = exported
    data = dict(next(obj for obj in objects(result.out) if obj["metadata"]["name"] == "sbsched-nightly")["data"])
    document = json.loads(data["schedule.json"])
    document["spec"]["collect"]["specs"] = [bad]
    data["schedule.json"] = json.dumps(document)
    with pytest.raises(configmap.ConfigMapError):
        configmap.unpack(data, "/pod/files")
