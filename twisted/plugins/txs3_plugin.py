"""
The C{twistd txs3} plugin.

Import-light on purpose: C{twistd --help} imports every plugin module, so this
one names L{txs3.tap} by string and lets L{ServiceMaker} import it only when
txs3 is actually run or its options are asked for.
"""

from twisted.application.service import ServiceMaker

txs3 = ServiceMaker(
    "txs3",
    "txs3.tap",
    "An S3-compatible object storage server",
    "txs3",
)
