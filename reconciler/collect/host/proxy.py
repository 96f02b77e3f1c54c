"""Which proxy, if any, the http collector goes through, by troubleshoot's rule (pkg/collect/http.go
doRequest): the spec's `proxy` always; otherwise the environment's proxies as Go's
http.ProxyFromEnvironment reads them, but only when HTTPS_PROXY is set at all."""
from __future__ import annotations

import ipaddress
from typing import Mapping
from urllib.parse import urlsplit


def proxy_for(url: str, spec_proxy: str, env: Mapping[str, str]) -> str | None:
    if spec_proxy:
        return spec_proxy
    if not env.get("HTTPS_PROXY"):
        return None
    return environment_proxy(url, env)


def environment_proxy(url: str, env: Mapping[str, str]) -> str | None:
    """Go's http.ProxyFromEnvironment: HTTPS_PROXY or HTTP_PROXY by scheme, never for loopback or NO_PROXY."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    if _is_loopback(host) or _bypassed(host, parts.port, env.get("NO_PROXY") or env.get("no_proxy") or ""):
        return None
    if parts.scheme == "https":
        return env.get("HTTPS_PROXY") or env.get("https_proxy") or None
    return env.get("HTTP_PROXY") or env.get("http_proxy") or None


def _is_loopback(host: str) -> bool:
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _bypassed(host: str, port: int | None, no_proxy: str) -> bool:
    """NO_PROXY as Go reads it: "*", IPs, CIDRs, and domains (".example.com": subdomains only)."""
    for entry in (part.strip().lower() for part in no_proxy.split(",")):
        if not entry:
            continue
        if entry == "*":
            return True
        try:
            if ipaddress.ip_address(host) in ipaddress.ip_network(entry, strict=False):
                return True
            continue
        except ValueError:
            pass
        name, _, entry_port = entry.rpartition(":") if entry.count(":") == 1 else (entry, "", "")
        if entry_port and str(port) != entry_port:
            continue
        if name.startswith("."):
            if host.endswith(name):
                return True
        elif host == name or host.endswith("." + name):
            return True
    return False
