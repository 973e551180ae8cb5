"""
Object Lock with boto3 against a real C{twistd txs3} (and its SQLite
store): a bucket created with C{ObjectLockEnabledForBucket}, its
configuration, a version's retention and legal hold, deletions refused
with AWS's code and message, and a GOVERNANCE bypass with
C{BypassGovernanceRetention}.
"""

from __future__ import annotations

import datetime

import pytest

from tests.interop.conftest import Txs3Server

LOCKED = "Access Denied because object protected by object lock."


def test_boto3_object_lock(txs3_server: Txs3Server) -> None:
    """create_bucket with Object Lock, put_object_lock_configuration, retention, legal hold, refusals and the bypass."""
    from botocore.exceptions import ClientError

    s3 = txs3_server.boto3_client()
    bucket = txs3_server.bucket_name("boto-lock")
    s3.create_bucket(Bucket=bucket, ObjectLockEnabledForBucket=True)
    assert s3.get_bucket_versioning(Bucket=bucket)["Status"] == "Enabled"
    s3.put_object_lock_configuration(
        Bucket=bucket,
        ObjectLockConfiguration={
            "ObjectLockEnabled": "Enabled",
            "Rule": {"DefaultRetention": {"Mode": "GOVERNANCE", "Days": 1}},
        },
    )
    config = s3.get_object_lock_configuration(Bucket=bucket)["ObjectLockConfiguration"]
    assert config == {
        "ObjectLockEnabled": "Enabled",
        "Rule": {"DefaultRetention": {"Mode": "GOVERNANCE", "Days": 1}},
    }

    # The default retention, from the bucket, on a new version.
    version = s3.put_object(Bucket=bucket, Key="k", Body=b"kept")["VersionId"]
    head = s3.head_object(Bucket=bucket, Key="k")
    assert head["ObjectLockMode"] == "GOVERNANCE"
    until = s3.get_object_retention(Bucket=bucket, Key="k", VersionId=version)
    assert until["Retention"]["Mode"] == "GOVERNANCE"

    def refused(**kwargs: object) -> None:
        with pytest.raises(ClientError) as e:
            s3.delete_object(Bucket=bucket, Key="k", VersionId=version, **kwargs)
        error = e.value.response["Error"]
        assert (error["Code"], error["Message"]) == ("AccessDenied", LOCKED)

    refused()
    # COMPLIANCE, further out: allowed (it extends); then never bypassed.
    later = datetime.datetime.now(datetime.UTC) + datetime.timedelta(days=2)
    s3.put_object_retention(
        Bucket=bucket,
        Key="k",
        VersionId=version,
        Retention={"Mode": "COMPLIANCE", "RetainUntilDate": later},
    )
    refused(BypassGovernanceRetention=True)
    # A delete marker on top is allowed; the version stays.
    assert s3.delete_object(Bucket=bucket, Key="k")["DeleteMarker"] is True
    body = s3.get_object(Bucket=bucket, Key="k", VersionId=version)["Body"].read()
    assert body == b"kept"

    # A legal hold, on a GOVERNANCE version: the bypass does not lift it.
    held = s3.put_object(Bucket=bucket, Key="h", Body=b"held")["VersionId"]
    s3.put_object_legal_hold(
        Bucket=bucket, Key="h", VersionId=held, LegalHold={"Status": "ON"}
    )
    hold = s3.get_object_legal_hold(Bucket=bucket, Key="h", VersionId=held)
    assert hold["LegalHold"]["Status"] == "ON"
    with pytest.raises(ClientError) as e:
        s3.delete_object(
            Bucket=bucket, Key="h", VersionId=held, BypassGovernanceRetention=True
        )
    assert e.value.response["Error"]["Code"] == "AccessDenied"
    s3.put_object_legal_hold(
        Bucket=bucket, Key="h", VersionId=held, LegalHold={"Status": "OFF"}
    )
    # Still under GOVERNANCE: refused without the bypass, deleted with it.
    with pytest.raises(ClientError):
        s3.delete_object(Bucket=bucket, Key="h", VersionId=held)
    s3.delete_object(
        Bucket=bucket, Key="h", VersionId=held, BypassGovernanceRetention=True
    )
    listed = s3.list_object_versions(Bucket=bucket, Prefix="h")
    assert "Versions" not in listed

    # DeleteObjects reports the locked version, bypass or not.
    answer = s3.delete_objects(
        Bucket=bucket,
        Delete={"Objects": [{"Key": "k", "VersionId": version}]},
        BypassGovernanceRetention=True,
    )
    assert [(e["Key"], e["Code"]) for e in answer["Errors"]] == [("k", "AccessDenied")]
    with pytest.raises(ClientError) as e:
        s3.delete_bucket(Bucket=bucket)
    assert e.value.response["Error"]["Code"] == "BucketNotEmpty"
