"""registryImages against a registry fake on 127.0.0.1 (tests/fakes/registry.py)."""
from __future__ import annotations

import pytest

from reconciler.collect.host.registry import ImageRef, parse_image

from ...fakes.registry import registry
from .test_host_shapes import assert_written, collect
from .test_host_more_kinds import free_port


@pytest.mark.parametrize("image, ref", [
    ("nginx", ImageRef("index.docker.io", "library/nginx", "latest")),
    ("bitnami/redis:7.2", ImageRef("index.docker.io", "bitnami/redis", "7.2")),
    ("127.0.0.1:5000/app/web:1.0", ImageRef("127.0.0.1:5000", "app/web", "1.0")),
    ("localhost/app@sha256:" + "a" * 64, ImageRef("localhost", "app", "sha256:" + "a" * 64)),
    ("quay.io/org/img", ImageRef("quay.io", "org/img", "latest")),
])
def test_image_names_are_read_as_go_containerregistry_reads_them(image, ref):
    assert parse_image(image) == ref


def test_the_scheme_is_http_only_for_loopback_and_private_registries():
    assert [ImageRef(r, "a", "b").scheme for r in ("127.0.0.1:5000", "localhost:5000", "10.1.2.3", "quay.io")] == \
        ["http", "http", "http", "https"]


def test_each_image_exists_is_missing_or_says_why_with_the_spec_credentials(tmp_path):
    with registry({("app/web", "1.0")}, username="robot", password="s3cret-pass") as server:
        base = f"127.0.0.1:{server.server_address[1]}"
        images = [f"{base}/app/web:1.0", f"{base}/app/web:2.0", f"{base}/app/nope:1.0", "Bad Name"]
        collect("registryImages", tmp_path, images=images, username="robot", password="s3cret-pass")
        found = assert_written(tmp_path, "registryImages", "host-collectors/registry-images/images.json")["images"]
        assert found[images[0]] == {"exists": True}
        assert found[images[1]] == {"exists": False}
        assert found[images[2]]["exists"] is False and "NAME_UNKNOWN" in found[images[2]]["error"]
        assert "failed to parse image name" in found[images[3]]["error"]
        assert ("/token", "Basic cm9ib3Q6czNjcmV0LXBhc3M=") in server.requests
        collect("registryImages", tmp_path, images=images[:1], collectorName="anonymous")
        anonymous = assert_written(tmp_path, "registryImages", "host-collectors/registry-images/anonymous.json")
        assert "401" in anonymous["images"][images[0]]["error"]
    assert b"s3cret-pass" not in b"".join(p.read_bytes() for p in tmp_path.rglob("*.json"))
    refused = f"127.0.0.1:{free_port()}/app/web:1.0"
    collect("registryImages", tmp_path, images=[refused], collectorName="down")
    down = assert_written(tmp_path, "registryImages", "host-collectors/registry-images/down.json")["images"][refused]
    assert down["exists"] is False and "connection refused" in down["error"]
