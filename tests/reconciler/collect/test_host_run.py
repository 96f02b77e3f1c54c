"""run and journald: troubleshoot's run-host / journald files, environments, and commands killed with
their process group at the timeout."""
from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import pytest

from reconciler.collect import CollectContext, CollectorSpec, Output, Skipped
from reconciler.collect.groups import COOKIE_ENV
from reconciler.collect.host import HOST_COLLECTORS
from reconciler.collect.host.journald import journalctl_options

from ...conftest import wait_until
from .test_host_shapes import assert_written, collect, load
from .test_host_system import fake_tool

RUN = "host-collectors/run-host"


def test_run_writes_stdout_info_and_stderr_only_when_there_is_some(tmp_path):
    collect("run", tmp_path, collectorName="uname", command="uname", args=["-s"])
    info = assert_written(tmp_path, "run", f"{RUN}/uname-info.json")
    assert info["command"].endswith("/uname -s") and info["command"].startswith("/")
    assert (info["exitCode"], info["error"], info["outputDir"], info["input"]) == ("0", "", "", "")
    assert info["env"] == []   # the parent's environment is inherited, and not copied into the bundle
    assert (tmp_path / f"{RUN}/uname.txt").read_text() == "Linux\n"
    assert not (tmp_path / f"{RUN}/uname-stderr.txt").exists()


def test_a_failing_command_records_its_exit_code_and_stderr_and_still_succeeds(tmp_path):
    collect("run", tmp_path, command="sh", args=["-c", "echo out; echo oops >&2; exit 3"])
    info = assert_written(tmp_path, "run", f"{RUN}/run-host-info.json")
    assert (info["exitCode"], info["error"]) == ("3", "oops\n")
    assert (tmp_path / f"{RUN}/run-host-stderr.txt").read_text() == "oops\n"
    collect("run", tmp_path, collectorName="killed", command="sh", args=["-c", "kill -TERM $$"])
    assert load(tmp_path, f"{RUN}/killed-info.json")["exitCode"] == "signal: terminated"


def test_input_files_and_output_dir_as_in_troubleshoots_run_and_save_output_spec(tmp_path):
    collect("run", tmp_path, collectorName="my-custom-run", command="sh",
            args=["-c", "cat $TS_INPUT_DIR/dummy.yaml > $TS_OUTPUT_DIR/dummy_content.yaml; mkdir $TS_OUTPUT_DIR/sub; "
                        "echo $AWS_REGION > $TS_OUTPUT_DIR/sub/region"],
            outputDir="myCommandOutputs", env=["AWS_REGION=us-west-1"], input={"dummy.yaml": "username: postgres"})
    info = assert_written(tmp_path, "run", f"{RUN}/my-custom-run-info.json")
    assert info["outputDir"] == "myCommandOutputs"
    assert info["env"][0] == "AWS_REGION=us-west-1"
    assert [e.split("=")[0] for e in info["env"][1:]] == ["TS_OUTPUT_DIR", "TS_INPUT_DIR"]
    saved = tmp_path / f"{RUN}/my-custom-run/myCommandOutputs"
    assert (saved / "dummy_content.yaml").read_text() == "username: postgres"
    assert (saved / "sub/region").read_text() == "us-west-1\n"


def test_inherit_envs_and_ignore_parent_envs_choose_the_childs_environment(tmp_path):
    env = {"PATH": os.environ["PATH"], "PWD": "/", "SECRET": "s3cret", "USER": "me"}
    collect("run", tmp_path, ctx_env=env, collectorName="inherit", command="env", inheritEnvs=["USER"])
    seen = [line for line in (tmp_path / f"{RUN}/inherit.txt").read_text().split()   # and the run's cookie
            if not line.startswith(f"{COOKIE_ENV}=")]                                # (collect/groups.py)
    assert sorted(seen) == sorted(load(tmp_path, f"{RUN}/inherit-info.json")["env"]) == sorted(
        [f"PATH={env['PATH']}", "PWD=/", "USER=me"])
    collect("run", tmp_path, ctx_env=env, collectorName="ignore", command="env", ignoreParentEnvs=True,
            inheritEnvs=["USER"])
    assert "USER=me" not in (tmp_path / f"{RUN}/ignore.txt").read_text()
    collect("run", tmp_path, ctx_env=env, collectorName="all", command="env")
    assert "SECRET=s3cret" in (tmp_path / f"{RUN}/all.txt").read_text()
    assert load(tmp_path, f"{RUN}/all-info.json")["env"] == []
    with pytest.raises(ValueError, match="inherit env variable is not found: NOPE"):
        collect("run", tmp_path, ctx_env=env, command="env", inheritEnvs=["NOPE"])
    with pytest.raises(ValueError, match="missing '='"):
        collect("run", tmp_path, command="env", env=["NOVALUE"])


@pytest.mark.parametrize("params, message", [
    ({}, "no command"),
    ({"command": "definitely-not-a-command-xyz"}, "executable file not found"),
    ({"command": "true", "timeout": "soon"}, 'failed to parse timeout "soon"'),
    ({"command": "true", "input": {"../escape": "x"}}, "Input filename"),
    ({"command": "true", "outputDir": "../up"}, "outputDir"),
    ({"command": "true", "args": "not-a-list"}, "args must be a list"),
])
def test_run_fails_with_a_message_on_bad_params(tmp_path, params, message):
    with pytest.raises((ValueError, FileNotFoundError), match=message):
        collect("run", tmp_path, **params)


