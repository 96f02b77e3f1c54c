"""Property tests: random and mutated manifests never crash validate / diff / apply, never get an
exit code outside the contract, and never leave a state that is corrupt or changed by a failure."""
from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cli.main import run

EXAMPLE = (Path(__file__).parent / "fixtures" / "manifests" / "example.yaml").read_text()

scalars = st.one_of(st.none(), st.booleans(), st.integers(-5, 10**6), st.text(max_size=12),
                    st.sampled_from(["0 2 * * *", "@daily", "61 * * * *", "UTC", "Europe/Berlin", "Forbid",
                                     "s3://b/p/", "file:///tmp/x/", "", "a" * 60, "0 0 31 2 *", "*/5 * * * 1-5"]))
keys = st.sampled_from(["name", "cron", "timezone", "suspend", "labels", "collect", "redact", "analyze", "upload",
                        "policy", "retention", "notify", "concurrency", "retries", "url", "specs", "enabled",
                        "timeoutSeconds", "keepLast", "webhook", "on", "bogus", "timezon"])
values = st.recursive(scalars, lambda inner: st.one_of(st.lists(inner, max_size=3),
                                                       st.dictionaries(keys, inner, max_size=4)), max_leaves=12)
schedule = st.fixed_dictionaries(
    {"name": st.one_of(st.sampled_from(["a", "b", "nightly", "Bad_Name", ""]), st.text(max_size=8)),
     "cron": st.one_of(st.sampled_from(["0 2 * * *", "@hourly", "0 0 1,15 * 5", "bad", "* * *"]), scalars)},
    optional={k: values for k in ["timezone", "suspend", "labels", "collect", "policy", "retention", "upload",
                                  "notify", "bogus"]})
manifests = st.fixed_dictionaries(
    {"apiVersion": st.sampled_from(["sbsched/v1", "sbsched/v1", "v2"]),
     "kind": st.sampled_from(["ScheduleSet", "ScheduleSet", "CronJob"]),
     "metadata": st.one_of(st.just({"name": "prop"}), st.just({"name": "other"}), values),
     "schedules": st.one_of(st.lists(schedule, max_size=4), scalars)},
    optional={"defaults": values, "extra": values})


def _check_invariants(manifest_text: str, capsys) -> None:
    with tempfile.TemporaryDirectory() as work:
        state_dir = Path(work) / "state"
        os.environ["TROUBLESHOOT_SCHEDULER_DIR"] = str(state_dir)
        path = Path(work) / "m.yaml"
        path.write_text(manifest_text, encoding="utf-8")
        codes = {}
        for command, allowed in (("validate", {0, 1}), ("diff", {0, 1, 2}), ("apply", {0, 2}), ("diff", {0, 1, 2})):
            before = (state_dir / "state.json").read_bytes() if (state_dir / "state.json").exists() else None
            capsys.readouterr()
            code = run([command, "-f", str(path)])
            err = capsys.readouterr().err
            assert code in allowed, (command, code, err)
            assert "internal error" not in err and "Traceback" not in err, err
            codes.setdefault(command, code)
            if (state_dir / "state.json").exists():
                state = json.loads((state_dir / "state.json").read_text())
                assert isinstance(state["schedules"], dict)
            if command == "apply" and code != 0:
                after = (state_dir / "state.json").read_bytes() if (state_dir / "state.json").exists() else None
                assert after == before
        if codes["validate"] == 1:
            assert codes["diff"] == 2 and codes["apply"] == 2
        else:
            assert codes["apply"] == 0 or codes["diff"] == 2


SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])


@SETTINGS
@given(manifest=manifests)
def test_random_manifests_get_only_contract_exit_codes(manifest, capsys):
    _check_invariants(yaml.safe_dump(manifest, sort_keys=False), capsys)


@SETTINGS
@given(edits=st.lists(st.tuples(st.integers(0, len(EXAMPLE)), st.integers(0, 8),
                          st.sampled_from(["", " ", "\n", ":", "- ", "{", "]", "'", "&a", "*a", "\t", "#", "é", "!!"])),
                min_size=1, max_size=4))
def test_mutated_manifests_get_only_contract_exit_codes(edits, capsys):
    text = EXAMPLE
    for position, length, insert in edits:
        text = text[:position] + insert + text[position + length:]
    _check_invariants(text, capsys)
