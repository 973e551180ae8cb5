"""
PostObject: browser form uploads (``POST /bucket`` with a
``multipart/form-data`` body).

A form is a PUT whose request headers travel as form fields, followed by
the file.  The gate cannot decide it before the body: the principal is
the form's signer, and the key is a field.  So the gate finds the bucket
(C{NoSuchBucket}, or C{AccessDenied} to an anonymous caller, as for any
request) and leaves the IAM action to the form (the catalogue entry is
C{per_key}); its body goes to a L{FormSink} (L{form_sink}), which calls
L{accept_form} when the file part begins.  That is where the form is
decided, before a byte of the file is stored:

  1. the signature (SigV4 or SigV2 fields; none: anonymous) and the
     policy: expiration, conditions, fields no condition covers
     (L{txs3.postform.check.check_form});
  2. C{s3:PutObject} on the key, for the form's principal, with the
     form's fields as the request context (C{s3:x-amz-acl}, the tags,
     C{s3:authType} C{POST});
  3. what a PUT with the same headers would be refused for: encryption
     fields, the ACL (ownership, C{BlockPublicAcls}, canned ACLs: the
     same rules, L{txs3.api.acl}), metadata size, tags, checksums.

The form then stands for the PUT it replaces (L{as_put}), so the object
is stored exactly as PutObject stores it: ETag, metadata, tags, ACL and
owner.  The answer is AWS's: a 303 to ``success_action_redirect`` with
``bucket``, ``key`` and ``etag`` added to its query, else the status of
``success_action_status`` (200; 201 with a C{PostResponse} document; 204,
the default), with ``ETag`` and ``Location`` headers.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from urllib.parse import quote, urlencode, urlsplit

from txs3 import xml
from txs3.api.acl import check_acl_headers, new_object_access
from txs3.api.locking import locked_meta
from txs3.api.obj import STORED_HEADERS, object_meta, sent_checksums
from txs3.api.prechecks import no_encryption
from txs3.api.tagset import MAX_OBJECT_TAGS, parse_tagging_body
from txs3.api.versions import bucket_access, version_headers
from txs3.auth.checksums import header_name
from txs3.auth.integrity import BodyDigests, parse_content_md5
from txs3.auth.types import PayloadPlan
from txs3.authz import RequestContext
from txs3.body import requested_checksums
from txs3.call import ANONYMOUS, S3Call
from txs3.errors import S3Error
from txs3.formbody import AcceptedForm, FormSink
from txs3.objectlock import new_version_lock, parse_lock_headers
from txs3.operation import MAX_KEY_BYTES
from txs3.postform.check import check_form
from txs3.postform.multipart import FileInfo, boundary_from_content_type
from txs3.response import Response, xml_response
from txs3.store.interface import Destination

#: AWS's C{Condition} for a POST to a bucket that is not a form.
FORM_ENCLOSURE = "Bucket POST must be of the enclosure-type multipart/form-data"

# Fields that sign the form: they are not headers of the PUT it stands for.
_SIGNING_FIELDS = frozenset(
    {
        "x-amz-signature",
        "x-amz-credential",
        "x-amz-algorithm",
        "x-amz-date",
        "x-amz-security-token",
    }
)
_STATUSES = {"200": 200, "201": 201, "204": 204}


def form_sink(call: S3Call, digests: BodyDigests) -> FormSink:
    """
    The sink of a PostObject's body (chosen by the gate, before the body).

    @param digests: the request body's own digests (its headers').
    @raise S3Error: C{PreconditionFailed} (AWS's condition) for a body that
        is not ``multipart/form-data``; C{MalformedPOSTRequest} for a bad
        boundary.
    """
    content_type = call.header("content-type")
    media = (content_type or "").partition(";")[0].strip().lower()
    if media != "multipart/form-data":
        raise S3Error.of("PreconditionFailed", Condition=FORM_ENCLOSURE)
    boundary = boundary_from_content_type(content_type)

    def start(fields: Mapping[str, str], info: FileInfo) -> AcceptedForm:
        return accept_form(call, fields, info)

    return FormSink(
        boundary, call.payload, digests, start, call.config.store.open_staging
    )


def form_headers(fields: Mapping[str, str]) -> dict[str, str]:
    """
    The fields that stand for request headers, under the headers' names:
    ``acl`` as ``x-amz-acl``, the standard headers S3 stores, and every
    ``x-amz-*`` field but the signature's.
    """
    headers: dict[str, str] = {}
    for name, value in fields.items():
        if name == "acl":
            headers["x-amz-acl"] = value
        elif name in STORED_HEADERS:
            headers[name] = value
        elif name.startswith("x-amz-") and name not in _SIGNING_FIELDS:
            headers[name] = value
    return headers


def _signature_version(fields: Mapping[str, str]) -> str | None:
    if "x-amz-signature" in fields or "x-amz-credential" in fields:
        return "AWS4-HMAC-SHA256"
    if "signature" in fields or "awsaccesskeyid" in fields:
        return "AWS"
    return None


def as_put(call: S3Call, form: AcceptedForm) -> S3Call:
    """
    The form as the PutObject it stands for: its signer, its key, its
    fields as the request headers, and an authorizer for its principal
    whose request context reads those fields (and the request's own
    headers, for C{aws:UserAgent} and C{aws:Referer}).
    """
    operation = dataclasses.replace(call.operation, key=form.key)
    head = dataclasses.replace(call.head, headers=form.headers)
    put = dataclasses.replace(
        call,
        identity=form.identity or ANONYMOUS,
        operation=operation,
        head=head,
        acl=form.acl,
    )
    authorizer = call.authorizer
    assert authorizer is not None, "a bucket operation has an authorizer"

    def context() -> RequestContext:
        return dataclasses.replace(
            authorizer.context,
            headers={**call.head.headers, **form.headers},
            signature_version=_signature_version(form.fields),
            auth_type="POST",
            request_tags=dict(form.tags) if form.tags else None,
        )

    put.authorizer = dataclasses.replace(
        authorizer, principal=put.principal, make_context=context
    )
    return put


def _tags(fields: Mapping[str, str]) -> tuple[tuple[str, str], ...]:
    """The ``tagging`` field's tag set (a C{Tagging} XML document)."""
    document = fields.get("tagging")
    if document is None:
        return ()
    return parse_tagging_body(document.encode("utf-8"), MAX_OBJECT_TAGS)


def accept_form(
    call: S3Call, fields: Mapping[str, str], info: FileInfo
) -> AcceptedForm:
    """
    Decide a form when its file begins (see the module docstring).

    @param fields: the fields before the file, lower-case names.
    @return: the accepted form, with its checked ACL and tags.
    @raise S3Error: as L{check_form} (C{AccessDenied} with the policy's
        message, C{InvalidPolicyDocument}, C{SignatureDoesNotMatch},
        C{InvalidAccessKeyId}, C{InvalidArgument}); C{KeyTooLongError};
        C{AccessDenied} when the principal may not write the key;
        C{NotImplemented} for encryption fields; the ACL's errors
        (L{check_acl_headers}); C{InvalidTag}, C{MalformedXML};
        C{MetadataTooLarge}; C{InvalidDigest} and C{InvalidRequest} for
        bad ``Content-MD5`` or checksum fields.
    """
    config = call.config
    decision = check_form(
        fields,
        info,
        bucket=call.bucket,
        lookup=config.lookup,
        now=config.reactor.seconds(),
    )
    if len(decision.key.encode("utf-8")) > MAX_KEY_BYTES:
        raise S3Error.of("KeyTooLongError")
    headers = form_headers(fields)
    form = AcceptedForm(
        decision.identity,
        decision.key,
        headers,
        dict(fields),
        decision.policy,
        tags=_tags(fields),
    )
    put = as_put(call, form)
    assert put.authorizer is not None
    put.authorizer.require("s3:PutObject", form.key)
    no_encryption(put)
    check_acl_headers(put)
    object_meta(put, {})  # MetadataTooLarge now, not after the file
    # The lock fields as PutObject's headers, but a form has no header
    # to carry the file's Content-MD5: the integrity rule is not applied.
    lock = parse_lock_headers(put.head.headers, config.reactor.seconds())
    new_version_lock(lock, bucket_access(call).lock, config.reactor.seconds())
    checksums, error = requested_checksums(headers, PayloadPlan())
    if error is not None:
        raise error
    content_md5 = fields.get("content-md5")
    parse_content_md5(content_md5)
    return dataclasses.replace(
        form,
        acl=put.acl,
        lock=lock,
        content_md5=content_md5,
        checksums={alg: v for alg, v in checksums.items() if v is not None},
    )


async def post_object(call: S3Call) -> Response:
    """
    Store the form's file as its key's object (as PutObject would) once
    the whole body is verified; answer as the form asks.
    """
    sink = call.body
    assert isinstance(sink, FormSink)
    posted = sink.finish()
    form, upload = posted.form, posted.upload
    put = as_put(call, form)
    try:
        meta = object_meta(put, upload.checksums)
    except S3Error:
        upload.staging.discard()
        raise
    owner, acl = new_object_access(put)
    put.lock = form.lock
    meta = locked_meta(put, dataclasses.replace(meta, tags=form.tags, acl=acl))
    versioning = bucket_access(call).versioning_state
    info = await call.config.store.put_object(
        Destination(call.bucket, form.key, owner, versioning=versioning),
        upload.staging,
        upload.etag,
        meta,
    )
    response = success_response(call, form, info.etag)
    response.headers.update(version_headers(call, info))
    for alg, value in sent_checksums(put, info.meta.checksums):
        response.headers[header_name(alg)] = value
    return response


def object_url(call: S3Call, key: str) -> str:
    """
    The new object's URL, as the client addressed the bucket (AWS encodes
    every ``/`` of the key).
    """
    scheme = "https" if call.connection.secure else "http"
    host = call.header("host") or "localhost"
    path = quote(key, safe="")
    if not call.operation.virtual_host:
        path = quote(call.bucket, safe="") + "/" + path
    return f"{scheme}://{host}/{path}"


def redirect_target(url: str, bucket: str, key: str, etag: str) -> str | None:
    """
    C{url} with ``bucket``, ``key`` and ``etag`` added to its query; None
    when it is not an absolute http(s) URL (AWS then ignores the field).
    """
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        return None
    added = urlencode({"bucket": bucket, "key": key, "etag": etag}, quote_via=quote)
    query = f"{parts.query}&{added}" if parts.query else added
    return parts._replace(query=query).geturl()


def success_response(call: S3Call, form: AcceptedForm, etag: str) -> Response:
    """AWS's answer to a stored form (see the module docstring)."""
    quoted = f'"{etag}"'
    location = object_url(call, form.key)
    headers = {"ETag": quoted, "Location": location}
    redirect = form.fields.get("success_action_redirect") or form.fields.get("redirect")
    if redirect:
        target = redirect_target(redirect, call.bucket, form.key, quoted)
        if target is not None:
            return Response(303, {**headers, "Location": target})
    status = _STATUSES.get(form.fields.get("success_action_status", "").strip(), 204)
    if status == 201:
        document = xml.document(
            "PostResponse",
            [
                ("Location", location),
                ("Bucket", call.bucket),
                ("Key", form.key),
                ("ETag", quoted),
            ],
            namespace=False,
        )
        return xml_response(document, 201, headers)
    return Response(status, headers)
