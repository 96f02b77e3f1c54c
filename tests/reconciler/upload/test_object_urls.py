"""The object stores' URLs, read once for S3 and GCS (upload/__init__.py bucket_and_key)."""
from __future__ import annotations

import pytest

from reconciler.upload import bucket_and_key
from reconciler.upload.retry import UploadError


@pytest.mark.parametrize("url, noun, expected", [
    ("s3://bundles/prod/a%20b.tar.gz", "key", ("bundles", "prod/a b.tar.gz")),
    ("gs://bundles/nightly/x.tar.gz", "name", ("bundles", "nightly/x.tar.gz")),
])
def test_a_bucket_and_an_object_name(url: str, noun: str, expected: tuple[str, str]) -> None:
    assert bucket_and_key(url, noun=noun) == expected


@pytest.mark.parametrize("url, noun, message", [
    ("s3://bundles/", "key", "s3://bundles/: an S3 object URL needs a bucket and a key (s3://bucket/key)"),
    ("s3:///x.tar.gz", "key", "s3:///x.tar.gz: an S3 object URL needs a bucket and a key (s3://bucket/key)"),
    ("gs://bundles/dir/", "name", "gs://bundles/dir/: a GCS object URL needs a bucket and a name (gs://bucket/name)"),
])
def test_a_url_without_an_object_is_a_permanent_error_saying_what_it_needs(url: str, noun: str, message: str) -> None:
    with pytest.raises(UploadError) as raised:
        bucket_and_key(url, noun=noun)
    assert str(raised.value) == message and not raised.value.transient
