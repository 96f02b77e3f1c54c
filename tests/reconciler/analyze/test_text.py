"""textAnalyze (regex and regexGroups), yamlCompare and jsonCompare, over files of the k3s fixture bundle
and troubleshoot's own test documents. Expectations from text_analyze_test.go, yaml_compare_test.go and
json_compare_test.go (case names in the comments), else from their analyzers' code."""
from __future__ import annotations

import pytest

from .conftest import brief, outcomes, run

PASS_FAIL = outcomes(("pass", "", "pass"), ("fail", "", "fail"))


# --- textAnalyze: regex -------------------------------------------------------------------------------

@pytest.mark.parametrize("spec, expected", [
    # static-data.txt/static-data holds "This is static data" (the bundle's `data` collector)
    ({"collectorName": "static-data.txt", "fileName": "static-data", "regex": "static data", "outcomes": PASS_FAIL},
     [("pass", "static-data.txt", "pass")]),                  # text_analyze_test.go "success case 1"
    ({"collectorName": "static-data.txt", "fileName": "static-data", "regex": "succeeded", "outcomes": PASS_FAIL},
     [("fail", "static-data.txt", "fail")]),                  # "failure case 1"
    ({"checkName": "Static", "collectorName": "static-data.txt", "fileName": "static-data", "regex": "STATIC",
      "outcomes": PASS_FAIL}, [("fail", "Static", "fail")]),   # "case insensitive failure case 1"
    ({"checkName": "Static", "collectorName": "static-data.txt", "fileName": "static-data", "regex": "(?i)STATIC",
      "outcomes": PASS_FAIL}, [("pass", "Static", "pass")]),   # "case insensitive success case 1"
    ({"collectorName": "static-data.txt", "fileName": "static-data", "regex": "static",
      "outcomes": outcomes(("pass", "false", "pass"), ("fail", "true", "fail"))},
     [("fail", "static-data.txt", "fail")]),                  # "Fail on error case 1": when flips the meaning
    ({"collectorName": "static-data.txt", "fileName": "static-data", "regex": "succe",
      "outcomes": outcomes(("pass", "", "success"), ("warn", "", "warning"))},
     [("warn", "static-data.txt", "warning")]),               # "warn case 1"
    ({"collectorName": "static-data.txt", "fileName": "static-data", "outcomes": PASS_FAIL},
     [("fail", "static-data.txt", "Invalid analyzer")]),      # "success case 2": no regex at all
    # every file a glob matches gives a result ("multiple results case 2 globbing"); run-*/*.log are 3 logs
    ({"checkName": "hello", "fileName": "run-*/*.log", "regex": "hello from run$",
      "outcomes": outcomes(("pass", "", "says hello from run"), ("fail", "", "something else"))},
     [("fail", "hello", "something else"), ("fail", "hello", "something else"), ("pass", "hello", "says hello from run")]),
    ({"checkName": "hello", "fileName": "run-*/*.log", "excludeFiles": ["run-daemonset-example/*", "run-pod-*/*"],
      "regex": "hello", "outcomes": PASS_FAIL},
     [("pass", "hello", "pass")]),                            # "exclude files case 1 globbing"
    # e2e.yaml and sample-supportbundle.yaml: `Said hi!` reads /static-hi.log, which the bundle lacks
    ({"checkName": "Said hi!", "fileName": "/static-hi.log", "regex": "hi static",
      "outcomes": outcomes(("fail", "", "Didn't say hi."), ("pass", "", "Said hi!"))},
     [("warn", "Said hi!", "No matching files")]),
])
def test_regex(fixture_bundle, spec, expected):
    assert sorted(brief(run("textAnalyze", spec, fixture_bundle))) == sorted(expected)


