"""blockDevices: `lsblk --pairs`, run and read as troubleshoot does (pkg/collect/host_block_device.go,
BlockDeviceInfo), one object per line with lsblk's \\xHH escapes decoded."""
from __future__ import annotations

import re
from typing import Any

from .. import CollectContext, CollectorSpec
from .limits import Deadline
from .proc import capture, find

HOST_BLOCK_DEVICES_PATH = "host-collectors/system/block_devices.json"
LSBLK_COLUMNS = "NAME,KNAME,PKNAME,TYPE,MAJ:MIN,SIZE,FSTYPE,MOUNTPOINT,SERIAL,RO,RM"
_PAIR = re.compile(rb'([A-Z:_-]+)="((?:[^"\\]|\\.)*)"')
_ESCAPE = re.compile(rb'\\x([0-9a-fA-F]{2})|\\(.)')


def block_devices(spec: CollectorSpec, ctx: CollectContext) -> None:
    argv = [find("lsblk", ctx), "--noheadings", "--bytes", "--pairs", "-o", LSBLK_COLUMNS]
    code, out, err = capture(argv, ctx, Deadline(ctx))
    if code != 0:
        message = err.decode(errors="replace").strip()
        raise RuntimeError(f"failed to execute lsblk: exit status {code}: {message}")
    devices = [parse_lsblk_line(line) for line in out.splitlines() if line.strip()]
    ctx.output.write_json(HOST_BLOCK_DEVICES_PATH, devices or None)   # Go marshals a nil slice as null


def parse_lsblk_line(line: bytes) -> dict[str, Any]:
    fields = {key.decode().replace("MAJ_MIN", "MAJ:MIN"): _unescape(value)
              for key, value in _PAIR.findall(line)}
    major, _, minor = fields.get("MAJ:MIN", "").partition(":")
    return {
        "name": fields.get("NAME", ""),
        "kernel_name": fields.get("KNAME", ""),
        "parent_kernel_name": fields.get("PKNAME", ""),
        "type": fields.get("TYPE", ""),
        "major": _number(major),
        "minor": _number(minor),
        "size": _number(fields.get("SIZE", "")),
        "filesystem_type": fields.get("FSTYPE", ""),
        "mountpoint": fields.get("MOUNTPOINT", ""),
        "serial": fields.get("SERIAL", ""),
        "read_only": fields.get("RO") == "1",
        "removable": fields.get("RM") == "1",
    }


def _unescape(value: bytes) -> str:
    def one(match: re.Match[bytes]) -> bytes:
        return bytes([int(match.group(1), 16)]) if match.group(1) else match.group(2)
    return _ESCAPE.sub(one, value).decode("utf-8", errors="replace")


def _number(value: str) -> int:
    try:
        return int(value)
    except ValueError:
        return 0