def test_a_hanging_command_is_killed_with_its_group_at_its_timeout(tmp_path):
    started = time.monotonic()
    with pytest.raises(TimeoutError, match="timed out after 1s"):
        collect("run", tmp_path, collectorName="hang", command="sh", timeout="1s",
                args=["-c", "sleep 30 & echo $$ $!; exec sleep 30"])
    assert time.monotonic() - started < 2.5
    child, background = map(int, (tmp_path / f"{RUN}/hang.txt").read_text().split())
    info = assert_written(tmp_path, "run", f"{RUN}/hang-info.json")
    assert (info["exitCode"], info["error"]) == ("-1", "command timed out after 1s")
    assert process_state(child) is None, "the child is still there (not killed, or a zombie not reaped)"
    # SIGKILL went to the whole group; the background process (not ours to reap) dies a moment later
    wait_until(lambda: process_state(background) in (None, "Z"), timeout=2, what="the background process to die")


def test_when_the_runner_cancels_the_command_dies_at_once_and_nothing_more_is_written(tmp_path):
    ctx = CollectContext(Output(tmp_path), timeout=60)
    spec = CollectorSpec("run", {"collectorName": "c", "command": "sh", "args": ["-c", "echo $$; exec sleep 30"]},
                         True, "test")
    raised: list[BaseException] = []

    def work() -> None:
        try:
            HOST_COLLECTORS["run"](spec, ctx)
        except BaseException as exc:
            raised.append(exc)

    worker = threading.Thread(target=work)
    worker.start()
    stdout = tmp_path / f"{RUN}/c.txt"
    wait_until(lambda: stdout.exists() and stdout.read_text().strip() != "", what="the command to start")
    cancelled_at = time.monotonic()
    ctx.cancelled.set()
    worker.join(5)
    assert not worker.is_alive() and time.monotonic() - cancelled_at < 0.5
    assert isinstance(raised[0], TimeoutError) and "cancelled" in str(raised[0])
    assert process_state(int(stdout.read_text())) is None
    assert not (tmp_path / f"{RUN}/c-info.json").exists()


def test_journald_runs_journalctl_with_troubleshoots_options(tmp_path):
    env = fake_tool(tmp_path, "journalctl", 'echo "$@"; echo "warning" >&2')
    collect("journald", tmp_path / "out", ctx_env=env, collectorName="kubelet", units=["kubelet"], since="-1h",
            lines=100, reverse=True, output="json", system=True)
    out = tmp_path / "out/host-collectors/journald"
    options = "--system -u kubelet --since -1h --output json -n 100 --reverse --no-pager"
    assert (out / "kubelet.txt").read_text() == options + "\n"
    assert (out / "kubelet-stderr.txt").read_text() == "warning\n"
    info = assert_written(tmp_path / "out", "journald", "host-collectors/journald/kubelet-info.json")
    assert info["command"].endswith("/journalctl " + options)
    assert (info["exitCode"], info["env"]) == ("0", None)
    assert journalctl_options({"dmesg": True, "utc": True, "until": "now"}) == ["--dmesg", "--until", "now", "--utc",
                                                                              "--no-pager"]


def test_journald_needs_a_name_and_journalctl_and_is_killed_at_its_timeout(tmp_path):
    with pytest.raises(ValueError, match="collector name is required"):
        collect("journald", tmp_path)
    with pytest.raises(Skipped, match="journalctl is not installed"):
        collect("journald", tmp_path, ctx_env={"PATH": str(tmp_path)}, collectorName="j")
    env = fake_tool(tmp_path, "journalctl", "echo partial; exec sleep 30")
    started = time.monotonic()
    with pytest.raises(TimeoutError, match="timed out after 500ms"):
        collect("journald", tmp_path / "out", ctx_env=env, collectorName="slow", timeout="500ms")
    assert time.monotonic() - started < 2
    assert (tmp_path / "out/host-collectors/journald/slow.txt").read_text() == "partial\n"
    assert load(tmp_path / "out", "host-collectors/journald/slow-info.json")["exitCode"] == "124"


def process_state(pid: int) -> str | None:
    """The process's state letter (R, S, Z...), None when there is no such process."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return None
    return stat.rsplit(")", 1)[1].split()[0]


def test_a_commands_working_dir_is_in_the_runs_staging_dir_beside_the_bundle_never_in_the_system_temp(tmp_path):
    """A run killed with kill -9 left its command's working dir (its input files, its outputDir) in the
    system temp dir for good: 1,913 of them on this project's machine, from the daemon test's kills. It is
    made in the run's own staging dir, beside the bundle's root (never inside the archive), so that the run
    removes it with the staging dir, and recovery after a kill does too."""
    bundle = tmp_path / ".staging-support-bundle-2026-06-01T13_00_00" / "support-bundle-2026-06-01T13_00_00"
    bundle.mkdir(parents=True)
    collect("run", bundle, collectorName="where", command="sh", args=["-c", "pwd; ls -a $TS_INPUT_DIR"],
            input={"in.txt": "x"})
    cwd, *listed = (bundle / f"{RUN}/where.txt").read_text().split()
    assert Path(cwd).parent == bundle.parent and "in.txt" in listed
    assert sorted(p.name for p in bundle.parent.iterdir()) == [bundle.name]   # removed once the command ended
