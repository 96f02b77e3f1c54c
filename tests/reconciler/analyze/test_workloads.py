"""deploymentStatus, statefulsetStatus, jobStatus and replicasetStatus over troubleshoot's pkg/analyze/files
(deployments/, statefulsets/, jobs/, replicasets/ as cluster-resources/<kind>/<namespace>.json). Expectations
from deployment_status_test.go, statefulset_status_test.go, job_status_test.go and replicaset_status_test.go
(case names in the comments), else from their analyzers' code."""
from __future__ import annotations

import pytest

from .conftest import ANALYZE_FILES, brief, outcomes, run


def files(kind: str, *namespaces: str) -> dict[str, object]:
    return {f"cluster-resources/{kind}/{ns}.json": ANALYZE_FILES / kind / f"{ns}.json" for ns in namespaces}


@pytest.fixture
def workloads(bundle):
    return bundle({**files("deployments", "default", "monitoring", "kube-system"),
                   **files("statefulsets", "default", "monitoring"),
                   **files("jobs", "test", "projectcontour"),
                   **files("replicasets", "default", "rook-ceph")})


ABSENT_OR_ONE = outcomes(("fail", "absent", "fail"), ("pass", "= 1", "pass"))


@pytest.mark.parametrize("spec, expected", [
    ({"namespace": "default", "name": "nonexistant-deployment", "outcomes": ABSENT_OR_ONE},
     [("fail", "nonexistant-deployment Status", "fail")]),                           # "1/1, fail when absent"
    ({"namespace": "default", "name": "kotsadm-api",
      "outcomes": outcomes(("fail", "absent", "fail"), ("pass", "= 1", "pass"), ("fail", "", "fail"))},
     [("pass", "kotsadm-api Status", "pass")]),                                      # "1/1, pass when = 1"
    ({"namespace": "default", "name": "kotsadm-api",
      "outcomes": outcomes(("fail", "absent", "fail"), ("pass", "= 2", "pass"), ("fail", "", "fail"))},
     [("fail", "kotsadm-api Status", "fail")]),                                      # "1/1, pass when = 2"
    ({"namespace": "default", "name": "kotsadm-api",
      "outcomes": outcomes(("fail", "absent", "fail"), ("pass", ">= 2", "pass"), ("warn", "= 1", "warn"),
                           ("fail", "", "fail"))},
     [("warn", "kotsadm-api Status", "warn")]),                        # "1/1, pass when >= 2, warn when = 1, fail when 0"
    ({"namespaces": ["default", "monitoring"]},                                       # "multiple namespaces, 2/3"
     [("fail", "default/kotsadm-web Deployment Status", "The deployment default/kotsadm-web has 1/2 replicas"),
      ("fail", "monitoring/prometheus-operator Deployment Status",
       "The deployment monitoring/prometheus-operator has 1/2 replicas")]),
    # common_status.go: a missing deployment fails with a fixed message unless an outcome asks for `absent`
    ({"namespace": "default", "name": "api",
      "outcomes": outcomes(("fail", "< 1", "The API deployment does not have any ready replicas."),
                           ("pass", "", "There are multiple replicas of the API deployment ready."))},
     [("fail", "api Status", 'The deployment "api" was not found')]),
    ({"namespace": "default", "name": "api", "outcomes": outcomes(("pass", "absent", "gone, as wanted"))},
     [("pass", "api Status", "gone, as wanted")]),
    # sbsched: a namespace that was not collected holds no such deployment
    ({"namespace": "elsewhere", "name": "api", "outcomes": ABSENT_OR_ONE}, [("fail", "api Status", "fail")]),
])
def test_deployment_status(workloads, spec, expected):
    results = run("deploymentStatus", spec, workloads)
    assert sorted(brief(results)) == sorted(expected)
    assert all(r.icon_key == "kubernetes_deployment_status" for r in results)


@pytest.mark.parametrize("spec, expected", [
    ({"namespace": "default", "name": "nonexistant", "outcomes": ABSENT_OR_ONE},
     [("fail", "nonexistant Status", "fail")]),                                      # "fail when absent"
    ({}, [("fail", "default/kotsadm-postgres Statefulset Status",                     # "analyze all statefulsets"
           "The statefulset default/kotsadm-postgres has 1/2 replicas"),
          ("fail", "monitoring/alertmanager-prometheus-alertmanager Statefulset Status",
           "The statefulset monitoring/alertmanager-prometheus-alertmanager has 1/2 replicas")]),
    ({"namespaces": ["monitoring"]},                                # "analyze all statefulsets with namespaces"
     [("fail", "monitoring/alertmanager-prometheus-alertmanager Statefulset Status",
       "The statefulset monitoring/alertmanager-prometheus-alertmanager has 1/2 replicas")]),
    ({"namespace": "default", "name": "kotsadm-postgres",
      "outcomes": outcomes(("fail", "< 1", "down"), ("warn", "< 2", "degraded"), ("pass", "", "ok"))},
     [("warn", "kotsadm-postgres Status", "degraded")]),
    ({"namespace": "default", "name": "kotsadm-postgres",
      "outcomes": outcomes(("fail", "< 1", "down"), ("pass", ">= 1", "serving"))},
     [("pass", "kotsadm-postgres Status", "serving")]),
    ({"namespace": "default", "name": "kotsadm-postgres"},          # statefulset_status.go: no outcomes, default check
     [("fail", "default/kotsadm-postgres Statefulset Status", "The statefulset default/kotsadm-postgres has 1/2 replicas")]),
])
def test_statefulset_status(workloads, spec, expected):
    assert sorted(brief(run("statefulsetStatus", spec, workloads))) == sorted(expected)


