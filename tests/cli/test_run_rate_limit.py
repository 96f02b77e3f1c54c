"""`collect.apiRateLimit`: a schedule's client-side rate limit reaches its run's requests (as the fake API
server dates them), and a limit out of range is a placed validation error."""
from __future__ import annotations

import pytest

from .test_run_cluster import manifest, run


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
