"""copy: the files a path or glob matches, streamed into host-collectors/<collectorName or "copy">/.

Laid out as troubleshoot's pkg/collect/host_copy.go lays it out: each match under its base name,
directories recursively, symlinks followed, anything neither file nor directory (fifo, socket,
device) left out; a failure writes errors.json (a JSON list of messages) next to what was copied.
Contents go through a fixed buffer, so a file of any size costs no memory. Differences: a pattern
matching nothing is skipped (troubleshoot succeeds with nothing, which hides a wrong path), and a
directory symlink leading back into its own tree is not entered again (troubleshoot recurses until
the path is too long).
"""
from __future__ import annotations

import glob
import os
import stat

from .. import CollectContext, CollectorSpec, Output, Skipped
from .goerr import path_error
from .limits import Deadline
from ..params import bundle_path, collector_name, text

CHUNK = 1 << 20


class CopyError(RuntimeError):
    """A file or directory that could not be copied; the message is troubleshoot's wording."""


def copy(spec: CollectorSpec, ctx: CollectContext) -> None:
    pattern = text(spec.params, "path")
    if not pattern:
        raise ValueError("copy needs a path")
    matches = sorted(glob.glob(pattern, include_hidden=True))
    if not matches:
        raise Skipped(f"nothing on this host matches {pattern}")
    base = bundle_path("host-collectors", collector_name(spec, "copy"))
    deadline = Deadline(ctx)
    try:
        for match in matches:
            # Go's filepath.Base: "/etc/" is "etc"; "/" itself lands in base
            copy_tree(ctx.output, match, bundle_path(base, os.path.basename(match.rstrip("/"))), deadline)
    except CopyError as exc:
        ctx.output.write_json(f"{base}/errors.json", [str(exc)])
        raise


def copy_tree(output: Output, source: str, target: str, deadline: Deadline,
              ancestors: frozenset[tuple[int, int]] = frozenset()) -> None:
    """`source` (a file, or a directory and all below it, symlinks followed) to bundle path `target`."""
    deadline.check(f"copying {source}")
    try:
        info = os.stat(source)
    except OSError as exc:
        raise CopyError(path_error("stat", source, exc)) from exc
    if stat.S_ISREG(info.st_mode):
        _stream(output, source, target, deadline)
    elif stat.S_ISDIR(info.st_mode) and (info.st_dev, info.st_ino) not in ancestors:
        try:
            names = sorted(os.listdir(source))
        except OSError as exc:
            raise CopyError(path_error("open", source, exc)) from exc
        inside = ancestors | {(info.st_dev, info.st_ino)}
        for name in names:
            copy_tree(output, os.path.join(source, name), bundle_path(target, name), deadline, inside)


def _stream(output: Output, source: str, target: str, deadline: Deadline) -> None:
    buffer = bytearray(CHUNK)
    view = memoryview(buffer)
    try:
        src = open(source, "rb", buffering=0)
    except OSError as exc:
        raise CopyError(path_error("open", source, exc)) from exc
    with src, output.open(target) as dst:
        while True:
            try:
                read = src.readinto(buffer)
            except OSError as exc:
                raise CopyError(path_error("read", source, exc)) from exc
            if not read:
                return
            dst.write(view[:read])
            deadline.check(f"copying {source}")
