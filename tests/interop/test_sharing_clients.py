"""
Sharing with real clients against a real C{twistd txs3}: boto3's policy,
ACL and Block Public Access calls; two users from one credentials file,
where owner-two reaches owner-one's bucket only while a policy or an ACL
grants it; s3cmd C{setacl}/C{setpolicy}; rclone C{--s3-acl public-read};
the AWS CLI's C{s3api put-bucket-policy} (v1 and v2); and plain unsigned
HTTPS downloads of what was made public.
"""

from __future__ import annotations

import json
import shutil
import ssl
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.interop.conftest import Txs3Server
from tests.interop.test_clients import AWS_V1, AWS_V2, S3CMD, run, s3cmd_config
from tests.interop.test_transfer_tools import rclone_env


def anonymous_get(server: Txs3Server, bucket: str, key: str) -> tuple[int, bytes]:
    """An unsigned GET over verified TLS, as a browser link or curl would."""
    context = ssl.create_default_context(cafile=str(server.ca_file))
    url = f"{server.endpoint}/{bucket}/{urllib.request.quote(key)}"
    try:
        with urllib.request.urlopen(url, context=context, timeout=30) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def code(call: Callable[[], Any]) -> str:
    """The S3 error code C{call} fails with, or "ok"."""
    try:
        call()
    except ClientError as e:
        return str(e.response["Error"]["Code"])
    return "ok"


