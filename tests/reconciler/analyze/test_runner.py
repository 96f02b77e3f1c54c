"""The fixture specs over the real k3s bundle, analysis.json's shape, and the runner's rules: skipped kinds,
exclusion, failures kept to one analyzer, and safe archive handling."""
from __future__ import annotations

import gzip
import io
import json
import stat
import tarfile
from pathlib import Path

import pytest

from reconciler.analyze import (AnalyzerSpec, BundleError, Result, analysis_json, analyze_archive, analyze_dir,
                                counts, default_analyzers, dumps_analysis, load_analyzers, skipped_count)
from reconciler.analyze import runner

from .conftest import FIXTURE_BUNDLE, SPECS, brief, outcomes, write_bundle

# What the fixture specs say about the k3s v1.31.2 single-node bundle: 4 cores, 15.6Gi of memory, 72.5Gi of
# ephemeral storage, containerd, the local-path default storage class, no rook CRD, no ingress, no `api`
# deployment, and none of the files e2e.yaml's `data`/`runPod` collectors would have written.
K8S_OK = "Your cluster meets the recommended and required versions of Kubernetes."
EXPECTED = {
    "e2e.yaml": [
        ("pass", "Required Kubernetes Version", K8S_OK),
        ("pass", "Kubernetes Distribution", "K3S is a supported distribution"),
        ("warn", "Replica Count", "No matching files"),
        ("warn", "Said hi!", "No matching files"),
        ("pass", "Must be exactly 1 node in the cluster", "This cluster has exactly 1 node"),
        ("pass", "Must have 1 node with at least 2 cores", "This cluster has exactly 1 node with at least 2 cores"),
        ("pass", "Must have 1 node with 2Gi (available) memory and at least 2 cores (on a single node)",
         "This cluster has exactly 1 node with at least 2Gi available memory and 2 cores"),
        ("pass", "There must be exactly 1 node in the cluster", "This has exactly 1 node in the cluster"),
        ("pass", "There must be a total of at least 2Gi of memory on all nodes", "This cluster has sufficient memory"),
    ],
    "sample-supportbundle.yaml": [
        ("pass", "Required Kubernetes Version", K8S_OK),
        ("fail", "Custom resource definition rook", "The Rook CRD was not found in the cluster."),
        ("pass", "Container Runtime", "A supported container runtime was found"),
        ("fail", "Required storage classes", "The microk8s storage class thing was not found"),
        ("fail", "Must have at least 3 nodes in the cluster", "This application requires at least 3 nodes"),
        ("pass", "Total CPU Cores in the cluster is 4 or greater", "There are at least 4 cores in the cluster"),
        ("warn", "Each node must have at least 40 GB of ephemeral storage",
         "Nodes in this cluster are recommended to have at least 100 GB of ephemeral storage."),
        ("fail", "Ingress connect-to-me", "The ingress isn't ingressing"),
        ("fail", "api Status", 'The deployment "api" was not found'),
        ("warn", "Said hi!", "No matching files"),
    ],
    "sample-analyzers.yaml": [
        ("fail", "Kubernetes Distribution", "this should fail on anything other than openshift"),
    ],
    "weave-analyzer.yaml": [
        ("skipped", "weaveReport", "skipped: the analyzer 'weaveReport' is not supported by sbsched"),
    ],
}


@pytest.mark.parametrize("spec", sorted(EXPECTED))
def test_the_fixture_specs_over_the_fixture_bundle(spec):
    results = analyze_archive(FIXTURE_BUNDLE, load_analyzers([str(SPECS / spec)]))
    assert brief(results) == EXPECTED[spec]


def test_the_fixture_specs_on_the_extracted_directory_give_the_same(fixture_bundle):
    specs = load_analyzers([str(SPECS / "e2e.yaml")])
    assert brief(analyze_dir(fixture_bundle, specs)) == EXPECTED["e2e.yaml"]


def test_counts():
    results = analyze_archive(FIXTURE_BUNDLE, load_analyzers([str(SPECS / "sample-supportbundle.yaml"),
                                                               str(SPECS / "weave-analyzer.yaml")]))
    assert counts(results) == {"pass": 3, "warn": 2, "fail": 5}
    assert skipped_count(results) == 1


def test_troubleshoot_default_analyzers():
    # pkg/analyze/download.go getDefaultAnalyzers: what `analyze` runs with no spec
    assert brief(analyze_archive(FIXTURE_BUNDLE, default_analyzers())) == [
        ("pass", "Required Kubernetes Version", K8S_OK)]


