"""
One ACME order, blocking, with the C{acme} library: run it in a thread
(L{txs3.acme.service} does), never on the reactor.

The C{acme} library no longer ships TLS-ALPN-01 classes, so the challenge
and its response are declared here the way the library declares HTTP-01
(the protocol messages are still the library's); the challenge certificate
is L{txs3.acme.responder.challenge_certificate}.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from acme import challenges, client, crypto_util, messages
from acme import errors as acme_errors
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from josepy.jwa import ES256
from josepy.jwk import JWK, JWKEC

from txs3.acme.responder import challenge_certificate
from txs3.acme.storage import AcmeStorage

USER_AGENT = "txs3"


@challenges.ChallengeResponse.register
class TLSALPN01Response(challenges.KeyAuthorizationChallengeResponse):
    """The (empty) response to a tls-alpn-01 challenge."""

    typ = "tls-alpn-01"


@challenges.Challenge.register
class TLSALPN01(challenges.KeyAuthorizationChallenge):
    """The tls-alpn-01 challenge (RFC 8737)."""

    response_cls = TLSALPN01Response
    typ = response_cls.typ

    def validation(self, account_key: JWK, **kwargs: Any) -> str:
        """The key authorization, whose digest the certificate carries."""
        return self.key_authorization(account_key)


class ChallengeFailed(Exception):
    """The ACME server could not validate a name; the message says why."""


@dataclass(frozen=True)
class Issued:
    """A certificate chain (leaf first) and its private key, PEM."""

    chain_pem: bytes
    key_pem: bytes


# Called on the ACME thread; each must have taken effect when it returns.
Publish = Callable[[str, x509.Certificate, ec.EllipticCurvePrivateKey], None]
Withdraw = Callable[[str], None]
PublishToken = Callable[[str, str], None]


def _account_key(storage: AcmeStorage) -> tuple[JWK, bytes | None]:
    stored = storage.read_account()
    if stored is not None:
        key_json, account_json = stored
        return JWK.json_loads(key_json), account_json
    key = JWKEC(key=ec.generate_private_key(ec.SECP256R1()))
    storage.write_account_key(key.json_dumps().encode())
    return key, None


def connect(
    *,
    directory_url: str,
    storage: AcmeStorage,
    email: str | None,
    ca_bundle: Path | None,
    timeout: int = 30,
) -> tuple[client.ClientV2, JWK]:
    """
    A client of the ACME server at C{directory_url} with the stored
    account, or a new one (registered, agreeing to the terms of service,
    and stored).

    @raise Exception: whatever C{acme} or C{requests} raise.
    """
    key, account_json = _account_key(storage)
    net = client.ClientNetwork(key, alg=ES256, user_agent=USER_AGENT, timeout=timeout)
    if ca_bundle is not None:
        # requests takes a CA bundle path where acme's type says bool.
        net.verify_ssl = str(ca_bundle)  # type: ignore[assignment]
    acme = client.ClientV2(client.ClientV2.get_directory(directory_url, net), net)
    if account_json is not None:
        net.account = messages.RegistrationResource.json_loads(account_json)
    else:
        registration = messages.NewRegistration.from_data(
            email=email, terms_of_service_agreed=True
        )
        try:
            regr = acme.new_account(registration)
        except acme_errors.ConflictError as e:
            # The key already has an account (account.json was lost): use it.
            regr = messages.RegistrationResource(
                uri=e.location, body=messages.Registration()
            )
            net.account = regr
        storage.write_account(regr.json_dumps().encode())
    return acme, key


def order(
    *,
    directory_url: str,
    storage: AcmeStorage,
    domains: Sequence[str],
    email: str | None,
    ca_bundle: Path | None,
    publish: Publish,
    withdraw: Withdraw,
    http01: tuple[PublishToken, Withdraw] | None = None,
    timeout: float = 90.0,
) -> Issued:
    """
    Order a certificate for C{domains} with the TLS-ALPN-01 challenge (or
    HTTP-01, when C{http01} is given), and keep it in C{storage}.

    Each challenge certificate is handed to C{publish} before the server is
    told to validate, and to C{withdraw} once the order is over, whatever
    its outcome.  With C{http01}, C{(publish_token, withdraw_token)}, each
    token and its key authorization go to C{publish_token} instead, and the
    token to C{withdraw_token}.

    @raise ChallengeFailed: if the server could not validate a name.
    @raise Exception: whatever C{acme} or C{requests} raise otherwise.
    """
    acme, account_key = connect(
        directory_url=directory_url,
        storage=storage,
        email=email,
        ca_bundle=ca_bundle,
    )
    key = ec.generate_private_key(ec.SECP256R1())
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    orderr = acme.new_order(crypto_util.make_csr(key_pem, list(domains)))
    kind: type[challenges.KeyAuthorizationChallenge] = (
        TLSALPN01 if http01 is None else challenges.HTTP01
    )
    published: list[tuple[Withdraw, str]] = []
    try:
        for authzr in orderr.authorizations:
            if authzr.body.status == messages.STATUS_VALID:
                continue
            domain = authzr.body.identifier.value
            challb = next(
                (c for c in authzr.body.challenges if isinstance(c.chall, kind)),
                None,
            )
            if challb is None:
                raise ChallengeFailed(
                    f"the ACME server offers no {kind.typ} for {domain}"
                )
            response, validation = challb.chall.response_and_validation(account_key)
            if http01 is None:
                cert, cert_key = challenge_certificate(domain, validation)
                publish(domain, cert, cert_key)
                published.append((withdraw, domain))
            else:
                token = challb.chall.encode("token")
                http01[0](token, validation)
                published.append((http01[1], token))
            acme.answer_challenge(challb, response)
        deadline = datetime.datetime.now() + datetime.timedelta(seconds=timeout)
        try:
            orderr = acme.poll_and_finalize(orderr, deadline)
        except acme_errors.ValidationError as e:
            raise ChallengeFailed(_describe_failures(e)) from None
    finally:
        for remove, what in published:
            remove(what)
    chain = orderr.fullchain_pem.encode("ascii")
    storage.write_certificate(chain, key_pem)
    return Issued(chain, key_pem)


def _describe_failures(error: acme_errors.ValidationError) -> str:
    """One line: each failed name and the server's reason."""
    parts = []
    for authzr in error.failed_authzrs:
        reasons = [
            str(c.error.detail or c.error.typ)
            for c in authzr.body.challenges
            if c.error is not None
        ]
        parts.append(f"{authzr.body.identifier.value}: {'; '.join(reasons)}")
    return ", ".join(parts) or "validation failed"