def policy(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def test_boto3_policy_acl_and_public_access_block(txs3_server: Txs3Server) -> None:
    """boto3: put_bucket_policy, put_object_acl and put_public_access_block do what AWS does."""
    s3, bucket = txs3_server.new_bucket("boto-share")
    s3.put_object(Bucket=bucket, Key="photo.jpg", Body=b"jpeg bytes")
    assert anonymous_get(txs3_server, bucket, "photo.jpg")[0] == 403
    s3.put_object_acl(Bucket=bucket, Key="photo.jpg", ACL="public-read")
    assert anonymous_get(txs3_server, bucket, "photo.jpg") == (200, b"jpeg bytes")
    grants = s3.get_object_acl(Bucket=bucket, Key="photo.jpg")["Grants"]
    assert {"Type": "Group", "URI": "http://acs.amazonaws.com/groups/global/AllUsers"} in [
        g["Grantee"] for g in grants
    ]
    s3.put_public_access_block(
        Bucket=bucket,
        PublicAccessBlockConfiguration={"IgnorePublicAcls": True, "BlockPublicPolicy": True},
    )
    got = s3.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"]
    assert got == {"BlockPublicAcls": False, "IgnorePublicAcls": True,
                   "BlockPublicPolicy": True, "RestrictPublicBuckets": False}  # fmt: skip
    assert anonymous_get(txs3_server, bucket, "photo.jpg")[0] == 403
    public = policy({"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject",
                     "Resource": f"arn:aws:s3:::{bucket}/*"})  # fmt: skip
    assert code(lambda: s3.put_bucket_policy(Bucket=bucket, Policy=public)) == (
        "AccessDenied"
    )
    s3.delete_public_access_block(Bucket=bucket)
    s3.put_bucket_policy(Bucket=bucket, Policy=public)
    assert s3.get_bucket_policy(Bucket=bucket)["Policy"] == public
    assert s3.get_bucket_policy_status(Bucket=bucket)["PolicyStatus"]["IsPublic"]
    s3.put_object(Bucket=bucket, Key="other.txt", Body=b"also public now")
    assert anonymous_get(txs3_server, bucket, "other.txt") == (200, b"also public now")
    s3.delete_bucket_policy(Bucket=bucket)
    assert anonymous_get(txs3_server, bucket, "other.txt")[0] == 403
    bad = code(lambda: s3.put_bucket_policy(Bucket=bucket, Policy='{"Statement": 5}'))
    assert bad == "MalformedPolicy"


def _other_can(server: Txs3Server, other: Any, bucket: str, mine: str) -> dict[str, str]:
    """What owner-two may do in owner-one's C{bucket}, operation by operation."""
    results = {
        "get": code(lambda: other.get_object(Bucket=bucket, Key="shared.txt")),
        "list": code(lambda: other.list_objects_v2(Bucket=bucket)),
        "put": code(lambda: other.put_object(Bucket=bucket, Key="from-two", Body=b"2")),
        "copy-source": code(
            lambda: other.copy_object(
                Bucket=mine, Key="copied", CopySource={"Bucket": bucket, "Key": "shared.txt"}
            )
        ),
    }
    upload = other.create_multipart_upload(Bucket=mine, Key="assembled")
    results["part-copy-source"] = code(
        lambda: other.upload_part_copy(
            Bucket=mine, Key="assembled", UploadId=upload["UploadId"], PartNumber=1,
            CopySource={"Bucket": bucket, "Key": "shared.txt"},
        )
    )  # fmt: skip
    other.abort_multipart_upload(Bucket=mine, Key="assembled", UploadId=upload["UploadId"])
    deleted = {}

    def delete_objects() -> None:
        answer = other.delete_objects(
            Bucket=bucket, Delete={"Objects": [{"Key": "victim.txt"}]}
        )
        deleted.update(answer)

    results["delete-objects"] = code(delete_objects)
    if deleted.get("Errors"):
        results["delete-objects"] = deleted["Errors"][0]["Code"]
    results["delete"] = code(lambda: other.delete_object(Bucket=bucket, Key="victim2.txt"))
    return results


def _reset(s3: Any, bucket: str) -> None:
    for key in ("shared.txt", "victim.txt", "victim2.txt"):
        s3.put_object(Bucket=bucket, Key=key, Body=key.encode())


EVERYTHING = ("get", "list", "put", "copy-source", "part-copy-source",
              "delete-objects", "delete")  # fmt: skip


def test_two_users_grant_by_policy_then_revoke(txs3_server: Txs3Server) -> None:
    """owner-two reads, lists, writes, copies from and deletes in owner-one's bucket only while the policy grants it."""
    s3, bucket = txs3_server.new_bucket("two-users")
    other, mine = txs3_server.new_bucket("twos-own", other=True)
    _reset(s3, bucket)
    assert _other_can(txs3_server, other, bucket, mine) == dict.fromkeys(
        EVERYTHING, "AccessDenied"
    )
    grant = policy({
        "Effect": "Allow",
        "Principal": {"AWS": "arn:aws:iam::owner-two:root"},
        "Action": ["s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:ListBucket"],
        "Resource": [f"arn:aws:s3:::{bucket}", f"arn:aws:s3:::{bucket}/*"],
    })  # fmt: skip
    s3.put_bucket_policy(Bucket=bucket, Policy=grant)
    assert _other_can(txs3_server, other, bucket, mine) == dict.fromkeys(EVERYTHING, "ok")
    s3.delete_bucket_policy(Bucket=bucket)
    _reset(s3, bucket)
    assert _other_can(txs3_server, other, bucket, mine) == dict.fromkeys(
        EVERYTHING, "AccessDenied"
    )


def test_two_users_grant_by_acl_then_revoke(txs3_server: Txs3Server) -> None:
    """The same by ACLs: READ and WRITE on the bucket, READ on the object, then private again."""
    s3, bucket = txs3_server.new_bucket("acl-users")
    other, mine = txs3_server.new_bucket("acl-twos", other=True)
    _reset(s3, bucket)
    owner = s3.get_bucket_acl(Bucket=bucket)["Owner"]["ID"]
    s3.put_bucket_acl(
        Bucket=bucket,
        GrantFullControl=f'id="{owner}"',
        GrantRead='id="owner-two"',
        GrantWrite='id="owner-two"',
    )
    s3.put_object_acl(Bucket=bucket, Key="shared.txt", GrantRead='id="owner-two"',
                      GrantFullControl=f'id="{owner}"')  # fmt: skip
    assert _other_can(txs3_server, other, bucket, mine) == dict.fromkeys(EVERYTHING, "ok")
    s3.put_bucket_acl(Bucket=bucket, ACL="private")
    s3.put_object_acl(Bucket=bucket, Key="shared.txt", ACL="private")
    _reset(s3, bucket)
    assert _other_can(txs3_server, other, bucket, mine) == dict.fromkeys(
        EVERYTHING, "AccessDenied"
    )


@pytest.mark.parametrize("aws", [AWS_V1, AWS_V2], ids=["v1", "v2"])
def test_aws_cli_put_bucket_policy(txs3_server: Txs3Server, tmp_path: Path, aws: Path) -> None:
    """aws s3api put-bucket-policy / get-bucket-policy / delete-bucket-policy."""
    if not aws.exists():
        pytest.skip(f"{aws} is not installed")
    s3, bucket = txs3_server.new_bucket("cli-policy")
    s3.put_object(Bucket=bucket, Key="k", Body=b"cli")
    text = policy({"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject",
                   "Resource": f"arn:aws:s3:::{bucket}/*"})  # fmt: skip
    (tmp_path / "policy.json").write_text(text)
    api = txs3_server.aws_api(aws)
    env = txs3_server.aws_env()
    run([*api, "put-bucket-policy", "--bucket", bucket,
         "--policy", f"file://{tmp_path / 'policy.json'}"], env)  # fmt: skip
    got = json.loads(run([*api, "get-bucket-policy", "--bucket", bucket], env))
    assert got["Policy"] == text
    assert anonymous_get(txs3_server, bucket, "k") == (200, b"cli")
    run([*api, "delete-bucket-policy", "--bucket", bucket], env)
    assert anonymous_get(txs3_server, bucket, "k")[0] == 403


def test_s3cmd_setacl_and_setpolicy(txs3_server: Txs3Server, tmp_path: Path) -> None:
    """s3cmd setacl --acl-public/--acl-private and setpolicy/delpolicy."""
    config = s3cmd_config(txs3_server, tmp_path / "s3cfg", False)
    s3cmd = [str(S3CMD), "-c", str(config), "--no-progress"]
    bucket = txs3_server.bucket_name("s3cmd-share")
    source = tmp_path / "file.txt"
    source.write_bytes(b"s3cmd shares")
    run([*s3cmd, "mb", f"s3://{bucket}"])
    run([*s3cmd, "put", str(source), f"s3://{bucket}/file.txt"])
    assert anonymous_get(txs3_server, bucket, "file.txt")[0] == 403
    run([*s3cmd, "setacl", "--acl-public", f"s3://{bucket}/file.txt"])
    assert anonymous_get(txs3_server, bucket, "file.txt") == (200, b"s3cmd shares")
    info = run([*s3cmd, "info", f"s3://{bucket}/file.txt"])
    assert "*anon*: READ" in info
    run([*s3cmd, "setacl", "--acl-private", f"s3://{bucket}/file.txt"])
    assert anonymous_get(txs3_server, bucket, "file.txt")[0] == 403
    text = policy({"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject",
                   "Resource": f"arn:aws:s3:::{bucket}/*"})  # fmt: skip
    (tmp_path / "policy.json").write_text(text)
    run([*s3cmd, "setpolicy", str(tmp_path / "policy.json"), f"s3://{bucket}"])
    assert anonymous_get(txs3_server, bucket, "file.txt") == (200, b"s3cmd shares")
    run([*s3cmd, "delpolicy", f"s3://{bucket}"])
    assert anonymous_get(txs3_server, bucket, "file.txt")[0] == 403


@pytest.mark.skipif(shutil.which("rclone") is None, reason="Debian rclone not installed")
def test_rclone_public_read(txs3_server: Txs3Server, tmp_path: Path) -> None:
    """rclone --s3-acl public-read uploads objects anyone can download."""
    env = rclone_env(txs3_server)
    bucket = txs3_server.bucket_name("rclone-pub")
    (tmp_path / "site").mkdir()
    (tmp_path / "site" / "index.html").write_bytes(b"<h1>hello</h1>")
    rclone = ["rclone", "--ca-cert", str(txs3_server.ca_file), "--retries", "1",
              "--low-level-retries", "1", "--s3-acl", "public-read"]  # fmt: skip
    run([*rclone, "mkdir", f"txs3:{bucket}"], env)
    run([*rclone, "copy", str(tmp_path / "site"), f"txs3:{bucket}/site"], env)
    assert anonymous_get(txs3_server, bucket, "site/index.html") == (200, b"<h1>hello</h1>")