def test_analysis_json_is_troubleshoots_on_disk_shape():
    # pkg/convert/supportbundle.go FromAnalyzerResult, key for key and in its order
    results = [
        Result("Required Kubernetes Version", "pass", "fine", icon_key="kubernetes_cluster_version",
               icon_uri="https://troubleshoot.sh/images/analyzer-icons/kubernetes.svg?w=16&h=16"),
        Result("Ingress connect-to-me", "fail", "The ingress isn't ingressing", icon_key="kubernetes_ingress"),
        Result("Disk Usage ", "warn", "80% full"),
        Result("weaveReport", "skipped", "skipped: ..."),
        Result("Event", "none", ""),
    ]
    converted = analysis_json(results)
    assert converted[0] == {
        "name": "required.kubernetes.version",
        "labels": {"desiredPosition": "1", "iconKey": "kubernetes_cluster_version",
                   "iconUri": "https://troubleshoot.sh/images/analyzer-icons/kubernetes.svg?w=16&h=16"},
        "insight": {"name": "required.kubernetes.version",
                    "labels": {"iconKey": "kubernetes_cluster_version",
                               "iconUri": "https://troubleshoot.sh/images/analyzer-icons/kubernetes.svg?w=16&h=16"},
                    "primary": "Required Kubernetes Version", "detail": "fine", "severity": "debug"},
        "severity": "debug", "analyzerSpec": ""}
    assert list(converted[0]) == ["name", "labels", "insight", "severity", "analyzerSpec"]
    assert converted[1]["severity"] == converted[1]["insight"]["severity"] == "error"
    assert converted[1]["error"] == "The ingress isn't ingressing"
    assert converted[1]["name"] == "ingress.connect.to.me"
    assert (converted[2]["name"], converted[2]["severity"]) == ("disk.usage.", "warn")
    assert "error" not in converted[2]
    assert (converted[3]["severity"], converted[3]["insight"]["detail"]) == ("info", "skipped: ...")
    assert converted[4]["severity"] == "" and "severity" not in converted[4]["insight"]


def test_analysis_json_text_is_what_troubleshoot_writes():
    text = dumps_analysis([Result("a&b", "fail", "<x>")])
    assert text.startswith('[\n    {\n        "name": "a.b",')
    assert '"primary": "a\\u0026b"' in text and '"error": "\\u003cx\\u003e"' in text
    assert json.loads(text)[0]["insight"]["detail"] == "<x>"


def test_unsupported_kinds_are_listed_as_skipped(fixture_bundle):
    specs = [AnalyzerSpec("mysql", {"checkName": "DB", "collectorName": "mysql-example"}),
             AnalyzerSpec("clusterVersoin", {}),
             AnalyzerSpec("kernelModules", {}, host=True)]
    assert brief(analyze_dir(fixture_bundle, specs)) == [
        ("skipped", "DB", "skipped: the analyzer 'mysql' is not supported by sbsched"),
        ("skipped", "clusterVersoin", "skipped: the analyzer 'clusterVersoin' is not a troubleshoot analyzer kind"),
        ("skipped", "kernelModules", "skipped: the host analyzer 'kernelModules' is not supported by sbsched")]


def test_excluded_analyzers_are_left_out(fixture_bundle):
    version = {"outcomes": outcomes(("pass", "", "ok"))}
    specs = [AnalyzerSpec("clusterVersion", {**version, "exclude": True}),
             AnalyzerSpec("clusterVersion", {**version, "exclude": "true", "checkName": "string form"}),
             AnalyzerSpec("clusterVersion", {**version, "exclude": "", "checkName": "kept"}),
             AnalyzerSpec("clusterVersion", {**version, "exclude": "maybe", "checkName": "bad exclude"}),
             AnalyzerSpec("cpu", {**version, "exclude": "maybe"}, host=True)]
    assert brief(analyze_dir(fixture_bundle, specs)) == [
        ("pass", "kept", "ok"),
        ("fail", "bad exclude", 'failed to parse bool string: strconv.ParseBool: parsing "maybe": invalid syntax')]


def test_one_failing_analyzer_does_not_stop_the_others(fixture_bundle, monkeypatch):
    def broken(params, bundle):
        raise KeyError("surprise")

    monkeypatch.setitem(runner.CLUSTER, "ingress", runner.Analyzer(runner.CLUSTER["ingress"].title, broken))
    specs = [AnalyzerSpec("ingress", {"ingressName": "web"}), AnalyzerSpec("clusterVersion", {})]
    results = analyze_dir(fixture_bundle, specs)
    assert [(r.outcome, r.title, r.error) for r in results] == [("fail", "Ingress web", True),
                                                                ("none", "Required Kubernetes Version", False)]
    assert results[0].message == "internal error: KeyError: 'surprise'"


def test_results_carry_kind_side_and_strict(fixture_bundle):
    specs = [AnalyzerSpec("clusterVersion", {"strict": True, "outcomes": outcomes(("pass", "", "ok"))}),
             AnalyzerSpec("cpu", {}, host=True)]
    [result] = analyze_dir(fixture_bundle, specs)
    assert (result.kind, result.host, result.strict) == ("clusterVersion", False, True)


