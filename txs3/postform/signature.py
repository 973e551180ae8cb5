"""
The signature of a browser upload form.

A signed form signs its ``policy`` field (the base64 text, as sent):

  - SigV4 (AWS, "Browser-based uploads using POST (AWS Signature Version
    4)"): ``x-amz-algorithm`` is ``AWS4-HMAC-SHA256``, ``x-amz-credential``
    is ``AKID/YYYYMMDD/region/s3/aws4_request``, ``x-amz-date`` is
    ``YYYYMMDDTHHMMSSZ`` and ``x-amz-signature`` is the lower-case hex
    HMAC-SHA256 of the policy under the scope's signing key;
  - SigV2: ``AWSAccessKeyId`` and ``signature``, the base64 HMAC-SHA1 of the
    policy under the secret key.

A form with neither is anonymous, and is then allowed no policy.  Fields
are given with lower-case names (L{txs3.postform.multipart} keys them so).
The policy's own expiry, not ``x-amz-date``, bounds a form's life, so no
clock skew is checked here.
"""

from __future__ import annotations

import hmac
from collections.abc import Mapping

from txs3.auth import sigv2, sigv4, sigv4_signing
from txs3.auth.canonical import parse_amz_date
from txs3.auth.types import Identity, Secret
from txs3.errors import S3Error

Lookup = sigv4.Lookup


def _missing(name: str) -> S3Error:
    return S3Error.of(
        "InvalidArgument",
        f"Bucket POST must contain a field named '{name}'.  If it is "
        "specified, please check the order of the fields.",
        ArgumentName=name,
        ArgumentValue="",
    )


def _lookup(lookup: Lookup, access_key: str) -> Secret:
    secret = lookup(access_key)
    if secret is None:
        raise S3Error.of("InvalidAccessKeyId", AWSAccessKeyId=access_key)
    return secret


def _mismatch(access_key: str, policy: str) -> S3Error:
    return S3Error.of(
        "SignatureDoesNotMatch", AWSAccessKeyId=access_key, StringToSign=policy
    )


def verify_form(fields: Mapping[str, str], lookup: Lookup) -> Identity | None:
    """
    Authenticate a form from its fields before the file.

    @param lookup: the credential store's secret lookup, as for the
        header and query signatures.
    @return: the signer's identity, or None for an anonymous form.
    @raise S3Error: C{InvalidArgument} for a signed form that lacks a
        field it needs (``policy``, ``x-amz-credential``, ...), for an
        algorithm other than ``AWS4-HMAC-SHA256``, or for a malformed
        credential or date; C{InvalidAccessKeyId} for an unknown key;
        C{SignatureDoesNotMatch} when the signature is not the policy's.
    """
    if "x-amz-signature" in fields or "x-amz-credential" in fields:
        return _verify_v4(fields, lookup)
    if "signature" in fields or "awsaccesskeyid" in fields:
        return _verify_v2(fields, lookup)
    return None


def _need(fields: Mapping[str, str], name: str) -> str:
    value = fields.get(name)
    if value is None:
        raise _missing(name)
    return value


def _verify_v4(fields: Mapping[str, str], lookup: Lookup) -> Identity:
    algorithm = _need(fields, "x-amz-algorithm")
    raw_credential = _need(fields, "x-amz-credential")
    amz_date = _need(fields, "x-amz-date")
    signature = _need(fields, "x-amz-signature")
    policy = _need(fields, "policy")
    if algorithm != sigv4_signing.ALGORITHM:
        raise S3Error.of(
            "InvalidArgument",
            "POST form data with an unsupported x-amz-algorithm.",
            ArgumentName="x-amz-algorithm",
            ArgumentValue=algorithm,
        )
    credential = sigv4_signing.parse_credential(raw_credential)
    if (
        credential is None
        or credential.service != sigv4_signing.SERVICE
        or credential.terminator != sigv4_signing.TERMINATOR
    ):
        raise S3Error.of(
            "InvalidArgument",
            f"Invalid POST credential: {raw_credential}",
            ArgumentName="x-amz-credential",
            ArgumentValue=raw_credential,
        )
    if parse_amz_date(amz_date) is None or amz_date[:8] != credential.date:
        raise S3Error.of(
            "InvalidArgument",
            "x-amz-date must be YYYYMMDDTHHMMSSZ, on the credential's date.",
            ArgumentName="x-amz-date",
            ArgumentValue=amz_date,
        )
    secret = _lookup(lookup, credential.access_key)
    key = sigv4_signing.signing_key(
        secret.secret_key, credential.date, credential.region
    )
    expected = sigv4_signing.hmac_hex(key, policy)
    # As bytes: compare_digest refuses str holding non-ASCII characters.
    if not hmac.compare_digest(expected.encode(), signature.lower().encode()):
        raise _mismatch(credential.access_key, policy)
    return secret.identity()


def _verify_v2(fields: Mapping[str, str], lookup: Lookup) -> Identity:
    access_key = _need(fields, "awsaccesskeyid")
    signature = _need(fields, "signature")
    policy = _need(fields, "policy")
    secret = _lookup(lookup, access_key)
    expected = sigv2.sign(secret.secret_key, policy)
    if not hmac.compare_digest(expected.encode(), signature.strip().encode()):
        raise _mismatch(access_key, policy)
    return secret.identity()
