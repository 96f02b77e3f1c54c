"""tcpPortStatus, tcpConnect, tcpLoadBalancer and udpPortStatus, written as troubleshoot's
NetworkStatusResult {status, message} (pkg/collect/host_network.go, host_tcpportstatus.go,
host_tcp_connect.go, host_tcploadbalancer.go, host_udpportstatus.go).

tcpPortStatus listens on the port (0.0.0.0, or the IPv4 address of `interface`) and dials it on
this host's first non-loopback IPv4 address (or that interface's), exchanging random tokens, so a
firewall or a port already taken shows. tcpLoadBalancer listens on the port the same way and dials
`address`, the load balancer that should forward to it. udpPortStatus only binds the port. tcpConnect
only dials `address`. Like troubleshoot, each writes its result and then fails when the outcome is
not "connected".
"""
from __future__ import annotations

import errno
import ipaddress
import os
import re
import socket
import threading

from .. import CollectContext, CollectorSpec
from .goerr import syscall_text
from .interfaces import ipv4_of, local_ipv4
from .limits import Deadline, duration_param, stop_if_cancelled
from ..params import bundle_path, collector_name, integer, text

CONNECTED, REFUSED, TIMEOUT = "connected", "connection-refused", "connection-timeout"
ADDRESS_IN_USE, OTHER, INVALID_ADDRESS = "address-in-use", "error", "invalid-address"
PORT_STATUS_SECONDS = 10.0    # troubleshoot's fixed budget for tcpPortStatus
CONNECT_SECONDS = 10.0        # tcpConnect's default timeout
_DIAL_SECONDS = 0.05          # troubleshoot dials its own listener with 50 ms
_EXCHANGE_SECONDS = 0.5       # per read or write of a token (troubleshoot: 50 ms)
_DNS_1123 = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")


def tcp_port_status(spec: CollectorSpec, ctx: CollectContext) -> None:
    port = _port(spec)
    address = _interface_address(spec)
    listen, dial = ((address, port), (address, port)) if address else (("0.0.0.0", port), (local_ipv4(), port))
    status, message = _listen_and_dial(listen, dial, Deadline(ctx, PORT_STATUS_SECONDS))
    name = collector_name(spec, "tcpPortStatus")
    _write(ctx, bundle_path("host-collectors/tcpPortStatus", name + ".json"), status, message)


def tcp_connect(spec: CollectorSpec, ctx: CollectContext) -> None:
    address = text(spec.params, "address")
    seconds, _ = duration_param(spec.params)
    status, message = _connect(address, Deadline(ctx, CONNECT_SECONDS if seconds is None else seconds))
    name = collector_name(spec, "connect")
    _write(ctx, bundle_path("host-collectors/connect", name + ".json"), status, message)


def tcp_load_balancer(spec: CollectorSpec, ctx: CollectContext) -> None:
    port = _port(spec)
    address = text(spec.params, "address")
    seconds, _ = duration_param(spec.params)   # troubleshoot's default, 60m, is past any collector timeout
    relative = bundle_path("host-collectors/tcpLoadBalancer", collector_name(spec, "tcpLoadBalancer") + ".json")
    if not valid_load_balancer_address(address):
        _write(ctx, relative, INVALID_ADDRESS, f"Invalid Load Balancer Address: {address}")
    host, _, dial_port = address.partition(":")
    status, message = _listen_and_dial(("0.0.0.0", port), (host, int(dial_port)), Deadline(ctx, seconds))
    _write(ctx, relative, status, message)


def udp_port_status(spec: CollectorSpec, ctx: CollectContext) -> None:
    listen = (_interface_address(spec) or "0.0.0.0", _port(spec))
    status, message = CONNECTED, ""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
        try:
            udp.bind(listen)
        except OSError as exc:
            status = ADDRESS_IN_USE if exc.errno == errno.EADDRINUSE else OTHER
            message = f"listen udp {listen[0]}:{listen[1]}: bind: {syscall_text(exc)}"
    _write(ctx, bundle_path("host-collectors/udpPortStatus", collector_name(spec, "udpPortStatus") + ".json"),
           status, message)