def test_every_matching_outcome_applies_and_the_gravest_wins(bundle):
    # text_analyze_test.go "multiple results with both warn and fail case 1, only fail"
    root = bundle({"text-collector-1/cfile-1.txt": "Yes it all succeeded", "text-collector-1/cfile-2.txt": "no success here"})
    spec = {"collectorName": "text-collector-1", "fileName": "cfile-*", "regex": "succeeded",
            "outcomes": outcomes(("pass", "", "pass"), ("warn", "", "warning"), ("fail", "", "fail"))}
    assert brief(run("textAnalyze", spec, root)) == [("pass", "text-collector-1", "pass"),
                                                      ("fail", "text-collector-1", "fail")]
    # fail first, warn after: still a fail, with the last matching message
    spec["outcomes"] = outcomes(("fail", "", "fail"), ("warn", "", "warning"))
    assert brief(run("textAnalyze", {**spec, "fileName": "cfile-2.txt"}, root)) == [
        ("fail", "text-collector-1", "warning")]


def test_exec_output_is_found_under_namespace_and_pod(bundle):
    # text_analyze_test.go "exec collector auto-path matching for stdout" / "... for stderr"
    root = bundle({"netbox-branch-check/default/netbox-0/netbox-branch-check-stdout.txt": "check: success\n",
                   "my-exec-collector/default/pod/my-exec-collector-stderr.txt": "fatal error\n"})
    spec = {"collectorName": "netbox-branch-check", "fileName": "netbox-branch-check-stdout.txt", "regex": "success",
            "outcomes": outcomes(("pass", "", "Command output found"), ("fail", "", "Command output not found"))}
    assert brief(run("textAnalyze", spec, root)) == [("pass", "netbox-branch-check", "Command output found")]
    spec = {"collectorName": "my-exec-collector", "fileName": "my-exec-collector-stderr.txt", "regex": "error",
            "outcomes": outcomes(("pass", "false", "No errors in stderr"), ("fail", "true", "Error found in stderr"))}
    assert brief(run("textAnalyze", spec, root)) == [("fail", "my-exec-collector", "Error found in stderr")]


def test_no_matching_files(bundle):
    spec = {"collectorName": "text-collector-1", "fileName": "nothing*", "regex": "x", "outcomes": PASS_FAIL}
    assert brief(run("textAnalyze", spec, bundle({}))) == [("warn", "text-collector-1", "No matching files")]
    assert run("textAnalyze", {**spec, "ignoreIfNoFiles": True}, bundle({})) == []   # "IgnoreIfNoFiles"


def test_a_glob_never_leaves_the_bundle(bundle, tmp_path):
    (tmp_path / "outside.txt").write_text("secret")
    spec = {"fileName": "../outside.txt", "regex": "secret", "outcomes": PASS_FAIL}
    assert brief(run("textAnalyze", spec, bundle({}))) == [("warn", "", "No matching files")]


def test_a_bad_regex_fails_the_analyzer(fixture_bundle):
    spec = {"checkName": "bad", "collectorName": "static-data.txt", "fileName": "static-data", "regex": "(unclosed",
            "outcomes": PASS_FAIL}
    [result] = run("textAnalyze", spec, fixture_bundle)
    assert result.error and result.message.startswith("failed to compile regex: (unclosed: ")


# --- textAnalyze: regexGroups ----------------------------------------------------------------------------

@pytest.mark.parametrize("content, spec_outcomes, expected", [
    ("value: 12", outcomes(("pass", "val > 10", "val is greater than 10"), ("fail", "", "val is not greater than 10")),
     ("pass", "val is greater than 10")),                    # "compare group with integer"
    ("value: 2", outcomes(("pass", "val > 10", "val is greater than 10"), ("fail", "", "val is not greater than 10")),
     ("fail", "val is not greater than 10")),                # "compare group with integer (failure)"
    ("value: 7", outcomes(("warn", "val <= 7", "only {{ .val }}"), ("pass", "", "ok")), ("warn", "only 7")),
    ("value: 7", outcomes(("fail", "missing = 1", "no such group"), ("pass", "", "{{ .nothing }}")),
     ("pass", "<no value>")),                                 # Go's text/template on a missing map key
])
def test_regex_groups(bundle, content, spec_outcomes, expected):
    root = bundle({"text-collector-1/cfile-1.txt": content})
    spec = {"collectorName": "text-collector-1", "fileName": "cfile-1.txt", "regexGroups": r"value: (?P<val>\d+)",
            "outcomes": spec_outcomes}
    assert brief(run("textAnalyze", spec, root)) == [(expected[0], "text-collector-1", expected[1])]


