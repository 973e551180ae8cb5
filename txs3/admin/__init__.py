"""
C{txs3-admin}: the operator's command, on a data directory whether or not
a server runs on it (L{txs3.admin.cli}).
"""
