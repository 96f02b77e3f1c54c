"""YAML loading: YAML 1.2 scalars, structural problems collected, hostile input bounded."""
from __future__ import annotations

import tracemalloc
from pathlib import Path

import pytest

from reconciler.base import yamlio
from tests.memory_tools import traced_peak


def test_scalars_follow_yaml_1_2_core_not_1_1():
    doc = yamlio.load("a: [on, off, yes, no, y, true, False, 2026-01-01, 010, 0o17, 0x1f, 1_000, 1.5, .inf, ~, null]")
    assert doc.data == {"a": ["on", "off", "yes", "no", "y", True, False, "2026-01-01", 10, 15, 31, "1_000", 1.5,
                              float("inf"), None, None]}


def test_duplicate_and_non_string_keys_are_problems_not_exceptions():
    doc = yamlio.load("a: 1\na: 2\n3: x\n")
    assert doc.data == {"a": 2, "3": "x"}
    assert doc.problems == [(("a",), "duplicate key 'a'"), (("3",), "mapping keys must be strings, got 3")]


def test_locate_finds_values_keys_and_the_nearest_ancestor():
    doc = yamlio.load("top:\n  items:\n    - {name: x, cron: bad}\n")
    assert yamlio.locate(doc.root, ["top", "items", 0, "cron"]) == (3, 23)
    assert yamlio.locate(doc.root, ["top", "items", 0, "cron"], key=True) == (3, 17)
    assert yamlio.locate(doc.root, ["top", "items", 5, "x"]) == (3, 5)
    assert yamlio.locate(None, ["x"]) == (1, 1)


def test_a_billion_laughs_stops_at_the_node_budget(monkeypatch):
    monkeypatch.setattr(yamlio, "MAX_NODES", 10_000)
    lol = "a: &a [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{chr(98 + i)}: &{chr(98 + i)} [" + ", ".join([f"*{chr(97 + i)}"] * 10) + "]\n" for i in range(6))
    with pytest.raises(yamlio.YamlSyntaxError, match="more than 10,000 nodes"):
        yamlio.load(lol)


def test_deep_nesting_is_refused():
    with pytest.raises(yamlio.YamlSyntaxError, match="nesting deeper than 64"):
        yamlio.load("[" * 100 + "]" * 100)


def test_syntax_errors_carry_a_line_and_column():
    with pytest.raises(yamlio.YamlSyntaxError) as info:
        yamlio.load("a: 1\nb: [1, 2\nc: 3\n")
    assert info.value.line >= 2 and info.value.message.startswith("YAML syntax error: ")


def test_paths_format_like_kubectl():
    assert yamlio.format_path(["schedules", 0, "policy", "timeoutSeconds"]) == "schedules[0].policy.timeoutSeconds"
    assert yamlio.format_path(["labels", "app.kubernetes.io/name"]) == "labels['app.kubernetes.io/name']"


def test_problems_on_keys_and_aliased_nodes_are_placed():
    doc = yamlio.load("a:\n  !!int x: 1\n  b: !!float y\n")
    assert doc.problems == [(("a", "x"), "'x' is not a valid int"), (("a", "b"), "'y' is not a valid float")]


def test_a_manifest_is_read_without_keeping_a_node_tree(tmp_path: Path) -> None:
    """Issue 23: the node tree kept to place diagnostics was ~50x the text (2 GiB for 100,000 schedules);
    a diagnostic's position is now found by parsing again, when there is one to place."""
    block = ('  - name: s-{i:05d}\n    cron: "{m} 9-17 * * 1-5"\n    timezone: Asia/Tokyo\n'
             '    labels: {{team: data, env: dev}}\n    collect:\n      cluster: false\n'
             '      hostCollectors: [{{cpu: {{}}}}, {{memory: {{}}}}]\n    policy: {{timeoutSeconds: 3600, retries: 3}}\n')
    text = "apiVersion: sbsched/v1\nschedules:\n" + "".join(block.format(i=i, m=i % 60) for i in range(2000))
    (tmp_path / "m.yaml").write_text(text)
    setup = "from reconciler.base import yamlio\ntext = open(sys.argv[1]).read()"
    peak = traced_peak(setup, "yamlio.load(text)", str(tmp_path / "m.yaml"))
    doc = yamlio.load(text)
    assert len(doc.data["schedules"]) == 2000 and doc.data["schedules"][7]["cron"] == "7 9-17 * * 1-5"
    assert peak < 10 * len(text), f"{peak / len(text):.1f}x the text"


def test_aliases_expand_to_copies_and_bad_ones_are_syntax_errors():
    doc = yamlio.load("a: &x {k: [1]}\nb: *x\n")
    assert doc.data == {"a": {"k": [1]}, "b": {"k": [1]}} and doc.data["a"] is not doc.data["b"]
    with pytest.raises(yamlio.YamlSyntaxError, match="undefined alias") as info:
        yamlio.load("a: 1\nb: *nope\n")
    assert (info.value.line, info.value.column) == (2, 4)
    with pytest.raises(yamlio.YamlSyntaxError, match="recursive alias"):
        yamlio.load("a: &x [1, *x]\n")
    with pytest.raises(yamlio.YamlSyntaxError, match="single document") as info:
        yamlio.load("a: 1\n---\nb: 2\n")
    assert info.value.line == 2


def test_an_empty_document_and_a_null_one_differ():
    assert yamlio.load("# nothing\n").empty and not yamlio.load("~\n").empty
    assert yamlio.load("~\n").data is None


def test_equal_collections_below_a_depth_are_one_object_and_keep_their_types() -> None:
    data = yamlio.load("a:\n  - {x: {p: 1}, y: {p: 1}, z: {p: true}, w: {p: 1.0}}\n  - {x: {p: 1}}\n",
                       share_below=3).data
    first, second = data["a"]
    assert first["x"] is first["y"] is second["x"]
    assert first["z"] == {"p": True} and first["z"]["p"] is True and first["w"]["p"].__class__ is float
    assert first is not second and first["z"] is not first["x"]
    unshared = yamlio.load("a:\n  - {x: {p: 1}, y: {p: 1}}\n").data["a"][0]
    assert unshared["x"] == unshared["y"] and unshared["x"] is not unshared["y"]


def test_sharing_never_holds_a_large_collection_twice() -> None:
    """A collection is keyed by its repr: a large scalar nested deep would be held once more per level
    (60 levels of a 1 MiB text: 60 MiB), so only small collections are shared."""
    depth, big = 60, "x" * 2**20
    text = "".join(f"{'  ' * i}k{i}:\n" for i in range(depth)) + f"{'  ' * depth}v: {big}\n"
    tracemalloc.start()
    try:
        data = yamlio.load(text, share_below=3).data
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 8 * len(text), f"peaked at {peak / len(text):.1f}x the text"
    assert data["k0"]["k1"]["k2"]["k3"] is not None