@pytest.mark.parametrize("spec, expected", [
    ({"namespace": "test", "name": "pre-install-job",
      "outcomes": outcomes(("pass", "succeeded == 1", "pass"), ("fail", "", "fail"))},
     [("pass", "pre-install-job Status", "pass")]),                                  # "1/1, pass when = 1"
    ({"namespace": "test", "name": "pre-install-job",
      "outcomes": outcomes(("fail", "succeeded < 2", "fail"), ("pass", "", "pass"))},
     [("fail", "pre-install-job Status", "fail")]),                                  # "1/1, fail when < 2"
    ({"namespace": "test", "name": "post-install-job",
      "outcomes": outcomes(("pass", "succeeded = 1", "pass"), ("fail", "failed > 0", "fail"),
                           ("fail", "", "default fail"))},
     [("fail", "post-install-job Status", "fail")]),                                 # "1/1, fail when failed > 0"
    ({}, [("fail", "test/post-install-job Job Status", "The job test/post-install-job is not complete"),
          ("fail", "projectcontour/contour-certgen-v1.19.1 Job Status",             # "analyze all jobs"
           "The job projectcontour/contour-certgen-v1.19.1 is not complete")]),
    ({"namespaces": ["projectcontour"]},                                              # "analyze all jobs with namespaces"
     [("fail", "projectcontour/contour-certgen-v1.19.1 Job Status",
       "The job projectcontour/contour-certgen-v1.19.1 is not complete")]),
    ({"namespace": "test", "name": "missing-job", "outcomes": outcomes(("pass", "", "ok"))},   # job_status.go
     [("fail", "missing-job Job Status", 'The job "missing-job" was not found')]),
    ({"namespace": "test", "name": "pre-install-job",
      "outcomes": outcomes(("warn", "failed >= 1", "retried"), ("pass", "succeeded >= 1", "done"))},
     [("pass", "pre-install-job Status", "done")]),
    ({"namespace": "test", "name": "post-install-job",
      "outcomes": outcomes(("warn", "failed >= 1", "retried"), ("pass", "succeeded >= 1", "done"))},
     [("warn", "post-install-job Status", "retried")]),
])
def test_job_status(workloads, spec, expected):
    assert sorted(brief(run("jobStatus", spec, workloads))) == sorted(expected)


@pytest.mark.parametrize("spec, expected", [
    ({"namespace": "rook-ceph", "name": "rook-ceph-mds-rook-shared-fs-b-7895f484f5",
      "outcomes": outcomes(("pass", "ready == 1", "pass"), ("fail", "", "fail"))},
     [("fail", "rook-ceph-mds-rook-shared-fs-b-7895f484f5 Status", "fail")]),        # "fail because 0 ready"
    ({"namespace": "rook-ceph", "selector": ["app=csi-cephfsplugin-provisioner"],
      "outcomes": outcomes(("fail", "available < 2", "fail"), ("pass", "", "pass"))},
     [("fail", "csi-cephfsplugin-provisioner-56d4db5b99 Status", "fail")]),          # "fail because < 2 ready"
    ({}, [("fail", "rook-ceph/rook-ceph-mds-rook-shared-fs-b-7895f484f5 ReplicaSet Status",   # "analyze all"
           "The replicaset rook-ceph/rook-ceph-mds-rook-shared-fs-b-7895f484f5 is not ready"),
          ("fail", "default/kurl-proxy-kotsadm-cf695877c ReplicaSet Status",
           "The replicaset default/kurl-proxy-kotsadm-cf695877c is not ready")]),
    ({"namespaces": ["default"]},                                          # "analyze all replicasets with namespaces"
     [("fail", "default/kurl-proxy-kotsadm-cf695877c ReplicaSet Status",
       "The replicaset default/kurl-proxy-kotsadm-cf695877c is not ready")]),
    ({"namespace": "rook-ceph", "name": "nope", "outcomes": outcomes(("pass", "", "ok"))},     # replicaset_status.go
     [("fail", "nope ReplicaSet Status", 'The replicaset "nope" was not found')]),
    ({"namespace": "rook-ceph", "selector": ["app=csi-cephfsplugin-provisioner"],
      "outcomes": outcomes(("fail", "ready < 1", "none ready"), ("warn", "available = 1", "one available"),
                           ("pass", "", "ok"))},
     [("warn", "csi-cephfsplugin-provisioner-56d4db5b99 Status", "one available")]),
    ({"namespace": "rook-ceph", "selector": ["app=csi-cephfsplugin-provisioner"],
      "outcomes": outcomes(("fail", "ready < 1", "none ready"), ("pass", "available >= 1", "available"))},
     [("pass", "csi-cephfsplugin-provisioner-56d4db5b99 Status", "available")]),
])
def test_replicaset_status(workloads, spec, expected):
    assert sorted(brief(run("replicasetStatus", spec, workloads))) == sorted(expected)


def test_bad_whens_fail_the_analyzer(workloads):
    [result] = run("deploymentStatus", {"namespace": "default", "name": "kotsadm-api",
                                        "outcomes": outcomes(("fail", "<1", "x"))}, workloads)
    assert (result.outcome, result.title, result.message, result.error) == (
        "fail", "default/kotsadm-api Deployment Status",
        "failed to process status: failed to parse fail range: unable to parse when range", True)
    [result] = run("jobStatus", {"namespace": "test", "name": "pre-install-job",
                                 "outcomes": outcomes(("warn", "done == 1", "x"))}, workloads)
    assert result.message == "failed to process status: failed to parse warn range: unknown when value: done"
