"""
Browser-based uploads (PostObject): pure pieces, not yet wired into the
server.

  - L{txs3.postform.multipart}: a streaming ``multipart/form-data`` parser;
  - L{txs3.postform.policy}: the POST policy (expiration and conditions);
  - L{txs3.postform.signature}: the form's SigV4 or SigV2 signature;
  - L{txs3.postform.check}: the three together, as the parser's
    C{start_file} runs them (its docstring shows the wiring).
"""