def valid_load_balancer_address(address: str) -> bool:
    """troubleshoot's isValidLoadBalancerAddress: lower-case host (an IPv4 address or a DNS-1123
    subdomain) and a port from 1 to 65535."""
    host, sep, port = address.partition(":")
    if not sep or ":" in port or not port.isdigit() or not 0 < int(port) < 65536 or host != host.lower():
        return False
    if re.fullmatch(r"[0-9.]+", host):
        try:
            ipaddress.IPv4Address(host)
        except ValueError:
            return False
        return True
    return len(host) <= 253 and _DNS_1123.fullmatch(host) is not None


def _port(spec: CollectorSpec) -> int:
    port = integer(spec.params, "port")
    if not 0 < port < 65536:
        raise ValueError(f"{spec.kind} needs a port from 1 to 65535, not {port}")
    return port


def _interface_address(spec: CollectorSpec) -> str | None:
    """The IPv4 address of the spec's `interface`, or None when it names none."""
    interface = text(spec.params, "interface")
    if not interface:
        return None
    address = ipv4_of(interface)
    if address is None:
        raise RuntimeError(f"get ipv4 address for interface {interface}: interface does not have an ipv4 address")
    return address


def _write(ctx: CollectContext, relative: str, status: str, message: str) -> None:
    stop_if_cancelled(ctx)
    ctx.output.write_json(relative, {"status": status, "message": message})
    if status != CONNECTED:
        raise RuntimeError(message or status)


def _connect(address: str, deadline: Deadline) -> tuple[str, str]:
    host, sep, port = address.rpartition(":")
    if not sep:
        return OTHER, f"dial tcp: address {address}: missing port in address"
    if not port.isdigit():
        return OTHER, f"dial tcp: lookup tcp/{port}: unknown port"
    try:
        timeout = max(deadline.remaining(), 0.001)
        socket.create_connection((host.strip("[]"), int(port)), timeout=timeout).close()
    except socket.gaierror as exc:
        return OTHER, f"dial tcp: lookup {host}: {exc.strerror}"
    except OSError as exc:
        return _dial_error(address, exc)
    return CONNECTED, ""


def _dial_error(address: str, exc: OSError) -> tuple[str, str]:
    if isinstance(exc, TimeoutError):
        return TIMEOUT, f"dial tcp {address}: i/o timeout"
    status = REFUSED if isinstance(exc, ConnectionRefusedError) else OTHER
    return status, f"dial tcp {address}: connect: {syscall_text(exc)}"


def _listen_and_dial(listen: tuple[str, int], dial: tuple[str, int], deadline: Deadline) -> tuple[str, str]:
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)   # as Go's net.Listen does
        listener.bind(listen)
        listener.listen()
    except OSError as exc:
        listener.close()
        status = ADDRESS_IN_USE if exc.errno == errno.EADDRINUSE else OTHER
        return status, f"listen tcp {listen[0]}:{listen[1]}: bind: {syscall_text(exc)}"
    request, response = os.urandom(20), os.urandom(20)
    done = threading.Event()
    server = threading.Thread(target=_answer, args=(listener, request, response, done), daemon=True)
    server.start()
    try:
        return _dial_until_answered(dial, request, response, deadline)
    finally:
        done.set()
        server.join()
        listener.close()


def _dial_until_answered(dial: tuple[str, int], request: bytes, response: bytes,
                         deadline: Deadline) -> tuple[str, str]:
    """Dial until our own listener answers: a connection may reach some other server first, and a
    dial that times out is tried again, a second apart, as troubleshoot does."""
    while not deadline.expired():
        try:
            conn = socket.create_connection(dial, timeout=_DIAL_SECONDS)
        except OSError as exc:
            if not isinstance(exc, TimeoutError):
                return _dial_error(f"{dial[0]}:{dial[1]}", exc)
        else:
            with conn:
                try:
                    conn.settimeout(_EXCHANGE_SECONDS)
                    conn.sendall(request)
                    if response in conn.recv(1024):
                        return CONNECTED, ""
                except OSError:
                    pass  # not our listener, or it did not answer in time
        deadline.wait(1.0)
    return TIMEOUT, "connection timeout"


def _answer(listener: socket.socket, request: bytes, response: bytes, done: threading.Event) -> None:
    """The listening side: reply to the first connection that brings our request token."""
    listener.settimeout(0.05)
    while not done.is_set():
        try:
            conn, _ = listener.accept()
        except OSError:
            continue
        with conn:
            try:
                conn.settimeout(_EXCHANGE_SECONDS)
                if request in conn.recv(1024):
                    conn.sendall(response)
                    return
            except OSError:
                continue
