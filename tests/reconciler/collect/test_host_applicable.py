"""What `sbsched validate` predicts a run will skip on a host: from a directory laid out as the host's
/etc and /run, and a PATH of our choosing."""
from __future__ import annotations

from reconciler.collect import CollectorSpec
from reconciler.collect.host.applicable import NOT_RUN_HERE, skip_reason_here

from .test_host_system import fake_tool


def spec(kind: str) -> CollectorSpec:
    return CollectorSpec(kind, {}, True, "test")


def test_a_container_without_systemd_or_tools_is_told_which_collectors_it_will_skip(tmp_path):
    (tmp_path / "etc").mkdir()
    (tmp_path / "etc/os-release").write_text('ID=debian\nVERSION_ID="12"\n')
    empty = {"PATH": str(tmp_path / "nothing")}
    assert "not installed" in (skip_reason_here(spec("journald"), empty, root=tmp_path) or "")
    assert "this host is debian 12" in (skip_reason_here(spec("systemPackages"), empty, root=tmp_path) or "")
    assert skip_reason_here(spec("networkNamespaceConnectivity"), empty, root=tmp_path) == \
        NOT_RUN_HERE["networkNamespaceConnectivity"]
    env = fake_tool(tmp_path, "systemctl", "exit 0")
    assert "not booted with systemd" in (skip_reason_here(spec("hostServices"), env, root=tmp_path) or "")
    (tmp_path / "run/systemd/system").mkdir(parents=True)
    assert skip_reason_here(spec("hostServices"), env, root=tmp_path) is None
    for kind in ("time", "cgroups", "cpu", "tcpLoadBalancer"):
        assert skip_reason_here(spec(kind), empty, root=tmp_path) is None, kind
    assert "Linux only" in (skip_reason_here(spec("time"), empty, platform="darwin", root=tmp_path) or "")


def test_a_host_without_os_release_is_told_why_system_packages_cannot_run(tmp_path):
    (tmp_path / "etc").mkdir()
    assert skip_reason_here(spec("systemPackages"), {}, root=tmp_path) == \
        "distribution id could not be detected or is unsupported."


def test_listing_the_host_collectors_does_not_import_their_heavy_libraries():
    """`validate` lists the kinds on every call: dnspython, requests and cryptography wait for a run."""
    import subprocess
    import sys

    probe = ("import sys, reconciler.collect.host as h; "
             "assert {'dns', 'registryImages', 'certificatesCollection'} <= set(h.HOST_COLLECTORS); "
             "print(sorted(m for m in ('dns', 'requests', 'cryptography') if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