LOG_LINE = ('{"level":"WARN","timestamp":"2022-05-17T20:37:41Z","caller":"controller/controller.go:317",'
            '"message":"Reconciler error","context":{"name":"insert-cr-name-here","namespace":"default",'
            '"warning":"mywarning"}}')


def test_regex_group_messages_are_templates(bundle):
    # text_analyze_test.go "Outcome warn message is templated with regex groups"
    root = bundle({"text-collector-templated-regex-message/cfile-1.txt": LOG_LINE})
    spec = {"collectorName": "text-collector-templated-regex-message", "fileName": "cfile-1.txt",
            "regexGroups": r'"name":\s*"(?P<CRName>.*?)".*namespace":\s*"(?P<Namespace>.*?)".*warning":\s*.*'
                           r'"(?P<Error>mywarning.*?)"',
            "outcomes": outcomes(("pass", 'Warning == ""', "No warning found"),
                                 ("warn", "", "Warning for CR with name {{ .CRName }} in namespace {{ .Namespace }}"))}
    [result] = run("textAnalyze", spec, root)
    assert (result.outcome, result.message) == ("warn", "Warning for CR with name insert-cr-name-here in namespace default")
    assert result.icon_uri == "https://troubleshoot.sh/images/analyzer-icons/text-analyze.svg?w=13&h=16"


def test_e2e_replica_count_on_a_bundle_that_has_the_file(bundle):
    # e2e.yaml's `Replica Count` against the `data` collector it configures (config/replicas.txt = "5")
    root = bundle({"config/replicas.txt": "5"})
    spec = {"checkName": "Replica Count", "fileName": "config/replicas.txt", "regexGroups": r"(?P<Replicas>\d+)",
            "outcomes": outcomes(("fail", "Replicas < 5", "That's not enough replicas!"),
                                 ("pass", "", "You have at least 5 replicas"))}
    assert brief(run("textAnalyze", spec, root)) == [("pass", "Replica Count", "You have at least 5 replicas")]
    root = bundle({"config/replicas.txt": "3"})
    assert brief(run("textAnalyze", spec, root)) == [("fail", "Replica Count", "That's not enough replicas!")]


# --- yamlCompare ---------------------------------------------------------------------------------------

HELM = {"collectorName": "cluster-resources/custom-resources/helmcharts.helm.cattle.io", "fileName": "kube-system.yaml"}


@pytest.mark.parametrize("spec, expected", [
    # the k3s bundle's HelmChart custom resources (a YAML list)
    ({**HELM, "path": "[0].kind", "value": "HelmChart", "outcomes": PASS_FAIL}, ("pass", "pass")),   # "basic comparison"
    ({**HELM, "path": "[0].kind", "value": "HelmChart",
      "outcomes": outcomes(("pass", "false", "pass"), ("fail", "true", "fail"))},
     ("fail", "fail")),                                       # "basic comparison, but fail on match"
    ({**HELM, "path": "[0].apiVersion", "value": "helm.cattle.io/v2", "outcomes": PASS_FAIL},
     ("fail", "fail")),                                       # "basic comparison fail"
    ({**HELM, "path": "[0].apiVersion", "value": "helm.cattle.io/v2",
      "outcomes": outcomes(("pass", "false", "pass"), ("fail", "true", "fail"))},
     ("pass", "pass")),                                       # "basic comparison pass when not matching"
    ({**HELM, "path": "[0].kind", "value": "Chart",
      "outcomes": outcomes(("pass", "", "pass"), ("warn", "", "warn"))}, ("warn", "warn")),  # "basic comparison warn"
    ({**HELM, "path": "[0].kind", "value": "HelmChart",                  # Go's text/template: a list has no fields
      "outcomes": outcomes(("pass", "", "kind is {{ .kind }}"))},
     ("fail", "failed to render template on outcome message: can't evaluate field kind in type list")),
])
def test_yaml_compare_on_the_k3s_bundle(fixture_bundle, spec, expected):
    results = run("yamlCompare", spec, fixture_bundle)
    assert brief(results) == [(expected[0], HELM["collectorName"], expected[1])]


