"""sbsched in the tools users already have: the pre-commit hook, the GitHub Actions example, shell
completion and the JSON Schema for editors. Each is exercised, not only parsed."""
from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from reconciler.base import yamlio

from .conftest import SBSCHED, run_sbsched

ROOT = Path(__file__).parent.parent
BIN = Path(sys.executable).parent
GOOD = """apiVersion: sbsched/v1
kind: ScheduleSet
metadata: {name: hooks}
schedules:
  - {name: nightly, cron: "0 2 * * *", collect: {cluster: false}}
"""


def hook() -> dict:
    hooks = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())
    assert [h["id"] for h in hooks] == ["sbsched-validate"]
    return hooks[0]


def run_hook(*files: Path) -> subprocess.CompletedProcess[str]:
    """As pre-commit runs a `language: python` hook: its entry from the hook's environment's bin/,
    then the staged file names."""
    entry = shlex.split(hook()["entry"])
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}"}
    return subprocess.run([*entry, *map(str, files)], capture_output=True, text=True, env=env, timeout=60)


def test_the_pre_commit_hook_fails_on_a_bad_manifest(tmp_path):
    bad = tmp_path / "schedules.yaml"
    bad.write_text(GOOD.replace('"0 2 * * *"', '"0 25 * * *"').replace("cluster:", "clustr:"))
    result = run_hook(bad)
    assert result.returncode == 1
    assert f"{bad}:5:" in result.stderr and "cron" in result.stderr and "did you mean 'cluster'" in result.stderr


def test_the_pre_commit_hook_passes_good_manifests_and_checks_each_it_is_given(tmp_path):
    good, other = tmp_path / "a" / "schedules.yaml", tmp_path / "b" / "schedules.yml"
    for path in (good, other):
        path.parent.mkdir()
        path.write_text(GOOD)
    assert run_hook(good, other).returncode == 0
    other.write_text("kind: ScheduleSet\n")
    result = run_hook(good, other)
    assert result.returncode == 1 and f"{good}: valid" in result.stdout and str(other) in result.stderr


def test_the_pre_commit_hook_matches_manifests_only():
    entry = hook()
    assert entry["language"] == "python" and shlex.split(entry["entry"])[:2] == ["sbsched", "validate"]
    pattern = re.compile(entry["files"])
    assert pattern.search("schedules.yaml") and pattern.search("deploy/prod/schedules.yml")
    assert not pattern.search("specs/app.yaml") and not pattern.search("myschedules.yaml")


WORKFLOW = ROOT / "examples" / "github-actions" / "sbsched.yaml"


def workflow() -> dict:
    return yamlio.load(WORKFLOW.read_text()).data   # YAML 1.2, as GitHub reads `on:`


def test_the_github_workflow_is_valid_yaml_with_the_documented_steps():
    flow = workflow()
    assert set(flow["on"]) == {"pull_request"} and flow["on"]["pull_request"]["paths"]
    assert flow["permissions"] == {"contents": "read", "pull-requests": "write"}
    steps = flow["jobs"]["plan"]["steps"]
    names = [step.get("name") for step in steps]
    assert names == ["Check out", "Set up Python", "Install sbsched", "Validate", "Plan against the host's state",
                     "Upload the plan", "Post the plan"]
    assert steps[0]["uses"].startswith("actions/checkout@") and steps[0]["with"]["fetch-depth"] == 0
    assert "sbsched validate" in steps[3]["run"] and re.search(r"\bsbsched .*\bdiff -f", steps[4]["run"])
    assert steps[5]["uses"].startswith("actions/upload-artifact@") and steps[5]["with"]["name"] == "sbsched-plan"
    assert "gh pr comment" in steps[6]["run"] and steps[6]["if"] == "always()"
    documented = (ROOT / "docs" / "ci.md").read_text()
    assert all(f"**{name}**" in documented for name in names)


