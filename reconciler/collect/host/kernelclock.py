"""The time collector's view without systemd: the zone from `TZ` or /etc/localtime, and the kernel's
NTP synchronisation state from adjtimex(2), which is what timedated itself reads for NTPSynchronized.

Containers (the exported CronJob's runner among them) have no timedated to ask; the kernel clock
and the zone files are still there, so time.json keeps troubleshoot's shape and says in `source`
where its values came from.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import os
import re
from pathlib import Path
from typing import Mapping

from ...timing.hostzone import host_zone_source

_STA_UNSYNC = 0x0040          # kernel/time/ntp.c: the clock is not synchronised
_MAX_ERROR_US = 16_000_000    # systemd's ntp_synced(): a larger maxerror is treated as unsynchronised


class _Timex(ctypes.Structure):
    """struct timex (linux/timex.h) up to the fields read here, padded to the kernel's full size."""
    _fields_ = [("modes", ctypes.c_uint), ("offset", ctypes.c_long), ("freq", ctypes.c_long),
                ("maxerror", ctypes.c_long), ("esterror", ctypes.c_long), ("status", ctypes.c_int),
                ("rest", ctypes.c_byte * 256)]


def kernel_ntp_synchronized() -> bool:
    """Whether the kernel says its clock is NTP-synchronised, as timedated decides it (modes 0: read only)."""
    libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
    timex = _Timex()
    if libc.adjtimex(ctypes.byref(timex)) < 0:
        errno = ctypes.get_errno()
        raise OSError(errno, f"adjtimex: {os.strerror(errno)}")
    return not timex.status & _STA_UNSYNC and timex.maxerror < _MAX_ERROR_US


def local_zone(env: Mapping[str, str], etc: Path = Path("/etc")) -> tuple[str, str]:
    """(zone name, where it came from), read as Go's time.Local reads it (reconciler.timing.hostzone);
    an /etc/localtime copied rather than linked is named by the zone its TZif footer gives, and no
    zone at all is UTC, as for the C library."""
    localtime = etc / "localtime"
    zone, where = host_zone_source(env, localtime=str(localtime), timezone_file=str(etc / "timezone"))
    if zone:
        return zone, where
    if where == "TZ":   # a zone file path outside any zoneinfo tree
        return _footer_zone(Path(env["TZ"].removeprefix(":"))) or "", where
    if localtime.exists():
        return _footer_zone(localtime) or "", str(localtime)
    return "UTC", "default"


def _footer_zone(tzif: Path) -> str | None:
    """The standard-time abbreviation of a TZif file's POSIX TZ footer ("CET-1CEST,M3.5.0,..." -> "CET",
    "UTC0" -> "UTC"); None for a version 1 file or a numeric name ("<+03>-3")."""
    try:
        footer = tzif.read_bytes()[-256:].rstrip(b"\n").rpartition(b"\n")[2].decode("ascii", errors="replace")
    except OSError:
        return None
    match = re.match(r"[A-Za-z]{3,}", footer)
    return match.group(0) if match else None