YAML_DOC = "foo: bar\nstuff:\n  foo: bar\n  bar: true\nmorestuff:\n- foo:\n    bar: baz\n"


@pytest.mark.parametrize("spec, expected", [   # yaml_compare_test.go's document
    ({"path": "morestuff", "value": "- foo:\n    bar: baz\n", "outcomes": PASS_FAIL}, ("pass", "pass")),  # "... path 1"
    ({"path": "morestuff.[0].foo", "value": "bar: baz", "outcomes": PASS_FAIL}, ("pass", "pass")),      # "... path 2"
    ({"path": "morestuff", "value": "- bar:\n    foo: baz\n", "outcomes": PASS_FAIL}, ("fail", "fail")),  # "path fail 1"
    ({"path": "stuff.bar", "value": "true", "outcomes": PASS_FAIL}, ("pass", "pass")),
    ({"path": "stuff.bar", "value": "1", "outcomes": PASS_FAIL}, ("fail", "fail")),   # a bool is not a number
    ({"value": YAML_DOC, "outcomes": outcomes(("pass", "true", "Status: {{ .stuff.foo }}, Info: {{ .foo }}"))},
     ("pass", "Status: bar, Info: bar")),                     # "basic comparison with outcome message templated"
    ({"path": "foo", "value": "baz", "outcomes": outcomes(("pass", "true", "same"))},
     ("fail", "Invalid analyzer")),                           # yaml_compare.go: no outcome matched
])
def test_yaml_compare(bundle, spec, expected):
    root = bundle({"yaml-compare/doc.yaml": YAML_DOC})
    results = run("yamlCompare", {"collectorName": "yaml-compare", "fileName": "doc.yaml", **spec}, root)
    assert brief(results) == [(expected[0], "yaml-compare", expected[1])]


def test_yaml_compare_reads_yaml_that_redaction_broke(bundle):
    # a bare ***HIDDEN*** value is a YAML alias: troubleshoot's own redaction leaves such files behind
    root = bundle({"cr/secret.yaml": "kind: Thing\nspec:\n  password: ***HIDDEN***\n  replicas: 3\n"})
    spec = {"collectorName": "cr", "fileName": "secret.yaml", "path": "spec.replicas", "value": "3",
            "outcomes": PASS_FAIL}
    assert brief(run("yamlCompare", spec, root)) == [("pass", "cr", "pass")]


@pytest.mark.parametrize("files, message", [
    ({}, "failed to read collected file name: yaml-compare/doc.yaml: yaml-compare/doc.yaml: not found"),
    ({"yaml-compare/doc.yaml": '{ "this: - is-invalid: yaml }'}, "failed to parse collected data as yaml doc: "),
    ({"yaml-compare/doc.yaml": "foo: bar\n"}, "failed to get object at path: foo.bar: input is not a map"),
])
def test_yaml_compare_errors(bundle, files, message):   # yaml_compare_test.go "invalid yaml error"
    spec = {"collectorName": "yaml-compare", "fileName": "doc.yaml", "path": "foo.bar", "value": "x",
            "outcomes": PASS_FAIL}
    [result] = run("yamlCompare", spec, bundle(files))
    assert result.error and result.message.startswith(message)


# --- jsonCompare -----------------------------------------------------------------------------------------

