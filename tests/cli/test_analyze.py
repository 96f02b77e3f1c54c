"""sbsched analyze: troubleshoot's analyzers over a bundle from the command line; exit 0 no fail outcome,
1 a fail outcome, 2 an error with one line on stderr."""
from __future__ import annotations

import json
import os

import pytest

from ..conftest import FIXTURES, run_sbsched

BUNDLE = str(FIXTURES / "troubleshoot" / "baseline-k3s-1.31.tar.gz")
SPECS = FIXTURES / "specs" / "support-bundle"


def test_no_spec_runs_troubleshoots_default_analyzer(cli):
    result = cli("analyze", BUNDLE)
    assert result.code == 0, result.err
    assert result.out == ("PASS  Required Kubernetes Version\n"
                          "      Your cluster meets the recommended and required versions of Kubernetes.\n"
                          "\n"
                          "1 pass, 0 warn, 0 fail\n")
    assert result.err == ""


def test_a_passing_spec_exits_0_and_json_is_the_analysis_json_list(cli):
    result = cli("analyze", BUNDLE, "--spec", str(SPECS / "e2e.yaml"), "-o", "json")
    assert result.code == 0, result.err
    analysis = json.loads(result.out)
    assert [(a["severity"], a["insight"]["primary"]) for a in analysis] == [
        ("debug", "Required Kubernetes Version"), ("debug", "Kubernetes Distribution"), ("warn", "Replica Count"),
        ("warn", "Said hi!"), ("debug", "Must be exactly 1 node in the cluster"),
        ("debug", "Must have 1 node with at least 2 cores"),
        ("debug", "Must have 1 node with 2Gi (available) memory and at least 2 cores (on a single node)"),
        ("debug", "There must be exactly 1 node in the cluster"),
        ("debug", "There must be a total of at least 2Gi of memory on all nodes")]
    assert analysis[1] == {
        "name": "kubernetes.distribution",
        "labels": {"desiredPosition": "1", "iconKey": "kubernetes_distribution",
                   "iconUri": "https://troubleshoot.sh/images/analyzer-icons/distribution.svg?w=20&h=14"},
        "insight": {"name": "kubernetes.distribution",
                    "labels": {"iconKey": "kubernetes_distribution",
                               "iconUri": "https://troubleshoot.sh/images/analyzer-icons/distribution.svg?w=20&h=14"},
                    "primary": "Kubernetes Distribution", "detail": "K3S is a supported distribution",
                    "severity": "debug"},
        "severity": "debug", "analyzerSpec": ""}
    assert result.out.startswith('[\n    {\n        "name": "required.kubernetes.version"')   # troubleshoot's indent


def test_a_fail_outcome_exits_1_in_text_and_json(cli):
    specs = ["--spec", str(SPECS / "sample-supportbundle.yaml"), "--spec", str(SPECS / "weave-analyzer.yaml")]
    result = cli("analyze", BUNDLE, *specs)
    assert result.code == 1
    lines = result.out.splitlines()
    assert lines[:4] == ["PASS  Required Kubernetes Version",
                         "      Your cluster meets the recommended and required versions of Kubernetes.",
                         "FAIL  Custom resource definition rook",
                         "      The Rook CRD was not found in the cluster."]
    assert "SKIP  weaveReport" in lines
    assert lines[-1] == "3 pass, 2 warn, 5 fail, 1 skipped"
    as_json = cli("analyze", BUNDLE, *specs, "-o", "json")
    assert as_json.code == 1
    entries = json.loads(as_json.out)
    assert [e["error"] for e in entries if e["severity"] == "error"] == [
        "The Rook CRD was not found in the cluster.", "The microk8s storage class thing was not found",
        "This application requires at least 3 nodes", "The ingress isn't ingressing",
        'The deployment "api" was not found']
    assert entries[-1]["severity"] == "info" and entries[-1]["insight"]["primary"] == "weaveReport"


def test_an_unpacked_bundle_directory_works_too(cli, fixture_dir):
    result = cli("analyze", str(fixture_dir), "--spec", str(SPECS / "sample-analyzers.yaml"))
    assert result.code == 1
    assert result.out.splitlines()[:2] == ["FAIL  Kubernetes Distribution",
                                           "      this should fail on anything other than openshift"]


@pytest.fixture
def fixture_dir(tmp_path):
    import tarfile

    with tarfile.open(BUNDLE, "r:gz") as tar:
        tar.extractall(tmp_path, filter="data")
    return tmp_path / "supportbundle"


@pytest.mark.parametrize("args, message", [
    (["/no/such/bundle.tar.gz"], "sbsched: error: bundle not found: /no/such/bundle.tar.gz\n"),
    ([str(SPECS / "e2e.yaml")], f"sbsched: error: {SPECS / 'e2e.yaml'} is not a .tar.gz bundle (not a gzip file)\n"),
    ([BUNDLE, "--spec", "/no/such/spec.yaml"], "sbsched: error: spec file not found: /no/such/spec.yaml\n"),
])
def test_bad_inputs_are_one_line_and_exit_2(cli, args, message):
    result = cli("analyze", *args)
    assert (result.code, result.out, result.err) == (2, "", message)


def test_a_spec_that_is_not_yaml_is_one_line_and_exit_2(cli, tmp_path):
    spec = tmp_path / "spec.yaml"
    spec.write_text("apiVersion: troubleshoot.sh/v1beta2\nkind: [SupportBundle\n")
    result = cli("analyze", BUNDLE, "--spec", str(spec))
    assert result.code == 2 and result.out == ""
    assert result.err.startswith(f"sbsched: error: spec {spec}:3:1 is not valid YAML: ")
    assert result.err.count("\n") == 1


def test_a_spec_without_analyzers_kinds_is_exit_2(cli, tmp_path):
    spec = tmp_path / "redactor.yaml"
    spec.write_text("apiVersion: troubleshoot.sh/v1beta2\nkind: Redactor\nspec: {}\n")
    result = cli("analyze", BUNDLE, "--spec", str(spec))
    assert result.code == 2
    assert result.err == (f"sbsched: error: spec {spec} holds no SupportBundle, Analyzer, Preflight or HostPreflight "
                          "(found Redactor)\n")


def test_the_installed_command(tmp_path):
    env = {**os.environ, "NO_COLOR": "1"}
    result = run_sbsched("analyze", BUNDLE, "--spec", str(SPECS / "sample-supportbundle.yaml"), "-o", "json", env=env)
    assert result.code == 1, result.err
    assert len(json.loads(result.out)) == 10
    missing = run_sbsched("analyze", str(tmp_path / "missing.tar.gz"), env=env)
    assert (missing.code, missing.out) == (2, "")
    assert missing.err == f"sbsched: error: bundle not found: {tmp_path / 'missing.tar.gz'}\n"
