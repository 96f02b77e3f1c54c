"""The fake API server's server-side apply (tests/fakes/kube_api/apply.py), through the real client:
create, merge, ownership in managedFields, removal of fields a manager stops applying, dry runs, and
the refusals a real apiserver gives."""
from __future__ import annotations

import json

import pytest

from reconciler.collect.kube.client import ApiError, ClusterSettings, connect

PATH = "/api/v1/namespaces/default/configmaps/applied"


def configmap(**data: str) -> dict:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "applied", "namespace": "default",
                                                                   "labels": {"app": "x"}}, "data": data}


@pytest.fixture
def api(kube, kubeconfig):
    client = connect(ClusterSettings(str(kubeconfig)))

    def apply(obj: dict, manager: str = "sbsched", dry_run: bool = False, content_type: str = "application/apply-patch+yaml"):
        query = {"fieldManager": manager, "force": True, "dryRun": "All" if dry_run else None}
        with client.request("PATCH", PATH, query, body=obj, content_type=content_type) as response:
            return response.status, json.loads(response.data)

    apply.get = lambda: client.get(PATH)   # type: ignore[attr-defined]
    return apply


def test_apply_creates_then_merges_and_an_unchanged_apply_is_a_no_op(api):
    code, created = api(configmap(a="1", b="2"))
    assert code == 201 and created["data"] == {"a": "1", "b": "2"}
    fields = created["metadata"]["managedFields"]
    assert [(f["manager"], f["operation"]) for f in fields] == [("sbsched", "Apply")]
    assert fields[0]["fieldsV1"] == {"f:data": {"f:a": {}, "f:b": {}}, "f:metadata": {"f:labels": {"f:app": {}}}}
    code, same = api(configmap(a="1", b="2"))
    assert code == 200 and same["metadata"]["resourceVersion"] == created["metadata"]["resourceVersion"]
    code, changed = api(configmap(a="1", b="3"))
    assert changed["data"] == {"a": "1", "b": "3"}
    assert int(changed["metadata"]["resourceVersion"]) > int(created["metadata"]["resourceVersion"])
    assert changed["metadata"]["uid"] == created["metadata"]["uid"]


def test_a_field_the_manager_stops_applying_goes_unless_another_manager_owns_it(api):
    api(configmap(a="1", b="2"))
    api(configmap(c="3"), manager="someone-else")
    code, after = api(configmap(a="1"))
    assert after["data"] == {"a": "1", "c": "3"}


def test_a_dry_run_answers_the_result_and_stores_nothing(api):
    api(configmap(a="1"))
    code, preview = api(configmap(a="2"), dry_run=True)
    assert preview["data"] == {"a": "2"}
    assert api.get()["data"] == {"a": "1"}


def test_the_refusals_of_a_real_apiserver(api, kube):
    with pytest.raises(ApiError) as media:
        api(configmap(a="1"), content_type="application/merge-patch+json")
    assert media.value.status == 415
    with pytest.raises(ApiError) as manager:
        api(configmap(a="1"), manager="")
    assert manager.value.status == 400 and "fieldManager" in manager.value.message
    with pytest.raises(ApiError) as name:
        api({**configmap(), "metadata": {"name": "other"}})
    assert name.value.status == 400 and "does not match the name on the URL" in name.value.message
    kube.forbid("configmaps", "default", verb="patch")
    with pytest.raises(ApiError) as forbidden:
        api(configmap(a="1"))
    assert forbidden.value.status == 403 and 'cannot patch resource "configmaps"' in forbidden.value.message
