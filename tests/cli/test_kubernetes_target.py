"""`apply --target kubernetes` and `diff --target kubernetes` against the fake API server: server-side
apply with field manager sbsched, pruning only what carries the set's labels."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from reconciler.collect.kube.client import ClusterSettings, connect

SCHEDULES = {
    "nightly": """
  - name: nightly
    cron: "0 2 * * *"
    timezone: Europe/Berlin
    collect:
      namespaces: [kube-system]
      collectors: [{clusterInfo: {}}, {clusterResources: {}}]""",
    "hourly": """
  - name: hourly
    cron: "@hourly"
    labels: {team: payments}
    collect:
      collectors: [{logs: {namespace: kube-system, selector: [k8s-app=kube-dns]}}]""",
}


@pytest.fixture
def manifest(write_manifest):
    def write(*names: str) -> Path:
        body = "".join(SCHEDULES[name] for name in names) if names else " []"
        return write_manifest("apiVersion: sbsched/v1\nkind: ScheduleSet\nmetadata: {name: prod}\n"
                              "defaults: {policy: {retries: 1}}\nschedules:" + body + "\n")
    return write


@pytest.fixture
def k8s(cli, kubeconfig):
    def invoke(command: str, path: Path, *extra: str):
        return cli(command, "-f", str(path), "--target", "kubernetes", "--kubeconfig", str(kubeconfig),
                   "--image", "registry.example/sbsched:1", *extra)
    return invoke


def get(kubeconfig: Path, path: str):
    from reconciler.collect.kube.client import ApiError

    try:
        return connect(ClusterSettings(str(kubeconfig))).get(path)
    except ApiError as exc:
        if exc.not_found:
            return None
        raise


def test_apply_then_diff_shows_no_changes(k8s, manifest, kubeconfig, kube):
    path = manifest("nightly", "hourly")
    first = k8s("diff", path, "-o", "json")
    assert first.code == 1, first.err
    plan = json.loads(first.out)
    assert plan["target"] == "kubernetes" and plan["summary"] == {"create": 11, "update": 0, "delete": 0, "no-op": 0}
    applied = k8s("apply", path)
    assert applied.code == 0, applied.err
    assert "Applied set 'prod' to http://127.0.0.1:" in applied.out and "11 created" in applied.out
    again = k8s("diff", path)
    assert (again.code, again.err) == (0, "")
    assert "No changes: set 'prod' is up to date" in again.out and "(11 objects)" in again.out
    cron_job = get(kubeconfig, "/apis/batch/v1/namespaces/default/cronjobs/nightly")
    assert cron_job["spec"]["schedule"] == "0 2 * * *" and cron_job["spec"]["timeZone"] == "Europe/Berlin"
    assert cron_job["spec"]["jobTemplate"]["spec"]["backoffLimit"] == 1
    assert [m["manager"] for m in cron_job["metadata"]["managedFields"]] == ["sbsched"]
    patches = [r for r in kube.requests if r.method == "PATCH"]
    assert patches and all(r.query["fieldManager"] == ["sbsched"] and r.query["force"] == ["true"] for r in patches)
    # a second apply changes nothing, and sends no apply that is not a dry run
    count = len(kube.requests)
    assert k8s("apply", path).code == 0
    assert all(r.query.get("dryRun") == ["All"] for r in kube.requests[count:] if r.method == "PATCH")


def test_a_changed_schedule_is_an_update_field_by_field(k8s, manifest, write_manifest):
    path = manifest("nightly")
    assert k8s("apply", path).code == 0
    path.write_text(path.read_text().replace('"0 2 * * *"', '"30 3 * * *"'))
    result = k8s("diff", path)
    assert result.code == 1, result.err
    assert "~ CronJob default/nightly: update" in result.out
    assert '    spec.schedule: "0 2 * * *" -> "30 3 * * *"' in result.out
    assert "~ ConfigMap default/sbsched-nightly: update" in result.out
    assert '-    "cron": "0 2 * * *",' in result.out and '+    "cron": "30 3 * * *",' in result.out
    assert "2 to update, 0 to delete" in result.out


def test_removing_a_schedule_prunes_exactly_its_cronjob_and_configmap(k8s, manifest, kubeconfig):
    assert k8s("apply", manifest("nightly", "hourly")).code == 0
    path = manifest("nightly")
    plan = json.loads(k8s("diff", path, "-o", "json").out)
    deleted = [(c["kind"], c["name"]) for c in plan["changes"] if c["action"] == "delete"]
    assert deleted == [("CronJob", "hourly"), ("ConfigMap", "sbsched-hourly")]
    updated = [(c["kind"], c["namespace"]) for c in plan["changes"] if c["action"] == "update"]
    assert updated == [("Role", "default")]   # it no longer grants reading the pruned ConfigMap
    assert k8s("apply", path).code == 0
    assert get(kubeconfig, "/apis/batch/v1/namespaces/default/cronjobs/hourly") is None
    assert get(kubeconfig, "/api/v1/namespaces/default/configmaps/sbsched-hourly") is None
    assert get(kubeconfig, "/apis/batch/v1/namespaces/default/cronjobs/nightly") is not None
    assert k8s("diff", path).code == 0


def test_objects_without_our_labels_are_never_touched(k8s, manifest, kube, kubeconfig):
    foreign = kube.add({"apiVersion": "v1", "kind": "ConfigMap",
                        "metadata": {"name": "sbsched-old", "namespace": "default",
                                     "labels": {"app.kubernetes.io/managed-by": "sbsched"}}, "data": {"a": "b"}})
    other_set = kube.add({"apiVersion": "batch/v1", "kind": "CronJob",
                          "metadata": {"name": "old", "namespace": "default",
                                       "labels": {"app.kubernetes.io/managed-by": "sbsched",
                                                  "sbsched.dev/set": "staging"}},
                          "spec": {"schedule": "@daily", "jobTemplate": {"spec": {"template": {"spec": {}}}}}})
    assert k8s("apply", manifest("nightly")).code == 0
    assert k8s("apply", manifest()).code == 2   # an empty set needs --allow-empty, as on the state
    emptied = k8s("apply", manifest(), "--allow-empty")
    assert emptied.code == 0 and "0 updated, 8 deleted, 1 unchanged" in emptied.out
    for path, obj in (("/api/v1/namespaces/default/configmaps/sbsched-old", foreign),
                      ("/apis/batch/v1/namespaces/default/cronjobs/old", other_set)):
        live = get(kubeconfig, path)
        assert live["metadata"]["resourceVersion"] == obj["metadata"]["resourceVersion"]
    assert not [r for r in kube.requests if r.method in ("PATCH", "DELETE") and r.path.endswith(("/sbsched-old", "/old"))]


def test_a_name_taken_by_an_object_we_do_not_own_is_a_conflict(k8s, manifest, kube, kubeconfig):
    mine = kube.add({"apiVersion": "batch/v1", "kind": "CronJob",
                     "metadata": {"name": "nightly", "namespace": "default", "labels": {"team": "ops"}},
                     "spec": {"schedule": "@daily", "jobTemplate": {"spec": {"template": {"spec": {}}}}}})
    result = k8s("apply", manifest("nightly"))
    assert result.code == 2
    assert "CronJob default/nightly exists and is not managed by sbsched" in result.err
    assert not [r for r in kube.requests if r.method == "PATCH" and r.query.get("dryRun") != ["All"]]
    live = get(kubeconfig, "/apis/batch/v1/namespaces/default/cronjobs/nightly")
    assert live["metadata"]["resourceVersion"] == mine["metadata"]["resourceVersion"]


def test_a_dry_run_apply_plans_and_changes_nothing(k8s, manifest, kube, kubeconfig):
    result = k8s("apply", manifest("hourly"), "--dry-run", "-o", "json")
    assert result.code == 0 and json.loads(result.out)["summary"]["create"] == 7
    assert not [r for r in kube.requests if r.method in ("PATCH", "DELETE", "POST")]
    assert get(kubeconfig, "/apis/batch/v1/namespaces/default/cronjobs/hourly") is None


def test_kubernetes_options_need_the_kubernetes_target(cli, manifest):
    result = cli("diff", "-f", str(manifest("nightly")), "--image", "x")
    assert result.code == 2 and "--image: only with --target kubernetes" in result.err


def test_an_unreachable_cluster_is_an_error(cli, manifest, tmp_path):
    from tests.fakes.kubeconfig import unreachable_url, write_kubeconfig

    config = write_kubeconfig(tmp_path / "down", unreachable_url())
    result = cli("diff", "-f", str(manifest("nightly")), "--target", "kubernetes", "--kubeconfig", str(config))
    assert result.code == 2 and "cannot reach the Kubernetes API server" in result.err
