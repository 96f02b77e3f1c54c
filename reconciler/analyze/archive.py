"""Unpacking a bundle archive for analysis, safely: only regular files and directories are extracted,
never outside the destination (no absolute paths, no `..`, no links, no devices), with 0600/0700 modes;
the caller owns the (0700) destination and removes it afterwards."""
from __future__ import annotations

import posixpath
import shutil
import tarfile
import zlib
from pathlib import Path, PurePosixPath

from ..base.errors import SbschedError

VERSION_FILE = "version.yaml"
_CHUNK = 1 << 20


class BundleError(SbschedError):
    """The bundle cannot be read: missing, not a .tar.gz, damaged, or empty."""


def _safe_parts(name: str) -> tuple[str, ...] | None:
    path = PurePosixPath(name.replace("\\", "/"))
    if path.is_absolute():
        return None
    parts = tuple(p for p in path.parts if p not in ("", "."))
    if not parts or ".." in parts:
        return None
    return parts


def extract(archive: Path, destination: Path) -> None:
    """Stream the members of a gzip-compressed tar into `destination`."""
    if not archive.exists():
        raise BundleError(f"bundle not found: {archive}")
    if archive.is_dir():
        raise BundleError(f"{archive} is a directory, not a .tar.gz bundle")
    try:
        tar = tarfile.open(archive, mode="r:gz")
    except PermissionError:
        raise BundleError(f"cannot read bundle {archive}: permission denied") from None
    except (tarfile.TarError, OSError, EOFError, zlib.error) as exc:
        raise BundleError(f"{archive} is not a .tar.gz bundle ({_reason(exc)})") from None
    links: list[tuple[tuple[str, ...], tuple[str, ...]]] = []
    try:
        with tar:
            for member in tar:
                parts = _safe_parts(member.name)
                if parts is None:
                    continue
                target = destination.joinpath(*parts)
                if member.issym():
                    pointed = _safe_parts(posixpath.normpath(posixpath.join(*parts[:-1], member.linkname)))
                    if pointed is not None and not PurePosixPath(member.linkname).is_absolute():
                        links.append((parts, pointed))
                elif member.isdir():
                    target.mkdir(mode=0o700, parents=True, exist_ok=True)
                elif member.isfile():
                    target.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
                    source = tar.extractfile(member)
                    if source is None:
                        continue
                    with source, open(target, "wb") as out:
                        target.chmod(0o600)
                        shutil.copyfileobj(source, out, _CHUNK)
        _copy_links(destination, links)
    except (tarfile.TarError, EOFError, zlib.error) as exc:
        raise BundleError(f"{archive} is damaged ({_reason(exc)})") from None
    except OSError as exc:
        raise BundleError(f"cannot unpack {archive}: {exc.strerror or exc}") from None


def _copy_links(destination: Path, links: list[tuple[tuple[str, ...], tuple[str, ...]]]) -> None:
    """A symlink pointing at a file inside the bundle (troubleshoot links each pod log beside its
    collector's name) becomes a copy of that file, so analyzers find it there; any other link is dropped."""
    for parts, pointed in links:
        source = destination.joinpath(*pointed)
        if source.is_file() and not source.is_symlink():
            target = destination.joinpath(*parts)
            target.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            shutil.copyfile(source, target)
            target.chmod(0o600)


def _reason(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def bundle_root(directory: Path) -> Path:
    """The bundle's top directory: `directory` itself when it holds version.yaml, else its single
    subdirectory (or the one that holds version.yaml)."""
    if (directory / VERSION_FILE).is_file():
        return directory
    entries = sorted(directory.iterdir())
    if not entries:
        raise BundleError(f"{directory} holds no bundle: it is empty")
    subdirs = [e for e in entries if e.is_dir()]
    with_version = [d for d in subdirs if (d / VERSION_FILE).is_file()]
    if with_version:
        return with_version[0]
    if len(entries) == 1 and subdirs:
        return subdirs[0]
    return directory