VERSION = {"collectorName": "cluster-info", "fileName": "cluster_version.json"}


@pytest.mark.parametrize("spec, expected", [
    # the k3s bundle's cluster_version.json
    ({**VERSION, "path": "info.major", "value": '"1"', "outcomes": PASS_FAIL}, ("pass", "pass")),
    ({**VERSION, "path": "info.minor", "value": '"30"', "outcomes": PASS_FAIL}, ("fail", "fail")),
    ({**VERSION, "jsonPath": "{$.info.gitVersion}", "value": '"v1.31.2+k3s1"', "outcomes": PASS_FAIL},
     ("pass", "pass")),
    ({**VERSION, "jsonPath": "{.info.platform}", "value": '"linux/arm64"',
      "outcomes": outcomes(("pass", "", "arm"), ("warn", "", "not arm: {{ .info.platform }}"))},
     ("warn", "not arm: linux/amd64")),
])
def test_json_compare_on_the_k3s_bundle(fixture_bundle, spec, expected):
    assert brief(run("jsonCompare", spec, fixture_bundle)) == [(expected[0], "cluster-info", expected[1])]


JSON_DOC = {"foo": "bar", "stuff": {"foo": "bar", "bar": True}, "morestuff": [{"foo": {"bar": 123}}]}


@pytest.mark.parametrize("spec, expected", [   # json_compare_test.go's document
    ({"value": '{"foo": "bar", "stuff": {"foo": "bar", "bar": true}, "morestuff": [{"foo": {"bar": 123}}]}',
      "outcomes": PASS_FAIL}, ("pass", "pass")),                                   # "basic comparison"
    ({"jsonPath": "{$.morestuff[0]}", "value": '{"foo": {"bar": 123}}', "outcomes": PASS_FAIL},
     ("pass", "pass")),                                                            # "jsonpath comparison"
    ({"jsonPath": "{$.morestuff[0].foo.bar}", "value": "123",
      "outcomes": outcomes(("pass", "false", "pass"), ("fail", "true", "fail"))},
     ("fail", "fail")),                                                            # "... but fail on match"
    ({"jsonPath": "{$..bar}", "value": "[true, 123]", "outcomes": PASS_FAIL},
     ("pass", "pass")),                                                            # "... multiple values"
    ({"jsonPath": "{$..bar}", "value": "[123, true]", "outcomes": PASS_FAIL},
     ("pass", "pass")),                                                            # slices compare in any order
    ({"path": "stuff.bar", "value": "1", "outcomes": PASS_FAIL}, ("fail", "fail")),  # true is not 1
    ({"path": "morestuff.[0].foo.bar", "value": "123.0", "outcomes": PASS_FAIL}, ("pass", "pass")),  # JSON numbers
    ({"jsonPath": "{$.nothing}", "value": "[]", "outcomes": PASS_FAIL}, ("pass", "pass")),  # missing keys: no value
])
def test_json_compare(bundle, spec, expected):
    root = bundle({"json-compare/doc.json": JSON_DOC})
    results = run("jsonCompare", {"collectorName": "json-compare", "fileName": "doc.json", **spec}, root)
    assert brief(results) == [(expected[0], "json-compare", expected[1])]


def test_json_compare_default_title_and_errors(bundle):
    root = bundle({"doc.json": "{not json"})
    [result] = run("jsonCompare", {"fileName": "doc.json", "value": "1", "outcomes": PASS_FAIL}, root)
    assert (result.title, result.error) == ("Json Compare", True)
    assert result.message.startswith("failed to parse collected data as json: ")
    [result] = run("jsonCompare", {"fileName": "doc.json", "jsonPath": "{$.a[?(@.x ~ 1)]}", "value": "1",
                                   "outcomes": PASS_FAIL}, bundle({"doc.json": {"a": []}}))
    assert result.message.startswith("failed to get object at path: {$.a[?(@.x ~ 1)]}: unrecognized JSONPath")
