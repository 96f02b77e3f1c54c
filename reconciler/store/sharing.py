"""A state dir shared by a team: the system file's `allowedUsers` / `allowedGroups`.

They apply only to the state dir the system file names (storageConfig.baseDir): the system daemon's,
which every member of the team reaches with no --state-dir. A user's own state dir stays private
(0700/0600) whatever the system file says.

The files of a shared state dir belong to one group, the first of `allowedGroups` (a file has one
group; POSIX ACLs would be one more thing to audit): directories 2770, files 0660, never readable by
others. sbsched lets in root, the users listed and the members of the groups listed, and refuses
everyone else with one line (exit 2) before touching anything. A listed user who is not in the files'
group is refused too, with the `usermod` that fixes it: the file system would refuse them anyway, with
a less helpful message, half-way through a command.
"""
from __future__ import annotations

import grp
import os
from dataclasses import dataclass
from pathlib import Path

from ..base.errors import SbschedError, UsageError
from .config_files import system_access, system_path, system_state_dir
from .identity import real_user


class AccessDenied(SbschedError):
    """The user is not one the system file lets use the shared state dir."""


@dataclass(frozen=True)
class Sharing:
    users: tuple[str, ...]
    groups: tuple[str, ...]
    gid: int          # the group the files belong to: the first of `groups`
    source: Path      # the system file, for messages


def sharing_for(root: Path) -> Sharing | None:
    """How `root` is shared, or None: not the state dir the system file shares (or it shares none)."""
    users, groups = system_access()
    if not users and not groups:
        return None
    source = system_path()
    base = system_state_dir()
    if base is None:
        raise UsageError(f"{source}: allowedUsers/allowedGroups share the system state dir, but no "
                         "storageConfig.baseDir names it", hint="add storageConfig: {baseDir: /var/lib/sbsched}")
    if os.path.realpath(base) != os.path.realpath(root):
        return None
    if not groups:
        raise UsageError(f"{source}: allowedUsers needs allowedGroups: its first group owns the shared files",
                         hint="groupadd sbsched-ops, then allowedGroups: [sbsched-ops]")
    try:
        gid = grp.getgrnam(groups[0]).gr_gid
    except KeyError:
        raise UsageError(f"{source}: allowedGroups: no such group {groups[0]!r}",
                         hint=f"groupadd {groups[0]}") from None
    return Sharing(users=users, groups=groups, gid=gid, source=source)


def admit(sharing: Sharing, root: Path) -> None:
    """Return when this process may use the shared state dir; AccessDenied (one line) otherwise."""
    if os.getuid() == 0:
        return
    user = real_user()
    mine = {os.getgid(), os.getegid(), *os.getgroups()}
    listed_groups = {gid for gid in (_gid(name) for name in sharing.groups) if gid is not None}
    if user not in sharing.users and not mine & listed_groups:
        raise AccessDenied(f"{user} may not use the shared state dir {root}: not in allowedUsers or a member of "
                           f"allowedGroups ({', '.join(sharing.groups)}) of {sharing.source}",
                           hint="ask an administrator to add you to one of those groups")
    if sharing.gid not in mine:
        raise AccessDenied(f"{user} is allowed to use {root} but is not a member of group {sharing.groups[0]}, "
                           "which its files belong to", hint=f"usermod -aG {sharing.groups[0]} {user}, then log in "
                                                             "again")


def _gid(name: str) -> int | None:
    try:
        return grp.getgrnam(name).gr_gid
    except KeyError:
        return None
