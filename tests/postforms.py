"""
Helpers for browser-upload (PostObject) tests: forms signed by botocore's
C{generate_presigned_post}, encoded as a browser encodes them.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Mapping
from typing import Any

import boto3
from botocore.config import Config

from tests.s3client import ACCESS_KEY, SECRET_KEY

ENDPOINT = "https://127.0.0.1"


def signer(
    access_key: str = ACCESS_KEY,
    secret_key: str = SECRET_KEY,
    signature_version: str = "s3v4",
    endpoint: str = ENDPOINT,
) -> Any:
    """
    A boto3 client that only signs (C{generate_presigned_post} sends
    nothing): path style, for C{endpoint}.
    """
    return boto3.client(
        "s3",
        endpoint_url=endpoint,
        aws_access_key_id=access_key,
        aws_secret_access_key=secret_key,
        region_name="us-east-1",
        config=Config(
            signature_version=signature_version, s3={"addressing_style": "path"}
        ),
    )


def presigned_fields(
    bucket: str,
    key: str,
    fields: Mapping[str, str] | None = None,
    conditions: list[Any] | None = None,
    expires: int = 3600,
    **client: Any,
) -> dict[str, str]:
    """
    The fields of a form for C{bucket}/C{key} from
    C{generate_presigned_post}: C{fields} and a condition for each, plus
    C{conditions}.
    """
    fields = dict(fields or {})
    every = [{name: value} for name, value in fields.items()]
    post = signer(**client).generate_presigned_post(
        bucket,
        key,
        Fields=fields,
        Conditions=every + list(conditions or []),
        ExpiresIn=expires,
    )
    return dict(post["fields"])


def encode(
    fields: Iterable[tuple[str, str]] | Mapping[str, str],
    file: bytes | None,
    filename: str = "upload.bin",
    content_type: str = "application/octet-stream",
    after: Iterable[tuple[str, str]] = (),
) -> tuple[str, bytes]:
    """
    A ``multipart/form-data`` body as a browser sends it: C{fields} in
    order, then the file (none when C{file} is None), then C{after}.

    @return: the Content-Type header and the body.
    """
    boundary = "----txs3form" + secrets.token_hex(8)
    items = fields.items() if isinstance(fields, Mapping) else fields
    out = bytearray()
    for name, value in items:
        out += f"--{boundary}\r\n".encode()
        out += f'Content-Disposition: form-data; name="{name}"\r\n\r\n'.encode()
        out += value.encode("utf-8") + b"\r\n"
    if file is not None:
        out += f"--{boundary}\r\n".encode()
        out += (
            f'Content-Disposition: form-data; name="file"; filename="{filename}"\r\n'
            f"Content-Type: {content_type}\r\n\r\n"
        ).encode()
        out += file + b"\r\n"
    for name, value in after:
        out += f"--{boundary}\r\n".encode()
        out += f'Content-Disposition: form-data; name="{name}"\r\n\r\n'.encode()
        out += value.encode("utf-8") + b"\r\n"
    out += f"--{boundary}--\r\n".encode()
    return f"multipart/form-data; boundary={boundary}", bytes(out)
