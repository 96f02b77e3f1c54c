"""ScheduleSpec: a stored spec read once into typed values with the schema's defaults, and back to the same JSON."""
from __future__ import annotations

import json

from reconciler.manifest.model import Limits, Policy, Retention, ScheduleSpec, Upload
from reconciler.manifest.normalize import fill_defaults

STORED = fill_defaults({"cron": "0 2 * * *", "timezone": "Europe/Berlin",
                        "upload": {"url": "s3://bucket/bundles/", "options": {"region": "eu-central-1"}},
                        "policy": {"timeoutSeconds": 600, "concurrency": "Replace"},
                        "retention": {"keepLast": 5}, "limits": {"maxBundleSizeBytes": 1000},
                        "encrypt": {"ageRecipients": ["age1" + "q" * 58]}})


def test_a_stored_spec_reads_as_typed_values_with_the_schemas_defaults():
    spec = ScheduleSpec.from_json(STORED)
    assert spec.policy == Policy("Replace", None, 600, 2, 30, 0)
    assert spec.retention == Retention(5, 3, 30)
    assert spec.upload == Upload("s3://bucket/bundles/", {"region": "eu-central-1"}, {})
    assert spec.limits == Limits(1000, None)
    assert spec.age_recipients == ("age1" + "q" * 58,)


def test_the_json_form_is_the_stored_spec_byte_for_byte():
    assert json.dumps(ScheduleSpec.from_json(STORED).to_json()) == json.dumps(STORED)


def test_a_spec_stored_before_a_default_existed_gets_it_and_nothing_else_changes():
    older = {k: v for k, v in STORED.items() if k != "retention"}
    older["policy"] = {k: v for k, v in STORED["policy"].items() if k != "jitterSeconds"}
    spec = ScheduleSpec.from_json(older)
    assert spec.to_json() == dict(STORED, retention={"keepLast": 10, "keepFailed": 3, "maxAgeDays": 30})
    assert older["policy"].get("jitterSeconds") is None   # the stored dict is left as it was
    assert Policy.from_json(older["policy"]).jitter_seconds == 0


def test_a_schedule_without_an_upload_url_or_encryption_has_neither():
    spec = ScheduleSpec.from_json({"cron": "0 2 * * *"})
    assert (spec.upload, spec.age_recipients, spec.limits) == (None, (), Limits(None, None))
    assert spec.to_json()["notify"] == [] and spec.to_json()["upload"] is None


def test_a_part_a_hand_edit_broke_fails_only_where_it_is_read_and_the_json_still_shows():
    spec = ScheduleSpec.from_json({"cron": "0 2 * * *", "policy": None})
    assert spec.to_json()["policy"] is None and spec.retention == Retention(10, 3, 30)
