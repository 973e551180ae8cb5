"""
Lifecycle rules as pure values and decisions: the configuration document
(L{txs3.lifecycle.config}) and what its rules do to a version or an upload,
and when (L{txs3.lifecycle.evaluate}).  No I/O, no HTTP, no store: the
lifecycle pass that applies them is built on top.
"""
