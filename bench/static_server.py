"""
The floor for L{small_objects}: a bare twisted.web server over HTTPS.

GET is C{twisted.web.static.File} over C{--dir}; PUT writes the request body
(which twisted.web has already buffered, in memory under 100 kB) to the file
of that name, answering 200 with an empty body.  No fsync, no rename, no
hashing, no authentication, no metadata: this is the floor, not a fair
durability comparison with txs3.  Requests are not logged.

    python bench/static_server.py --dir DIR --port N --cert C --key K
"""

from __future__ import annotations

import os
import shutil

from _serve import serve, tls_parser
from twisted.web import resource, server, static


class PutFile(static.File):
    """C{static.File}, plus C{PUT} to create or replace a file."""

    def getChild(self, path: bytes, request: server.Request) -> resource.Resource:
        if request.method == b"PUT" and path and b"/" not in path:
            if path in (b".", b".."):
                return resource.ForbiddenResource()
            return self.createSimilarFile(os.path.join(self.path, path.decode("utf-8")))
        return super().getChild(path, request)

    def render_PUT(self, request: server.Request) -> bytes:
        content = request.content
        assert content is not None
        content.seek(0, 0)
        with open(self.path, "wb") as out:
            shutil.copyfileobj(content, out)
        request.setResponseCode(200)
        request.setHeader(b"content-length", b"0")
        return b""


def main() -> None:
    parser = tls_parser(__doc__)
    parser.add_argument("--dir", required=True)
    args = parser.parse_args()

    root = PutFile(args.dir)
    site = server.Site(root)
    site.log = lambda request: None  # type: ignore[method-assign]
    serve(site, args, f"static server on https://127.0.0.1:{args.port} over {args.dir}")


if __name__ == "__main__":
    main()
