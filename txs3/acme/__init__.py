"""
ACME: certificates by themselves.

txs3 obtains and renews the certificate of its C{ssl:} ports from an ACME
certificate authority (Let's Encrypt by default), answering the TLS-ALPN-01
challenge on its own TLS port, so no port 80 is needed.

  - L{txs3.acme.responder}: the challenge certificates, and the SNI switch
    that presents one to a validation handshake (reactor thread only);
  - L{txs3.acme.http01}: the HTTP-01 responder on C{tcp:} ports, with
    C{--acme-challenge http-01};
  - L{txs3.acme.storage}: the account key, the account and the certificate
    in the data directory (keys mode 0600);
  - L{txs3.acme.client}: one blocking order with the C{acme} library, run in
    a thread;
  - L{txs3.acme.service}: when to order (renewal time, retries with
    exponential backoff on the injected clock) and swapping the certificate
    of the listening ports.
"""

# Let's Encrypt's directories.  Here, not in the service module, so that
# `twistd txs3 --help` can name them without importing the acme library.
LETSENCRYPT = "https://acme-v02.api.letsencrypt.org/directory"
LETSENCRYPT_STAGING = "https://acme-staging-v02.api.letsencrypt.org/directory"
