"""sbsched changes only what it created (issue 17, "Files"): a --state-dir that is someone's home is
refused, not locked; only the documented names of the state layout are ever tightened, and only by
commands that write; symbolic links in the layout are refused, never written through or deleted
through; an --output-dir keeps its mode; what a run stages and archives is private whatever the umask."""
from __future__ import annotations

import hashlib
import os
import shutil
import stat
import subprocess
import tarfile
from pathlib import Path

import pytest

from ..conftest import SBSCHED, wait_until

MANIFEST = """
    apiVersion: sbsched/v1
    kind: ScheduleSet
    metadata: {name: bounds}
    schedules:
      - name: nightly
        cron: "@daily"
        policy: {retries: 0}
        collect: {cluster: false, hostCollectors: [{hostOS: {}}]}
"""
OLD_BUNDLE = "support-bundle-2020-01-01T00_00_00.tar.gz"   # past every maxAgeDays


def snapshot(root: Path) -> dict[str, tuple[str, int, str]]:
    """Every path under root (root included), links not followed: (type, mode with the sticky bit, content
    hash or link target)."""
    def one(path: Path) -> tuple[str, int, str]:
        info = path.lstat()
        mode = stat.S_IMODE(info.st_mode)
        if stat.S_ISLNK(info.st_mode):
            return "link", mode, os.readlink(path)
        if stat.S_ISDIR(info.st_mode):
            return "dir", mode, ""
        return "file", mode, hashlib.sha256(path.read_bytes()).hexdigest()

    found = {".": one(root)}
    for directory, dirs, files in os.walk(root):
        for name in dirs + files:
            path = Path(directory) / name
            found[str(path.relative_to(root))] = one(path)
    return found


def home_like(path: Path) -> Path:
    """A directory as a user's home or /opt looks: dotfiles, executables, a `logs/` of its own."""
    (path / "bin").mkdir(parents=True)
    (path / "Documents").mkdir()
    (path / "logs").mkdir()
    for name, mode, text in ((".bashrc", 0o644, "alias ll='ls -l'\n"), ("bin/tool", 0o755, "#!/bin/sh\necho hi\n"),
                             ("Documents/notes.txt", 0o664, "mine\n"), ("logs/app.log", 0o644, "started\n")):
        (path / name).write_text(text)
        (path / name).chmod(mode)
    for directory in (path, path / "bin", path / "Documents", path / "logs"):
        directory.chmod(0o755)
    return path


def one_error_line(err: str) -> str:
    lines = err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("sbsched: error: ") and "Traceback" not in err, err
    return lines[0]


COMMANDS = [("list",), ("status", "nightly"), ("history",), ("next", "nightly"), ("diff", "-f", "{m}"),
            ("apply", "-f", "{m}"), ("run", "nightly"), ("cleanup",), ("suspend", "nightly"), ("daemon", "status")]


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c[:1]))
def test_a_directory_with_other_files_and_no_state_is_refused_and_left_as_it_was(cli, write_manifest, tmp_path,
                                                                                   command):
    manifest = write_manifest(MANIFEST)
    home = home_like(tmp_path / "someone")
    before = snapshot(home)
    result = cli("--state-dir", str(home), *(arg.format(m=manifest) for arg in command))
    assert result.code == 2 and result.out == ""
    line = one_error_line(result.err)
    assert f"{home}: not an sbsched state dir (no state.json)" in line and "pass an empty or new directory" in line
    assert snapshot(home) == before


def test_an_empty_directory_is_adopted_private_and_an_empty_shared_one_is_refused(cli, write_manifest, tmp_path):
    manifest = write_manifest(MANIFEST)
    mine = tmp_path / "mine"
    mine.mkdir()
    mine.chmod(0o755)
    assert cli("--state-dir", str(mine), "apply", "-f", str(manifest)).code == 0
    assert stat.S_IMODE(mine.stat().st_mode) == 0o700 and (mine / "state.json").exists()

    shared = tmp_path / "shared"     # an empty /tmp: the sticky bit says it belongs to everyone
    shared.mkdir()
    shared.chmod(0o1777)
    result = cli("--state-dir", str(shared), "apply", "-f", str(manifest))
    assert result.code == 2 and "shared directory" in one_error_line(result.err)
    assert stat.S_IMODE(shared.stat().st_mode) == 0o1777 and list(shared.iterdir()) == []


