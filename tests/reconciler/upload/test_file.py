"""file:// uploads: an atomic, private copy into a directory (a mounted share)."""
from __future__ import annotations

import hashlib
import os
import stat

import pytest

from reconciler.upload import RetryPolicy, UploadRequest, object_url, upload
from reconciler.upload.credentials import Secrets
from tests.delivery_fixtures import make_archive


def _no_sleep(seconds: float) -> None:
    raise AssertionError(f"no retry expected (asked to wait {seconds}s)")


def test_the_copy_is_0600_in_new_0700_directories_and_the_share_itself_is_left_alone(tmp_path):
    share = tmp_path / "share"
    share.mkdir(mode=0o755)
    share.chmod(0o755)
    archive, sha = make_archive(tmp_path, size=100_000)
    url = object_url(f"file://{share}/", "production", "nightly", archive.name)

    outcome = upload(UploadRequest(archive, url, secrets=Secrets({})), RetryPolicy(), sleep=_no_sleep)

    target = share / "production" / "nightly" / archive.name
    assert outcome.status == "uploaded" and outcome.url == f"file://{target}"
    assert hashlib.sha256(target.read_bytes()).hexdigest() == sha
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert stat.S_IMODE((share / "production").stat().st_mode) == 0o700
    assert stat.S_IMODE((share / "production" / "nightly").stat().st_mode) == 0o700
    assert stat.S_IMODE(share.stat().st_mode) == 0o755
    assert [p.name for p in target.parent.iterdir()] == [archive.name]  # no temp file left


def test_a_second_upload_of_the_same_name_replaces_it_whole(tmp_path):
    archive, _ = make_archive(tmp_path, size=10)
    url = f"file://{tmp_path}/out/x.tar.gz"
    upload(UploadRequest(archive, url, secrets=Secrets({})), RetryPolicy(), sleep=_no_sleep)
    archive.write_bytes(b"second")

    upload(UploadRequest(archive, url, secrets=Secrets({})), RetryPolicy(), sleep=_no_sleep)

    assert (tmp_path / "out" / "x.tar.gz").read_bytes() == b"second"


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes anywhere")
def test_a_read_only_directory_is_a_permanent_error(tmp_path):
    share = tmp_path / "ro"
    share.mkdir()
    share.chmod(0o500)
    archive, _ = make_archive(tmp_path, size=10)

    outcome = upload(UploadRequest(archive, f"file://{share}/x.tar.gz", secrets=Secrets({})), RetryPolicy(retries=3),
                     sleep=_no_sleep)

    assert (outcome.status, outcome.attempts, outcome.error["class"]) == ("failed", 1, "permanent")


def test_a_path_that_is_a_file_is_a_permanent_error_without_leftovers(tmp_path):
    (tmp_path / "blocker").write_text("not a dir")
    archive, _ = make_archive(tmp_path, size=10)

    outcome = upload(UploadRequest(archive, f"file://{tmp_path}/blocker/x.tar.gz", secrets=Secrets({})),
                     RetryPolicy(retries=3), sleep=_no_sleep)

    assert (outcome.status, outcome.attempts, outcome.error["class"]) == ("failed", 1, "permanent")


def test_a_file_url_with_a_host_is_refused(tmp_path):
    archive, _ = make_archive(tmp_path, size=10)

    outcome = upload(UploadRequest(archive, "file://server/share/x.tar.gz", secrets=Secrets({})), RetryPolicy(),
                     sleep=_no_sleep)

    assert outcome.status == "failed" and "server" in outcome.error["message"]
