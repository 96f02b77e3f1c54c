"""The export's use case without the command line: namespace, literal secrets named, objects rendered."""
from __future__ import annotations

from pathlib import Path

import pytest

from reconciler.base.errors import LiteralSecrets, UsageError
from reconciler.k8s.export import export_set, require_namespace
from reconciler.manifest.normalize import ScheduleSet
from tests.reconciler.manifests import loaded


def _set(tmp_path: Path) -> ScheduleSet:
    return loaded(tmp_path, "apiVersion: sbsched/v1\nkind: ScheduleSet\nmetadata: {name: prod}\nschedules:\n"
                  "  - name: nightly\n    cron: '0 2 * * *'\n    collect: {cluster: false}\n"
                  "    upload: {url: 'https://127.0.0.1:9/up?X-Amz-Signature=abc'}\n")


def test_a_literal_secret_is_named_then_refused_unless_allowed(tmp_path: Path) -> None:
    desired, named = _set(tmp_path), []
    with pytest.raises(LiteralSecrets, match="1 secret"):
        export_set(desired, namespace="ops", on_literal=named.append)
    assert len(named) == 1 and "nightly" in named[0]
    exported = export_set(desired, namespace="ops", image="sbsched:test", allow_literal_secrets=True)
    kinds = {obj["kind"] for obj in exported.objects}
    assert {"CronJob", "ConfigMap", "ServiceAccount"} <= kinds
    assert all(obj["metadata"].get("namespace") in ("ops", None) for obj in exported.objects)


def test_a_bad_namespace_is_a_usage_error() -> None:
    require_namespace("ops")
    with pytest.raises(UsageError, match="--namespace 'Not_A_Name'"):
        require_namespace("Not_A_Name")
