"""`sbsched run` on a large cluster (issue 23): a schedule's `collect.apiRateLimit` reaches its run's
requests (as the fake API server dates them), a limit out of range is a placed validation error, and a
list restarted after its continue token expired is said so in the bundle."""
from __future__ import annotations

import json

import pytest

from tests.fakes.kube_api import ClusterSize

from .test_run_cluster import manifest, run, unpack


def test_a_schedules_rate_limit_holds_for_its_runs_requests(cli, write_manifest, kube, kubeconfig):
    qps, burst = 50, 5
    path = manifest(write_manifest, kubeconfig, f"""          - name: polite
            cron: "@daily"
            collect: {{apiRateLimit: {{qps: {qps}, burst: {burst}}}, collectors: [{{clusterResources: {{}}}}]}}""")

    record = run(cli, path, "polite")

    assert record["status"] == "completed"
    times = sorted(r.at for r in kube.received)
    assert len(times) > 3 * burst
    for i, start in enumerate(times):   # any window: at most the burst plus qps per second of it
        for j in range(i, len(times)):
            assert j - i + 1 <= burst + qps * (times[j] - start) + 1
    assert times[-1] - times[0] >= (len(times) - burst) / qps * 0.9


@pytest.mark.parametrize("limit, message", [("{qps: 0}", "schedules[0].collect.apiRateLimit.qps"),
                                            ("{burst: 0.5}", "schedules[0].collect.apiRateLimit.burst"),
                                            ("{qps: 10, rate: 3}", "rate")])
def test_a_rate_limit_out_of_range_is_a_placed_error(cli, write_manifest, kubeconfig, limit, message):
    path = manifest(write_manifest, kubeconfig, f"""          - name: polite
            cron: "@daily"
            collect: {{apiRateLimit: {limit}}}""")

    result = cli("validate", "-f", str(path))

    assert result.code == 1 and "Traceback" not in result.err
    assert message in result.err.splitlines()[0], result.err


def test_a_list_restarted_after_its_continue_token_expired_is_noted_in_the_bundle(cli, write_manifest, kube,
                                                                                  kubeconfig):
    kube.synthesize(ClusterSize(namespaces=2, pods=600, containers=1, log_lines=1, events=2, crds=0,
                                custom_resources=0))
    kube.expire_continue()
    path = manifest(write_manifest, kubeconfig, """          - name: big
            cron: "@daily"
            collect: {collectors: [{clusterResources: {}}]}""")

    record = run(cli, path, "big")

    files = unpack(record)
    assert record["status"] == "completed"
    pods = [json.loads(files[f"cluster-resources/pods/ns-0000{i}.json"])["items"] for i in (0, 1)]
    assert [len(items) for items in pods] == [300, 300]
    [error_file] = [name for name in files if name.startswith("collector-errors/")]
    [note] = json.loads(files[error_file])["warnings"]
    assert "LIST /api/v1/pods: the continue token expired (410 Gone)" in note and "ns-00001/pod-00499" in note
