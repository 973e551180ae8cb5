"""
CORS against a real C{twistd txs3}: boto3's put_bucket_cors,
get_bucket_cors and delete_bucket_cors; s3cmd's setcors and delcors; then
what a browser sends, written with C{http.client} over TLS: a preflight
(unsigned) and the CORS headers of an actual GET.
"""

from __future__ import annotations

import http.client
import ssl
from pathlib import Path
from xml.etree import ElementTree

import pytest
from botocore.exceptions import ClientError

from tests.interop.conftest import Txs3Server
from tests.interop.test_clients import S3CMD, run, s3cmd_config

APP = "https://app.example"
RULES = [
    {
        "ID": "app",
        "AllowedHeaders": ["*"],
        "AllowedMethods": ["GET", "PUT"],
        "AllowedOrigins": [APP],
        "ExposeHeaders": ["ETag"],
        "MaxAgeSeconds": 600,
    }
]


def browser(
    server: Txs3Server, method: str, path: str, headers: dict[str, str]
) -> tuple[int, dict[str, str], bytes]:
    """One request as a browser sends it: no credentials, over verified TLS."""
    context = ssl.create_default_context(cafile=str(server.ca_file))
    conn = http.client.HTTPSConnection(
        server.host, server.port, context=context, timeout=30
    )
    try:
        conn.request(method, path, headers=headers)
        response = conn.getresponse()
        body = response.read()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, body
    finally:
        conn.close()


def test_boto3_cors_configuration(txs3_server: Txs3Server) -> None:
    """boto3 puts a configuration (CRC32, no Content-MD5), reads the same rules back, deletes it, and then reads NoSuchCORSConfiguration."""
    s3, bucket = txs3_server.new_bucket("boto3-cors")
    with pytest.raises(ClientError) as info:
        s3.get_bucket_cors(Bucket=bucket)
    assert info.value.response["Error"]["Code"] == "NoSuchCORSConfiguration"
    s3.put_bucket_cors(Bucket=bucket, CORSConfiguration={"CORSRules": RULES})
    assert s3.get_bucket_cors(Bucket=bucket)["CORSRules"] == RULES
    with pytest.raises(ClientError) as info:
        s3.put_bucket_cors(
            Bucket=bucket,
            CORSConfiguration={
                "CORSRules": [{"AllowedMethods": ["PATCH"], "AllowedOrigins": ["*"]}]
            },
        )
    assert info.value.response["Error"]["Code"] == "InvalidRequest"
    assert s3.get_bucket_cors(Bucket=bucket)["CORSRules"] == RULES
    reply = s3.delete_bucket_cors(Bucket=bucket)
    assert reply["ResponseMetadata"]["HTTPStatusCode"] == 204
    with pytest.raises(ClientError) as info:
        s3.get_bucket_cors(Bucket=bucket)
    assert info.value.response["Error"]["Code"] == "NoSuchCORSConfiguration"


@pytest.mark.parametrize("signature_v2", [False, True], ids=["sigv4", "sigv2"])
def test_s3cmd_setcors_delcors(
    txs3_server: Txs3Server, tmp_path: Path, signature_v2: bool
) -> None:
    """s3cmd setcors stores its file's rules (info shows them, boto3 reads them), delcors removes them."""
    s3, bucket = txs3_server.new_bucket("s3cmd-cors")
    config = s3cmd_config(txs3_server, tmp_path / "s3cfg", signature_v2)
    s3cmd = [str(S3CMD), "-c", str(config), "--no-progress"]
    rules = tmp_path / "cors.xml"
    rules.write_text(
        "<CORSConfiguration><CORSRule>"
        "<AllowedOrigin>https://*.example</AllowedOrigin>"
        "<AllowedMethod>GET</AllowedMethod><AllowedMethod>HEAD</AllowedMethod>"
        "<MaxAgeSeconds>60</MaxAgeSeconds>"
        "</CORSRule></CORSConfiguration>"
    )
    run([*s3cmd, "setcors", str(rules), f"s3://{bucket}"])
    assert s3.get_bucket_cors(Bucket=bucket)["CORSRules"] == [
        {
            "AllowedMethods": ["GET", "HEAD"],
            "AllowedOrigins": ["https://*.example"],
            "MaxAgeSeconds": 60,
        }
    ]
    info = run([*s3cmd, "info", f"s3://{bucket}"])
    assert "https://*.example" in info
    run([*s3cmd, "delcors", f"s3://{bucket}"])
    with pytest.raises(ClientError) as refused:
        s3.get_bucket_cors(Bucket=bucket)
    assert refused.value.response["Error"]["Code"] == "NoSuchCORSConfiguration"


def test_browser_preflight_and_get(txs3_server: Txs3Server) -> None:
    """An unsigned preflight is answered by the rules (200 with the rule's headers, 403 AccessForbidden otherwise), and a GET from the origin carries its headers."""
    s3, bucket = txs3_server.new_bucket("browser-cors")
    path = f"/{bucket}/page.html"
    status, _, body = browser(
        txs3_server, "OPTIONS", path, {"Origin": APP, "Access-Control-Request-Method": "PUT"}
    )
    assert status == 403
    assert ElementTree.fromstring(body).findtext("Message") == (
        "CORSResponse: CORS is not enabled for this bucket."
    )
    s3.put_bucket_cors(Bucket=bucket, CORSConfiguration={"CORSRules": RULES})
    s3.put_object(Bucket=bucket, Key="page.html", Body=b"<p>hi</p>")
    status, headers, body = browser(
        txs3_server,
        "OPTIONS",
        path,
        {
            "Origin": APP,
            "Access-Control-Request-Method": "PUT",
            "Access-Control-Request-Headers": "authorization,x-amz-date,content-type",
        },
    )
    assert (status, body) == (200, b"")
    assert headers["access-control-allow-origin"] == APP
    assert headers["access-control-allow-methods"] == "GET, PUT"
    assert headers["access-control-allow-headers"] == (
        "authorization, x-amz-date, content-type"
    )
    assert headers["access-control-max-age"] == "600"
    assert headers["access-control-allow-credentials"] == "true"
    assert headers["vary"] == (
        "Origin, Access-Control-Request-Headers, Access-Control-Request-Method"
    )
    status, headers, body = browser(
        txs3_server,
        "OPTIONS",
        path,
        {"Origin": "https://evil.example", "Access-Control-Request-Method": "GET"},
    )
    assert status == 403
    error = ElementTree.fromstring(body)
    assert (error.findtext("Code"), error.findtext("ResourceType")) == (
        "AccessForbidden",
        "OBJECT",
    )
    assert not any(k.startswith("access-control-") for k in headers)
    url = s3.generate_presigned_url(
        "get_object", Params={"Bucket": bucket, "Key": "page.html"}
    )
    target = url.split(txs3_server.endpoint, 1)[1]
    status, headers, body = browser(txs3_server, "GET", target, {"Origin": APP})
    assert (status, body) == (200, b"<p>hi</p>")
    assert headers["access-control-allow-origin"] == APP
    assert headers["access-control-expose-headers"] == "ETag"
