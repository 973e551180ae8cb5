"""
CORS as the API speaks it: PutBucketCors, GetBucketCors, DeleteBucketCors,
the preflight ``OPTIONS`` (AWS's "OPTIONS object", on bucket and object
paths alike), and the ``Access-Control-*`` headers of actual responses.

The decisions are L{txs3.cors}'s; the bucket's configuration is the text
of its ``cors`` setting, read through the site's L{BucketCorsCache} so a
browser's request does not parse XML again.  PutBucketCors stores the
canonical rendering of the document it accepted, so GetBucketCors answers
the same rules in AWS's element order, whatever the client's spelling.

Where each answer is decided:

  - the three configuration operations run behind the gate like any
    bucket operation (signed, bucket owner only); PutBucketCors needs
    ``Content-MD5`` or an S3 checksum, as AWS requires (the catalogue
    entry's integrity check);
  - the preflight is public (a browser sends no credentials with it) and
    never looks the key up, as S3 does not;
  - L{response_cors_headers} is called by the response writer
    (L{txs3.api.app}) for successes and errors, and by the server
    (L{txs3.server}) for requests refused before their body.  Without an
    ``Origin`` it reads nothing.
"""

from __future__ import annotations

from txs3.call import S3Call, S3Config
from txs3.cors import (
    actual_request_headers,
    parse_cors_xml,
    preflight,
    preflight_without_bucket,
    render_cors_xml,
)
from txs3.cors_cache import CORS_SETTING
from txs3.errors import S3Error
from txs3.response import Response, no_content, xml_response


async def put_bucket_cors(call: S3Call) -> Response:
    """
    Replace the bucket's CORS configuration: 200 with no body.

    @raise S3Error: as L{parse_cors_xml} (C{MalformedXML},
        C{InvalidRequest}); the configuration is left as it was.
    """
    config = parse_cors_xml(call.xml_body())
    document = render_cors_xml(config).decode("utf-8")
    await call.config.store.put_bucket_setting(call.bucket, CORS_SETTING, document)
    return Response()


async def get_bucket_cors(call: S3Call) -> Response:
    """
    The bucket's CORS configuration document.

    @raise S3Error: 404 C{NoSuchCORSConfiguration}, with the bucket's name,
        when it has none.
    """
    document = call.config.store.get_bucket_settings(call.bucket).get(CORS_SETTING)
    if document is None:
        raise S3Error.of("NoSuchCORSConfiguration", BucketName=call.bucket)
    return xml_response(document.encode("utf-8"))


async def delete_bucket_cors(call: S3Call) -> Response:
    """Remove the bucket's CORS configuration: 204, whether it had one or not."""
    await call.config.store.put_bucket_setting(call.bucket, CORS_SETTING, None)
    return no_content()


async def options_object(call: S3Call) -> Response:
    """
    Answer a preflight: 200 with the matching rule's ``Access-Control-*``
    headers and no body.

    @raise S3Error: 400 C{BadRequest} without ``Origin`` (whatever the
        bucket) or without a valid ``Access-Control-Request-Method``; 403
        C{AccessForbidden} when the bucket does not exist, has no CORS
        configuration, or no rule allows the request (L{preflight}).
    """
    headers = call.head.headers
    bucket = call.operation.bucket
    if bucket is None:
        raise preflight_without_bucket(headers)
    try:
        config = call.config.cors.configuration(call.config.store, bucket)
    except S3Error as e:
        if e.code != "NoSuchBucket":
            raise
        raise preflight_without_bucket(headers) from None
    resource_type = "BUCKET" if call.operation.key is None else "OBJECT"
    return Response(200, preflight(config, headers, resource_type))


def response_cors_headers(
    config: S3Config,
    bucket: str | None,
    method: str,
    origin: str | None,
    requested_method: str | None,
) -> dict[str, str]:
    """
    The ``Access-Control-*`` and ``Vary`` headers of the response to an
    actual request, success or error (L{actual_request_headers}).

    @param bucket: the bucket the request names; None for the service.
    @param method: the request's method.
    @param origin: its ``Origin`` header, None when absent.
    @param requested_method: its ``Access-Control-Request-Method``, if any:
        S3 matches the rules against that method when it is sent.
    @return: nothing without an ``Origin`` (and then nothing is read), for
        a preflight (answered by L{options_object} alone), a service-level
        request or a bucket that does not exist.
    """
    if origin is None or bucket is None or method == "OPTIONS":
        return {}
    try:
        cors = config.cors.configuration(config.store, bucket)
    except S3Error:
        # NoSuchBucket: S3 has no rules to apply to the error it answers.
        return {}
    return actual_request_headers(cors, requested_method or method, origin)