@pytest.mark.parametrize("mirror", [False, True], ids=["base-branch", "state-mirror"])
def test_the_github_workflows_plan_step_shows_what_the_pull_request_changes(tmp_path, mirror):
    """The plan step's script, run as the runner would (bash -e), in a repository whose pull request changes
    one schedule's cron: the plan names that change, and the step passes. Against a state mirror (the host's
    state, published to a file:// share) it also saves the plan, which the host then applies exactly."""
    steps = {step["name"]: step for step in workflow()["jobs"]["plan"]["steps"]}
    repo = tmp_path / "repo"
    repo.mkdir()
    git = ["git", "-C", str(repo), "-c", "user.email=ci@example.com", "-c", "user.name=ci"]
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    (repo / "schedules.yaml").write_text(GOOD)
    subprocess.run([*git, "add", "-A"], check=True)
    subprocess.run([*git, "commit", "-qm", "base"], check=True)
    base = subprocess.run([*git, "rev-parse", "HEAD"], capture_output=True, text=True, check=True).stdout.strip()
    (repo / "schedules.yaml").write_text(GOOD.replace('"0 2 * * *"', '"0 3 * * *"'))
    subprocess.run([*git, "commit", "-qam", "change"], check=True)
    head = subprocess.run([*git, "rev-parse", "HEAD"], capture_output=True, text=True, check=True).stdout.strip()
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}", "RUNNER_TEMP": str(tmp_path / "runner"),
           "GITHUB_STEP_SUMMARY": str(tmp_path / "summary.md"),
           **{key: value.replace("${{ github.event.pull_request.base.sha }}", base)
              .replace("${{ github.event.pull_request.head.sha }}", head)
              for key, value in {**workflow().get("env", {}), **steps["Plan against the host's state"]["env"]}.items()}}
    env["STATE_MIRROR"] = ""   # the repository variable, unset
    (tmp_path / "runner").mkdir()
    host = {**env, "TROUBLESHOOT_SCHEDULER_DIR": str(tmp_path / "host-state")}
    if mirror:
        (tmp_path / "host-state").mkdir(mode=0o700)
        (tmp_path / "host-state" / "config.yaml").write_text(f"stateMirror: file://{tmp_path / 'share'}/\n")
        subprocess.run([*git, "checkout", "-q", base], check=True)
        assert run_sbsched("apply", "-f", "schedules.yaml", env=host, cwd=repo).code == 0   # what the host runs
        subprocess.run([*git, "checkout", "-q", head], check=True)
        env["STATE_MIRROR"] = f"file://{tmp_path / 'share'}/"
        env["TROUBLESHOOT_SCHEDULER_DIR"] = str(tmp_path / "ci-state")
    for name in ("Validate", "Plan against the host's state"):
        proc = subprocess.run(["bash", "-e", "-c", steps[name]["run"]], cwd=repo, env=env, capture_output=True,
                              text=True, timeout=120)
        assert proc.returncode == 0, proc.stdout + proc.stderr
    plan = (tmp_path / "runner" / "plan.md").read_text()
    assert "~ nightly: update" in plan and "cron: \"0 2 * * *\" -> \"0 3 * * *\"" in plan
    assert "1 to update" in plan
    assert (tmp_path / "runner" / "plan.json").exists() == mirror
    if mirror:
        assert not (tmp_path / "ci-state").exists()
        applied = run_sbsched("apply", str(tmp_path / "runner" / "plan.json"), env=host, cwd=repo)
        assert applied.code == 0 and "1 updated" in applied.out, applied.err


def test_shell_completion_completes_commands_and_choices(tmp_path):
    env = {**os.environ, "_SBSCHED_COMPLETE": "complete_bash", "COMP_WORDS": "sbsched exp", "COMP_CWORD": "1"}
    assert run_sbsched(env=env).out.split() == ["export"]
    env.update(COMP_WORDS="sbsched diff --target ", COMP_CWORD="3")
    assert run_sbsched(env=env).out.split() == ["state", "kubernetes"]
    env = {**os.environ, "HOME": str(tmp_path)}
    shown = run_sbsched("--show-completion", "bash", env=env)
    assert shown.code == 0 and "_SBSCHED_COMPLETE=complete_bash" in shown.out
    installed = run_sbsched("--install-completion", "bash", env=env)
    assert installed.code == 0 and "sbsched" in (tmp_path / ".bashrc").read_text()


MANIFESTS = sorted(p for p in (ROOT / "examples").rglob("*.yaml") if "kind: ScheduleSet" in p.read_text())


@pytest.mark.parametrize("example", MANIFESTS, ids=lambda p: str(p.relative_to(ROOT)))
def test_manifests_point_editors_at_the_schema(example):
    first = example.read_text().splitlines()[0]
    match = re.fullmatch(r"# yaml-language-server: \$schema=(\S+)", first)
    assert match, first
    assert (example.parent / match.group(1)).resolve() == (ROOT / "schemas" / "schedules.schema.json")
