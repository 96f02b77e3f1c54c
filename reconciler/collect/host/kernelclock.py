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
from pathlib import Path
from typing import Mapping

_STA_UNSYNC = 0x0040          # kernel/time/ntp.c: the clock is not synchronised
_MAX_ERROR_US = 16_000_000    # systemd's ntp_synced(): a larger maxerror is treated as unsynchronised
_ZONEINFO = "zoneinfo/"


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
    """(zone name, where it came from): `TZ` as the C library reads it, else the zoneinfo file that
    /etc/localtime links to, else /etc/timezone (Debian images copy the file instead of linking it);
    no zone at all is UTC, as for the C library."""
    tz = env.get("TZ", "").lstrip(":")
    if tz:
        return _zone_of_path(tz), "TZ"
    localtime = etc / "localtime"
    if localtime.is_symlink():
        return _zone_of_path(os.readlink(localtime)), str(localtime)
    try:
        named = (etc / "timezone").read_text(encoding="utf-8", errors="replace").strip()
    except OSError:
        named = ""
    if named:
        return named, str(etc / "timezone")
    return "UTC", "default"


def _zone_of_path(path: str) -> str:
    """"/usr/share/zoneinfo/Europe/Paris" -> "Europe/Paris"; a bare name stays as it is."""
    return path.rpartition(_ZONEINFO)[2] if _ZONEINFO in path else path
