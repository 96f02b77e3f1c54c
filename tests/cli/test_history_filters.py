"""history --status / --since / --limit (and -n / --count, as before)."""
from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest

from reconciler.store import executions


@pytest.fixture
def records(state_dir):
    now = datetime.now(timezone.utc).replace(second=0, microsecond=0)
    made = []
    for hours, status, schedule in [(1, "completed", "a"), (3, "failed", "a"), (5, "skipped", "b"),
                                    (30, "failed", "b"), (200, "completed", "a")]:
        slot = now - timedelta(hours=hours)
        record = executions.new_record(executions.slot_id(schedule, slot), schedule, "s", trigger="schedule",
                                       slot=slot, dispatched=slot, status=status)
        if status != "skipped":
            record["startTime"] = (slot + timedelta(seconds=2)).isoformat()
        executions.write(state_dir, record)
        made.append(record)
    return now, made


def ids(result):
    return [r["id"] for r in json.loads(result.out)["items"]]


def test_status_since_and_limit_filter_and_combine(cli, records):
    now, made = records
    assert ids(cli("history", "--status", "failed", "-o", "json")) == [made[1]["id"], made[3]["id"]]
    assert ids(cli("history", "--since", "6h", "-o", "json")) == [r["id"] for r in made[:3]]
    assert ids(cli("history", "--since", "1d8h", "--status", "failed", "-o", "json")) == [made[1]["id"], made[3]["id"]]
    assert ids(cli("history", "a", "--limit", "1", "-o", "json")) == [made[0]["id"]]
    assert ids(cli("history", "--count", "2", "-o", "json")) == [made[0]["id"], made[1]["id"]]
    assert ids(cli("history", "-n", "1", "-o", "json")) == [made[0]["id"]]
    date = (now - timedelta(days=2)).date().isoformat()
    assert made[4]["id"] not in ids(cli("history", "--since", date, "-o", "json"))
    assert ids(cli("history", "--since", (now - timedelta(hours=4)).isoformat(), "-o", "json")) == \
        [made[0]["id"], made[1]["id"]]


def test_a_bad_since_or_status_is_a_usage_error(cli, records):
    bad = cli("history", "--since", "yesterday")
    assert bad.code == 2 and "expected a duration" in bad.err
    assert cli("history", "--status", "done").code == 2


@pytest.mark.parametrize("text, seconds", [("30m", 1800), ("2h", 7200), ("1h30m", 5400), ("7d", 604800),
                                           ("2w", 1209600), ("90s", 90)])
def test_durations_count_back_from_now(text, seconds):
    now = datetime(2026, 3, 1, 12, tzinfo=timezone.utc)
    assert executions.parse_since(text, now) == now - timedelta(seconds=seconds)
    assert executions.parse_since("2026-02-01", now) == datetime(2026, 2, 1, tzinfo=timezone.utc)
