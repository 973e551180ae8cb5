"""
Background passes that act on stored data inside the server: the
lifecycle pass (L{txs3.background.lifecycle}) and the guard every one of
its deletions carries (L{txs3.background.guard}).  They talk to the store
through L{txs3.store.interface.IObjectStore} only, on the injected clock.
"""
