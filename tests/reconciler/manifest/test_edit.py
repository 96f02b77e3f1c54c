"""manifest_edit: each verb changes exactly the lines it means to in a commented, hand-formatted manifest
(syrupy snapshots of the diff), and the result still validates."""
from __future__ import annotations

import difflib
import shutil
from pathlib import Path

import pytest

from reconciler.base.errors import NotFound, UsageError
from reconciler.manifest import edit as me
from reconciler.manifest.load import load_manifest_text

FIXTURES = Path(__file__).parents[2] / "fixtures"
HAND = (FIXTURES / "edit" / "hand-formatted.yaml").read_text(encoding="utf-8")


@pytest.fixture
def manifest_path(tmp_path: Path) -> str:
    """Where the edited text is validated as living: next to a copy of the spec files it names."""
    (tmp_path / "specs").mkdir()
    for spec in (FIXTURES / "specs").glob("*.yaml"):
        shutil.copy(spec, tmp_path / "specs" / spec.name)
    return str(tmp_path / "schedules.yaml")


def diff(before: str, after: str) -> str:
    return "".join(difflib.unified_diff(before.splitlines(keepends=True), after.splitlines(keepends=True),
                                        "before", "after", n=1))


def edited(text: str, change) -> str:
    doc = me.parse(text)
    change(doc)
    return me.render(doc)


VERBS = {
    "create": lambda d: me.create(d, "weekly", me.Changes(cron="0 6 * * 1", timezone="UTC",
                                                           namespaces=["payments"], upload="gs://bundles/weekly/")),
    "create-with-specs": lambda d: me.create(d, "host-only", me.Changes(cron="*/30 * * * *",
                                                                         specs=["specs/host-cpu.yaml"])),
    "modify-cron-keeps-quotes-and-comment": lambda d: me.modify(d, "nightly", me.Changes(cron="0 3 * * *")),
    "modify-single-quoted-cron": lambda d: me.modify(d, "weekday-morning", me.Changes(cron="0 7 * * 1-5")),
    "modify-adds-timezone-after-cron": lambda d: me.modify(d, "hourly", me.Changes(timezone="Asia/Tokyo")),
    "modify-replaces-flow-namespaces": lambda d: me.modify(d, "nightly", me.Changes(namespaces=["payments"])),
    "modify-upload-over-null": lambda d: me.modify(d, "weekday-morning", me.Changes(upload="https://x.test/up")),
    "modify-no-upload-writes-null-over-defaults": lambda d: me.modify(d, "hourly", me.Changes(upload="")),
    "modify-empties-namespaces": lambda d: me.modify(d, "nightly", me.Changes(namespaces=[""])),
    "delete-first-takes-its-comment": lambda d: me.delete(d, "nightly"),
    "delete-middle-takes-its-comment": lambda d: me.delete(d, "weekday-morning"),
    "delete-last": lambda d: me.delete(d, "hourly"),
    "disable-flips-suspend": lambda d: me.set_suspended(d, "weekday-morning", True),
    "disable-adds-suspend": lambda d: me.set_suspended(d, "hourly", True),
}


@pytest.mark.parametrize("verb", sorted(VERBS))
def test_each_verb_changes_only_its_lines_and_the_result_validates(verb, snapshot, manifest_path):
    after = edited(HAND, VERBS[verb])
    assert diff(HAND, after) == snapshot
    result = load_manifest_text(after, manifest_path)
    assert result.valid, [d.format() for d in result.diagnostics]


def test_an_unedited_document_renders_byte_identical_even_where_ruamel_would_reformat():
    assert me.render(me.parse(HAND)) == HAND


def test_enable_of_an_enabled_schedule_changes_nothing():
    doc = me.parse(HAND)
    assert me.set_suspended(doc, "weekday-morning", False) is False
    assert me.render(doc) == HAND


TRAP = """\
apiVersion: sbsched/v1
kind: ScheduleSet
metadata: {name: solo}
schedules:
  # the only schedule, with a comment above it
  - name: only
    cron: "0 2 * * *"   # nightly
"""


