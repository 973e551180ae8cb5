"""
Lifecycle rules with boto3 against a real C{twistd txs3} started with
C{--lifecycle-interval 1 --lifecycle-day-seconds 1}: the configuration
round-trips through put/get_bucket_lifecycle_configuration, and an
object under a one-"day" rule is expired by the server's own pass.  The
test polls with a deadline; it asserts no duration.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Generator

import pytest

from tests.interop.conftest import Txs3Server, start_server

#: How long the pass may take to get there before the test gives up.
DEADLINE = 60.0


@pytest.fixture(scope="module")
def fast_lifecycle(
    tmp_path_factory: pytest.TempPathFactory,
    test_ca: object,
    start_txs3: Callable[..., object],
) -> Generator[Txs3Server, None, None]:
    """A server whose lifecycle pass runs every second, with one-second days."""
    server = start_server(
        tmp_path_factory.mktemp("txs3-lifecycle"),
        test_ca,  # type: ignore[arg-type]
        start_txs3,  # type: ignore[arg-type]
        ("--lifecycle-interval", "1", "--lifecycle-day-seconds", "1"),
    )
    try:
        yield server
    finally:
        server.process.stop()


def test_boto3_lifecycle_expires(fast_lifecycle: Txs3Server) -> None:
    """boto3 stores and reads back a configuration; the object its rule names disappears, the other stays."""
    from botocore.exceptions import ClientError

    s3, bucket = fast_lifecycle.new_bucket("lifecycle")
    s3.put_object(Bucket=bucket, Key="keep", Body=b"k")
    s3.put_object(Bucket=bucket, Key="tmp/x", Body=b"x")
    rules = [
        {
            "ID": "tmp",
            "Filter": {"Prefix": "tmp/"},
            "Status": "Enabled",
            "Expiration": {"Days": 2},
        }
    ]
    s3.put_bucket_lifecycle_configuration(
        Bucket=bucket, LifecycleConfiguration={"Rules": rules}
    )
    got = s3.get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"]
    assert got == rules
    deadline = time.monotonic() + DEADLINE
    while True:
        try:
            s3.head_object(Bucket=bucket, Key="tmp/x")
        except ClientError as e:
            assert e.response["Error"]["Code"] == "404"
            break
        assert time.monotonic() < deadline, fast_lifecycle.process.log()[-2000:]
        time.sleep(0.2)
    assert s3.get_object(Bucket=bucket, Key="keep")["Body"].read() == b"k"
    assert "lifecycle pass:" in fast_lifecycle.process.log()
    s3.delete_bucket_lifecycle(Bucket=bucket)
    with pytest.raises(ClientError) as info:
        s3.get_bucket_lifecycle_configuration(Bucket=bucket)
    assert info.value.response["Error"]["Code"] == "NoSuchLifecycleConfiguration"