def test_host_analyzers_run_after_cluster_analyzers(tmp_path):
    root = write_bundle(tmp_path / "b", {"host-collectors/system/memory.json": {"total": 1}})
    specs = [AnalyzerSpec("memory", {"outcomes": outcomes(("pass", "", "host"))}, host=True),
             AnalyzerSpec("nodeResources", {"outcomes": outcomes(("pass", "", "cluster"))})]
    assert [r.message for r in analyze_dir(root, specs)] == [
        "No node resources were collected, unable to analyze node resources", "host"]


# --- archives ----------------------------------------------------------------------------------------

def make_archive(path: Path, members: list[tuple[tarfile.TarInfo, bytes | None]]) -> Path:
    with tarfile.open(path, "w:gz") as tar:
        for info, data in members:
            if data is not None:
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
            else:
                tar.addfile(info)
    return path


def file_member(name: str, data: bytes) -> tuple[tarfile.TarInfo, bytes]:
    return tarfile.TarInfo(name), data


VERSION_JSON = json.dumps({"string": "v1.29.0"}).encode()
CHECK = [AnalyzerSpec("clusterVersion", {"outcomes": outcomes(("fail", "< 1.30.0", "old"), ("pass", "", "new"))})]


def test_members_that_would_escape_are_not_extracted(tmp_path, monkeypatch):
    scratch_root = tmp_path / "tmp"
    scratch_root.mkdir()
    monkeypatch.setattr("tempfile.tempdir", str(scratch_root))
    link = tarfile.TarInfo("bundle/cluster-info/link")
    link.type, link.linkname = tarfile.SYMTYPE, "/etc/passwd"
    hard = tarfile.TarInfo("bundle/hard")
    hard.type, hard.linkname = tarfile.LNKTYPE, "bundle/version.yaml"
    archive = make_archive(tmp_path / "evil.tar.gz", [
        file_member("bundle/version.yaml", b"kind: SupportBundle\n"),
        file_member("bundle/cluster-info/cluster_version.json", VERSION_JSON),
        file_member("../escaped.txt", b"x"), file_member("/abs.txt", b"x"),
        file_member("bundle/../../escaped2.txt", b"x"), (link, None), (hard, None)])
    seen: dict[str, object] = {}
    real = runner.analyze_dir

    def spy(root, analyzers):
        seen["mode"] = stat.S_IMODE(root.parent.stat().st_mode)
        seen["files"] = sorted(str(p.relative_to(root.parent)) for p in root.parent.rglob("*"))
        return real(root, analyzers)

    monkeypatch.setattr(runner, "analyze_dir", spy)
    assert brief(analyze_archive(archive, CHECK)) == [("fail", "Required Kubernetes Version", "old")]
    assert seen["mode"] == 0o700
    assert seen["files"] == ["bundle", "bundle/cluster-info", "bundle/cluster-info/cluster_version.json",
                             "bundle/version.yaml"]
    assert not (tmp_path / "escaped.txt").exists() and not Path("/abs.txt").exists()
    assert list(scratch_root.iterdir()) == []          # the scratch directory is gone


def test_a_bundle_without_a_top_directory_or_version_file(tmp_path):
    flat = make_archive(tmp_path / "flat.tar.gz", [file_member("cluster-info/cluster_version.json", VERSION_JSON),
                                                   file_member("cluster-resources/nodes.json", b"{}")])
    assert brief(analyze_archive(flat, CHECK)) == [("fail", "Required Kubernetes Version", "old")]


def test_a_directory_is_analyzed_in_place(fixture_bundle):
    assert brief(analyze_archive(fixture_bundle.parent, default_analyzers())) == [
        ("pass", "Required Kubernetes Version", K8S_OK)]


@pytest.mark.parametrize("content, message", [
    (None, "bundle not found: "),
    (b"plain text", "is not a .tar.gz bundle (not a gzip file)"),
    (gzip.compress(b"not a tar"), "is not a .tar.gz bundle"),
    ("truncated", "is damaged"),
    ("empty", "holds no bundle: it is empty"),
])
def test_unreadable_bundles_are_one_line_errors(tmp_path, content, message):
    path = tmp_path / "bundle.tar.gz"
    if content == "truncated":
        whole = make_archive(tmp_path / "whole.tar.gz", [file_member("b/version.yaml", b"x" * 200_000)]).read_bytes()
        path.write_bytes(whole[: len(whole) // 2])
    elif content == "empty":
        make_archive(path, [])
    elif content is not None:
        path.write_bytes(content)
    with pytest.raises(BundleError) as caught:
        analyze_archive(path, CHECK)
    assert message in caught.value.message and "\n" not in caught.value.message
    assert caught.value.exit_code == 2