def test_deleting_the_last_schedule_under_a_comment_writes_valid_yaml(snapshot, manifest_path):
    """design §7: ruamel alone dumps `schedules:\\n  # the only...\\n[]`, which no YAML parser reads."""
    after = edited(TRAP, lambda d: me.delete(d, "only"))
    assert after == snapshot
    assert "schedules: []\n" in after
    assert load_manifest_text(after, manifest_path).valid


def test_deleting_every_schedule_one_by_one_ends_with_an_empty_flow_list(manifest_path):
    text = HAND
    for name in ("weekday-morning", "hourly", "nightly"):
        text = edited(text, lambda d, n=name: me.delete(d, n))
        assert load_manifest_text(text, manifest_path).valid, text
    assert text.rstrip().endswith("schedules: []")


def test_create_in_an_empty_list_and_in_a_new_document_uses_block_style(snapshot):
    after = edited(TRAP, lambda d: (me.delete(d, "only"), me.create(d, "again", me.Changes(cron="@daily"))))
    new = me.new_document("fresh")
    me.create(new, "first", me.Changes(cron="* * * * *", namespaces=["a", "b"]))
    assert {"after-emptied": after, "new": me.render(new)} == snapshot


def test_crlf_line_endings_and_a_byte_order_mark_survive():
    text = "\ufeff" + TRAP.replace("\n", "\r\n")
    after = edited(text, lambda d: me.modify(d, "only", me.Changes(cron="0 3 * * *")))
    assert after == TRAP.replace('"0 2 * * *"', '"0 3 * * *"').replace("\n", "\r\n")


def test_two_space_block_sequences_keep_their_style():
    text = "apiVersion: sbsched/v1\nkind: ScheduleSet\nmetadata:\n  name: x\nschedules:\n- name: a\n  cron: '@daily'\n"
    after = edited(text, lambda d: me.create(d, "b", me.Changes(cron="@hourly")))
    assert after == text + '- name: b\n  cron: "@hourly"\n'


def test_a_new_schedule_is_set_apart_by_a_blank_line_where_the_others_are():
    after = edited(HAND, lambda d: me.create(d, "z", me.Changes(cron="@daily")))
    assert after.endswith("        retention: {keepLast: 3}\n\n    -   name: z\n        cron: \"@daily\"\n")


def test_create_of_an_existing_name_and_edits_of_a_missing_one_are_usage_errors():
    doc = me.parse(HAND)
    with pytest.raises(UsageError, match="already exists"):
        me.create(doc, "nightly", me.Changes(cron="@daily"))
    with pytest.raises(NotFound) as missing:
        me.modify(doc, "nightli", me.Changes(cron="@daily"))
    assert missing.value.hint == "did you mean 'nightly'?"
    with pytest.raises(UsageError, match="nothing to change"):
        me.modify(doc, "nightly", me.Changes())


def test_three_way_takes_ruamels_lines_only_where_the_edit_is():
    original = "a: null\nb: 1\nc:   2\n"
    unedited = "a:\nb: 1\nc: 2\n"
    assert me.three_way(original, unedited, "a:\nb: 5\nc: 2\n") == "a: null\nb: 5\nc:   2\n"
    assert me.three_way(original, unedited, "a:\nb: 1\nc: 3\n") == "a: null\nb: 1\nc: 3\n"
    assert me.three_way("---\n" + original, unedited, "a:\nb: 1\nc: 2\nd: 4\n") == "---\n" + original + "d: 4\n"


@pytest.mark.parametrize("text, expected", [
    ("a:\n  b: 1\nl:\n  - x\n", (2, 4, 2)),
    ("a:\n    b: 1\nl:\n-   x\n", (4, 4, 0)),
    ("a:\n  b: 1\nl:\n- x\n", (2, 2, 0)),
    ("a: 1\n", (2, 4, 2)),
])
def test_indentation_is_read_from_the_file(text, expected):
    assert me.guess_indent(text) == expected