def foreign_entries(state_dir: Path) -> list[Path]:
    """Files a user keeps in a state dir, each loose, beside the layout and inside its directories."""
    made = []
    for name, mode in (("notes.txt", 0o644), ("tools/sync.sh", 0o755), ("bundles/nightly/README", 0o644),
                       ("executions/archive/old.txt", 0o644), ("logs/other.log", 0o644)):
        path = state_dir / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("not sbsched's\n")
        path.chmod(mode)
        made.append(path)
    (state_dir / "tools").chmod(0o755)
    (state_dir / "executions" / "archive").chmod(0o755)
    return made


def test_a_writing_command_tightens_the_layout_only(cli, write_manifest, state_dir):
    assert cli("apply", "-f", str(write_manifest(MANIFEST))).code == 0
    foreign = foreign_entries(state_dir)
    before = {p: stat.S_IMODE(p.stat().st_mode) for p in foreign + [state_dir / "tools", state_dir / "executions" / "archive"]}
    (state_dir / "state.json").chmod(0o644)
    (state_dir / "bundles" / "nightly").chmod(0o755)
    result = cli("suspend", "nightly")
    assert result.code == 0
    warnings = [line for line in result.err.splitlines() if "warning" in line]
    assert len(warnings) == 1 and "fixed loose permissions" in warnings[0] and "and 3 more" in warnings[0]
    for ours in ("bundles", "bundles/nightly", "executions"):   # made 0755 by foreign_entries
        assert stat.S_IMODE((state_dir / ours).stat().st_mode) == 0o700, ours
    assert stat.S_IMODE((state_dir / "state.json").stat().st_mode) == 0o600
    assert {p: stat.S_IMODE(p.stat().st_mode) for p in before} == before


def test_read_only_commands_report_loose_modes_and_change_nothing(cli, write_manifest, state_dir):
    manifest = write_manifest(MANIFEST)
    assert cli("apply", "-f", str(manifest)).code == 0
    (state_dir / "state.json").chmod(0o644)
    (state_dir / "logs").chmod(0o755)
    before = snapshot(state_dir)
    for command in (("list",), ("status", "nightly"), ("history",), ("diff", "-f", str(manifest)),
                    ("apply", "-f", str(manifest), "--dry-run"), ("cleanup", "--dry-run")):
        result = cli(*command)
        assert result.code == 0, (command, result.err)
        warnings = [line for line in result.err.splitlines() if "warning" in line]
        assert len(warnings) == 1 and "loose permissions" in warnings[0] and "left as they are" in warnings[0], command
        assert snapshot(state_dir) == before, command
    fixed = cli("apply", "-f", str(manifest))
    assert fixed.code == 0 and "fixed loose permissions" in fixed.err
    assert "warning" not in cli("list").err


def outside_target(tmp_path: Path, kind: str) -> Path:
    """What a link in the state dir points at: a directory holding an old bundle (which retention would
    remove) or a world-readable file (which the audit log would be appended to)."""
    target = tmp_path / "outside"
    if kind == "dir":
        target.mkdir()
        (target / OLD_BUNDLE).write_bytes(b"someone else's archive")
        target.chmod(0o755)
    else:
        target.write_text("someone else's file\n")
        target.chmod(0o644)
    return target


LINKS = [("bundles", "dir"), ("bundles/nightly", "dir"), ("executions", "dir"), ("logs", "dir"),
         ("logs/audit.log", "file"), ("state.lock", "file")]


@pytest.mark.parametrize("entry,kind", LINKS, ids=[e for e, _ in LINKS])
@pytest.mark.parametrize("command", [("run", "nightly"), ("cleanup",), ("suspend", "nightly"), ("list",)],
                         ids=lambda c: c[0])
