"""Host collectors: troubleshoot's hostCollectors, by the key a spec names them with.

Each writes what troubleshoot's own collector of that kind writes, at the same bundle paths, so
troubleshoot's host analyzers and sbctl read our bundles unchanged (docs/collectors.md has the table).
The kinds sbsched does not run (applicable.NOT_RUN_HERE) are registered to be skipped with their
reason; any other kind is recorded by the runner as skipped (not supported).
"""
from __future__ import annotations

import functools
import importlib
import sys
from typing import NoReturn

from .. import CollectContext, Collector, CollectorSpec, Skipped
from .applicable import NOT_RUN_HERE, linux_only
from .blockdevices import block_devices
from .certificate import certificate
from .copy import copy
from .fsperf import filesystem_performance
from .http_request import http
from .interfaces import ipv4_interfaces
from .journald import journald
from .kernel import kernel_modules, sysctl
from .loadbalancer import http_load_balancer
from .kernelconfig import cgroups, kernel_configs
from .network import tcp_connect, tcp_load_balancer, tcp_port_status, udp_port_status
from .packages import system_packages
from .run import run
from .subnet import subnet_available
from .system import cpu, disk_usage, host_os, memory
from .systemd import host_services, host_time


def _linux_only(collector: Collector) -> Collector:
    """Every collector here reads Linux (/proc, /sys, systemd, process groups): elsewhere, skipped."""
    @functools.wraps(collector)
    def collect(spec: CollectorSpec, ctx: CollectContext) -> None:
        if reason := linux_only(spec.kind, sys.platform):
            raise Skipped(reason)
        collector(spec, ctx)
    return collect


def _imported_when_run(module: str, name: str) -> Collector:
    """A collector whose module is imported at its first run: its library (dnspython, requests,
    cryptography: ~120 ms) is not paid by `validate` and the other commands that only list the kinds."""
    def collect(spec: CollectorSpec, ctx: CollectContext) -> None:
        getattr(importlib.import_module(f"{__name__}.{module}"), name)(spec, ctx)
    return collect


def _not_run_here(reason: str) -> Collector:
    def collect(spec: CollectorSpec, ctx: CollectContext) -> NoReturn:
        raise Skipped(reason)
    return collect


HOST_COLLECTORS: dict[str, Collector] = {kind: _linux_only(collector) for kind, collector in {
    "cpu": cpu,
    "memory": memory,
    "hostOS": host_os,
    "time": host_time,
    "ipv4Interfaces": ipv4_interfaces,
    "diskUsage": disk_usage,
    "blockDevices": block_devices,
    "kernelModules": kernel_modules,
    "sysctl": sysctl,
    "hostServices": host_services,
    "run": run,
    "copy": copy,
    "http": http,
    "tcpPortStatus": tcp_port_status,
    "tcpConnect": tcp_connect,
    "certificate": certificate,
    "journald": journald,
    "kernelConfigs": kernel_configs,
    "cgroups": cgroups,
    "systemPackages": system_packages,
    "subnetAvailable": subnet_available,
    "udpPortStatus": udp_port_status,
    "tcpLoadBalancer": tcp_load_balancer,
    "httpLoadBalancer": http_load_balancer,
    "dns": _imported_when_run("dns", "host_dns"),
    "certificatesCollection": _imported_when_run("certificates", "certificates_collection"),
    "registryImages": _imported_when_run("registry", "registry_images"),
    "filesystemPerformance": filesystem_performance,
    **{kind: _not_run_here(reason) for kind, reason in NOT_RUN_HERE.items()},
}.items()}
