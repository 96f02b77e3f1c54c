"""What runs inside the fake cluster's pods: a pod created through the API finishes at once, its
containers' logs and exit codes given by a pod runner; `exec` answers from an exec handler.

Both are pluggable; the defaults here echo (`echo` containers print their arguments) and read files
a test registers (`cat PATH`, `tar -cf - PATH` as troubleshoot's copyFromPod runs it, `echo`)."""
from __future__ import annotations

import io
import posixpath
import tarfile
import time
import uuid
from collections.abc import Callable, Mapping
from typing import Any

# pod -> {container: (log, exit code)}
PodRunner = Callable[[dict[str, Any]], Mapping[str, tuple[bytes, int]]]
# (namespace, pod, container, command) -> (stdout, stderr, exit code)
ExecResult = tuple[bytes, bytes, int]
ExecHandler = Callable[[str, str, str, list[str]], ExecResult]


def echo_runner(pod: dict[str, Any]) -> dict[str, tuple[bytes, int]]:
    """`echo` containers log their arguments; any other container logs nothing and exits 0."""
    results = {}
    for container in pod.get("spec", {}).get("containers", []):
        command = list(container.get("command") or [])
        words = command[1:] + list(container.get("args") or [])
        log = (" ".join(words) + "\n").encode() if command[:1] == ["echo"] else b""
        results[container["name"]] = (log, 0)
    return results


def finished_status(pod: dict[str, Any], results: Mapping[str, tuple[bytes, int]],
                    now: str) -> dict[str, Any]:
    """The status of a pod whose containers have all run to the end with these exit codes."""
    statuses = []
    for container in pod.get("spec", {}).get("containers", []):
        exit_code = results.get(container["name"], (b"", 0))[1]
        container_id = f"containerd://{uuid.uuid4().hex}"
        terminated = {"exitCode": exit_code, "reason": "Completed" if exit_code == 0 else "Error",
                      "startedAt": now, "finishedAt": now, "containerID": container_id}
        statuses.append({"name": container["name"], "image": container.get("image", ""), "imageID": "",
                         "containerID": container_id, "ready": False, "started": False, "restartCount": 0,
                         "state": {"terminated": terminated}, "lastState": {}})
    failed = any(status["state"]["terminated"]["exitCode"] for status in statuses)
    conditions = [{"type": kind, "status": "True" if kind in ("Initialized", "PodScheduled") else "False",
                   "lastTransitionTime": now}
                  for kind in ("Initialized", "Ready", "ContainersReady", "PodScheduled")]
    return {"phase": "Failed" if failed else "Succeeded", "conditions": conditions, "startTime": now,
            "containerStatuses": statuses, "qosClass": "BestEffort"}


def run_command(files: Mapping[str, bytes], command: list[str]) -> ExecResult:
    """`echo`, `cat` and `tar -cf -` over a container's registered files; anything else is not found."""
    name, args = (command[0], command[1:]) if command else ("", [])
    if name == "echo":
        return (" ".join(args) + "\n").encode(), b"", 0
    if name == "cat":
        return _cat(files, args)
    if name == "tar":
        return _tar(files, args)
    return b"", f"{name}: command not found\n".encode(), 127


def _cat(files: Mapping[str, bytes], paths: list[str]) -> ExecResult:
    out, err = [], []
    for path in paths:
        content = files.get(posixpath.normpath(posixpath.join("/", path)))
        if content is None:
            err.append(f"cat: {path}: No such file or directory\n")
        else:
            out.append(content)
    return b"".join(out), "".join(err).encode(), 1 if err else 0


def _tar(files: Mapping[str, bytes], args: list[str]) -> ExecResult:
    """GNU tar's `[-C DIR] -cf - PATH...` (also `cf - PATH`): an archive of the files under each PATH."""
    directory, archive = "/", None
    paths: list[str] = []
    words = iter(args)
    for word in words:
        flags = word.lstrip("-")
        if word == "-C":
            directory = next(words, "/")
        elif archive is None and not paths and flags.isalpha() and {"c", "f"} <= set(flags):
            archive = next(words, "")
        else:
            paths.append(word)
    if archive != "-" or not paths:
        return b"", b"tar: only `tar [-C DIR] -cf - PATH...' runs in the fake cluster\n", 2
    buffer, missing = io.BytesIO(), []
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.GNU_FORMAT) as tar:
        for path in paths:
            if not _add_tree(tar, files, posixpath.normpath(posixpath.join(directory, path)), path):
                missing.append(path)
    absolute = any(path.startswith("/") for path in paths)
    err = "tar: Removing leading `/' from member names\n" if absolute else ""
    err += "".join(f"tar: {path}: Cannot stat: No such file or directory\n" for path in missing)
    if missing:
        err += "tar: Exiting with failure status due to previous errors\n"
    return buffer.getvalue(), err.encode(), 2 if missing else 0


def _add_tree(tar: tarfile.TarFile, files: Mapping[str, bytes], full: str, path: str) -> bool:
    """Add the file at `full` or the tree under it, directories included, named as GNU tar names them
    (from `path` as given, less a leading `/`); False when nothing is there."""
    top = posixpath.normpath(path.lstrip("/"))
    members: dict[str, bytes | None] = {}
    for file_path, content in files.items():
        if file_path != full and not file_path.startswith(full.rstrip("/") + "/"):
            continue
        name = posixpath.normpath(posixpath.join(top, posixpath.relpath(file_path, full)))
        members[name] = content
        parent = posixpath.dirname(name)
        while parent == top or parent.startswith(top + "/"):
            members.setdefault(parent, None)
            parent = posixpath.dirname(parent)
    mtime = int(time.time())
    for name, data in sorted(members.items()):
        info = tarfile.TarInfo(name)
        info.mtime = mtime
        if data is None:
            info.type, info.mode = tarfile.DIRTYPE, 0o755
        else:
            info.size, info.mode = len(data), 0o644
        tar.addfile(info, None if data is None else io.BytesIO(data))
    return bool(members)
