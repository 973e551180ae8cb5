"""
Encryption at rest, as pure functions of bytes and keys: the package
format of encrypted objects (L{txs3.crypto.packages}) and the keys that
protect them (L{txs3.crypto.keys}).  No I/O, no HTTP.
"""
