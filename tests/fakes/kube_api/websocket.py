"""The server side of WebSocket (RFC 6455), as much as `kubectl exec` over `v4.channel.k8s.io` needs.

The handshake's accept key, unmasked server frames, masked client frames, close and ping. On top of
it the channel protocol: every binary message starts with a channel byte, 1 stdout, 2 stderr and
3 the exit `Status` as JSON; the server then closes. Small enough to write rather than depend on."""
from __future__ import annotations

import base64
import hashlib
import socket
import struct
from io import BufferedIOBase
from typing import Any

GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
CHANNEL_PROTOCOL = "v4.channel.k8s.io"

OP_BINARY, OP_CLOSE, OP_PING, OP_PONG = 0x2, 0x8, 0x9, 0xA
STDOUT, STDERR, ERROR = 1, 2, 3
FRAME_PAYLOAD = 64 * 1024
CLOSE_NORMAL = 1000
# How long the server waits for the client's close frame once it has sent its own.
CLOSE_WAIT_SECONDS = 2.0


def accept_key(key: str) -> str:
    return base64.b64encode(hashlib.sha1((key + GUID).encode()).digest()).decode()


def encode_frame(opcode: int, payload: bytes) -> bytes:
    """A final, unmasked frame (servers never mask)."""
    length = len(payload)
    if length < 126:
        header = struct.pack("!BB", 0x80 | opcode, length)
    elif length < 1 << 16:
        header = struct.pack("!BBH", 0x80 | opcode, 126, length)
    else:
        header = struct.pack("!BBQ", 0x80 | opcode, 127, length)
    return header + payload


def read_frame(rfile: BufferedIOBase) -> tuple[int, bytes] | None:
    """(opcode, unmasked payload) of the next frame; None when the peer has gone, mid-frame or not."""
    head = _read(rfile, 2)
    if head is None:
        return None
    opcode, length = head[0] & 0x0F, head[1] & 0x7F
    if length >= 126:
        extended = _read(rfile, 2 if length == 126 else 8)
        if extended is None:
            return None
        length = int.from_bytes(extended, "big")
    mask = _read(rfile, 4) if head[1] & 0x80 else b""
    payload = _read(rfile, length)
    if mask is None or payload is None:
        return None
    if mask:
        keystream = (mask * (length // 4 + 1))[:length]
        payload = (int.from_bytes(payload, "big") ^ int.from_bytes(keystream, "big")).to_bytes(length, "big")
    return opcode, payload


def _read(rfile: BufferedIOBase, size: int) -> bytes | None:
    data = rfile.read(size)
    return data if len(data) == size else None


def exit_status(command: list[str], exit_code: int) -> dict[str, Any]:
    """The status the kubelet sends on the error channel once the command has ended."""
    if exit_code == 0:
        return {"metadata": {}, "status": "Success"}
    return {"metadata": {}, "status": "Failure",
            "message": f"command terminated with non-zero exit code: error executing command "
                       f"[{' '.join(command)}], exit code {exit_code}",
            "reason": "NonZeroExitCode",
            "details": {"causes": [{"reason": "ExitCode", "message": str(exit_code)}]}}


def send_channels(wfile: BufferedIOBase, outputs: list[tuple[int, bytes]]) -> None:
    """Each (channel, data) as binary messages of at most FRAME_PAYLOAD bytes, then a normal close."""
    for channel, data in outputs:
        prefix = bytes([channel])
        for start in range(0, len(data), FRAME_PAYLOAD):
            wfile.write(encode_frame(OP_BINARY, prefix + data[start:start + FRAME_PAYLOAD]))
    wfile.write(encode_frame(OP_CLOSE, struct.pack("!H", CLOSE_NORMAL)))


def await_close(connection: socket.socket, rfile: BufferedIOBase, wfile: BufferedIOBase) -> None:
    """Read what the client still sends until its close (answering pings), it hangs up, or time is up.

    Closing at once could reset the connection under data the client has not read yet."""
    connection.settimeout(CLOSE_WAIT_SECONDS)
    try:
        while (frame := read_frame(rfile)) is not None:
            opcode, payload = frame
            if opcode == OP_PING:
                wfile.write(encode_frame(OP_PONG, payload))
            elif opcode == OP_CLOSE:
                return
    except OSError:  # the client went away or stayed silent: either way the session is over
        return

