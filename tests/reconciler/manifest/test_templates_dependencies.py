"""Templates merge as defaults < template < schedule; `after:` names schedules of the set, never in a cycle."""
from __future__ import annotations

from reconciler.manifest.normalize import normalize
from reconciler.timing import dependencies


def doc(*schedules, defaults=None, templates=None):
    data = {"apiVersion": "sbsched/v1", "kind": "ScheduleSet", "metadata": {"name": "prod"},
            "defaults": defaults or {}, "schedules": list(schedules)}
    if templates is not None:
        data["templates"] = templates
    return data


def test_a_template_merges_over_defaults_and_under_the_schedules_own_keys():
    data = doc({"name": "a", "cron": "@daily", "template": "deep", "policy": {"retries": 0}, "labels": {"x": "1"}},
               defaults={"timezone": "Europe/Berlin", "policy": {"retries": 5, "timeoutSeconds": 60},
                         "labels": {"team": "t"}},
               templates={"deep": {"policy": {"retries": 3, "timeoutSeconds": 7200}, "labels": {"team": "sre"},
                                   "collect": {"namespaces": ["kube-system"]}}})
    manifest, problems = normalize(data, base_dir="/repo")
    a = manifest.schedules["a"]
    assert problems == []
    assert a["timezone"] == "Europe/Berlin"                       # from defaults only
    assert a["policy"]["timeoutSeconds"] == 7200                  # the template beats defaults
    assert a["policy"]["retries"] == 0                            # the schedule beats the template
    assert a["labels"] == {"team": "sre", "x": "1"}
    assert a["collect"]["namespaces"] == ["kube-system"]
    assert a["template"] == "deep"


def test_an_unknown_template_is_a_problem_at_the_key_with_the_nearest_name():
    data = doc({"name": "a", "cron": "@daily", "template": "deeep"}, templates={"deep": {}, "light": {}})
    _, problems = normalize(data, base_dir="/repo")
    assert problems == [(("schedules", 0, "template"), "unknown template 'deeep' (did you mean 'deep'?)", False)]


def test_an_unknown_template_without_any_templates_says_so():
    _, problems = normalize(doc({"name": "a", "cron": "@daily", "template": "x"}), base_dir="/repo")
    assert problems[0][1] == "unknown template 'x' (the manifest has no `templates:`)"


def test_a_schedule_after_another_needs_no_cron_and_gets_on_success_by_default():
    manifest, problems = normalize(doc({"name": "a", "cron": "@daily"}, {"name": "b", "after": [{"schedule": "a"}]}),
                                   base_dir="/repo")
    assert problems == []
    assert "cron" not in manifest.schedules["b"]
    assert manifest.schedules["b"]["after"] == [{"schedule": "a", "on": "success"}]


def test_a_schedule_without_cron_or_after_is_missing_its_cron():
    _, problems = normalize(doc({"name": "a"}), base_dir="/repo")
    assert problems == [(("schedules", 0), "missing required key 'cron' (or `after:`, to run after another "
                                           "schedule)", False)]


def test_after_an_unknown_schedule_names_the_nearest():
    _, problems = normalize(doc({"name": "nightly", "cron": "@daily"},
                                {"name": "b", "after": [{"schedule": "nightli", "on": "failure"}]}), base_dir="/r")
    assert problems == [(("schedules", 1, "after", 0, "schedule"),
                         "unknown schedule 'nightli' (did you mean 'nightly'?): `after:` names a schedule of this "
                         "manifest", False)]


def test_a_cycle_is_reported_once_with_its_path():
    _, problems = normalize(doc({"name": "a", "cron": "@daily", "after": [{"schedule": "b"}]},
                                {"name": "b", "after": [{"schedule": "c"}]},
                                {"name": "c", "after": [{"schedule": "a"}]}), base_dir="/r")
    assert problems == [(("schedules", 0, "after"), "dependency cycle: a -> b -> c -> a (each runs after the next)",
                         False)]


def test_a_schedule_after_itself_is_a_cycle():
    _, problems = normalize(doc({"name": "a", "cron": "@daily", "after": [{"schedule": "a"}]}), base_dir="/r")
    assert problems[0][1] == "dependency cycle: a -> a (each runs after the next)"


def test_find_cycle_ignores_diamonds_and_finds_a_cycle_behind_one():
    assert dependencies.find_cycle({"d": ["b", "c"], "b": ["a"], "c": ["a"], "a": []}) is None
    assert dependencies.find_cycle({"d": ["b", "c"], "b": ["a"], "c": ["a"], "a": ["x"], "x": ["c"]}) == \
        ["a", "x", "c", "a"]


def test_dependents_follow_the_outcome_they_ask_for():
    specs = {"a": {"cron": "@daily"},
             "ok": {"after": [{"schedule": "a", "on": "success"}]},
             "bad": {"after": [{"schedule": "a", "on": "failure"}]},
             "any": {"after": [{"schedule": "a", "on": "completion"}]},
             "twice": {"after": [{"schedule": "a", "on": "success"}, {"schedule": "a", "on": "completion"}]}}
    following = dependencies.followers(specs)
    assert dependencies.dependents(following, "a", "completed") == ["any", "ok", "twice"]
    assert dependencies.dependents(following, "a", "failed") == ["any", "bad", "twice"]
    assert dependencies.dependents(following, "a", "skipped") == []
    assert dependencies.dependents(following, "ok", "completed") == []


def test_a_dependent_run_id_names_the_run_it_follows_and_stays_short():
    assert dependencies.run_id("b", "a-20260101T0200Z") == "b-after-a-20260101T0200Z"
    long = dependencies.run_id("b" * 52, "c" * 52 + "-after-" + "d" * 150)
    assert len(long) <= dependencies.MAX_ID_LENGTH and long.startswith("b" * 52 + "-after-")