def test_a_symbolic_link_in_the_layout_is_refused_and_never_written_or_deleted_through(
        cli, write_manifest, state_dir, tmp_path, entry, kind, command):
    assert cli("apply", "-f", str(write_manifest(MANIFEST))).code == 0
    (state_dir / "bundles" / "nightly").mkdir(parents=True, exist_ok=True)
    (state_dir / "logs").mkdir(exist_ok=True)
    (state_dir / "logs" / "audit.log").touch()
    target = outside_target(tmp_path, kind)
    link = state_dir / entry
    if link.is_dir():
        shutil.rmtree(link)
    else:
        link.unlink(missing_ok=True)
    link.symlink_to(target)
    before = snapshot(target)
    result = cli(*command)
    assert result.code == 2 and result.out == ""
    line = one_error_line(result.err)
    assert f"{entry} is a symbolic link" in line, line
    assert snapshot(target) == before
    assert link.is_symlink()


def test_an_existing_output_dir_keeps_its_mode_and_missing_ones_are_made_private(cli, write_manifest, tmp_path):
    assert cli("apply", "-f", str(write_manifest(MANIFEST))).code == 0
    shared = tmp_path / "shared"          # as /tmp: world-writable with the sticky bit
    shared.mkdir()
    shared.chmod(0o1777)
    team = tmp_path / "team"
    team.mkdir()
    team.chmod(0o755)
    for directory in (shared, team):
        result = cli("run", "nightly", "--output-dir", str(directory))
        assert result.code == 0, result.err
        assert len(list(directory.glob("support-bundle-*.tar.gz"))) == 1
    assert stat.S_IMODE(shared.stat().st_mode) == 0o1777 and stat.S_IMODE(team.stat().st_mode) == 0o755
    previous = os.umask(0)
    try:
        assert cli("run", "nightly", "--output-dir", str(tmp_path / "new" / "deeper")).code == 0
    finally:
        os.umask(previous)
    for directory in (tmp_path / "new", tmp_path / "new" / "deeper"):
        assert stat.S_IMODE(directory.stat().st_mode) == 0o700, directory


def release(gate: Path, run: subprocess.Popen[str]) -> None:
    """Let the `cat GATE` collector end: write once it has the fifo open (or the run is gone)."""
    def written() -> bool:
        try:
            fd = os.open(gate, os.O_WRONLY | os.O_NONBLOCK)
        except OSError:   # ENXIO: no reader yet
            return run.poll() is not None
        os.write(fd, b"go\n")
        os.close(fd)
        return True

    wait_until(written, timeout=60, what="the collector reading its gate")


def test_under_umask_0_staging_is_private_a_concurrent_list_warns_of_nothing_and_the_archive_is_private(
        cli, write_manifest, state_dir, tmp_path):
    gate = tmp_path / "gate"
    os.mkfifo(gate)
    manifest = write_manifest(MANIFEST.replace(
        "hostCollectors: [{hostOS: {}}]",
        f"hostCollectors: [{{hostOS: {{}}}}, {{run: {{collectorName: wait, command: cat, args: [{gate}]}}}}]"))
    assert cli("apply", "-f", str(manifest)).code == 0
    run = subprocess.Popen([SBSCHED, "run", "nightly"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                           umask=0)
    try:
        staged = lambda: list((state_dir / "bundles" / "nightly").glob(".staging-*/*/host-collectors/system/*.json"))
        wait_until(lambda: bool(staged()) or run.poll() is not None, timeout=60, what="the hostOS output staged")
        assert run.poll() is None, run.communicate()
        staging = next(iter((state_dir / "bundles" / "nightly").glob(".staging-*")))
        listed = cli("list")
        assert listed.code == 0 and "warning" not in listed.err, listed.err
        loose = {k: f"{v[0]} {v[1]:04o}" for k, v in snapshot(staging).items()
                 if v[0] != "link" and v[1] != (0o700 if v[0] == "dir" else 0o600)}
        assert loose == {}
    finally:
        release(gate, run)
        out, err = run.communicate(timeout=120)
    assert run.returncode == 0, err
    archive = next((state_dir / "bundles" / "nightly").glob("*.tar.gz"))
    with tarfile.open(archive) as tar:
        modes = {m.name: (m.type, m.mode) for m in tar.getmembers() if not m.issym()}
    wrong = {name: f"{mode:04o}" for name, (kind, mode) in modes.items()
             if mode != (0o700 if kind == tarfile.DIRTYPE else 0o600)}
    assert len(modes) > 5 and wrong == {}
