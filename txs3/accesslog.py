"""
The JSON access log (C{--access-log-format json}): one JSON object per
request, on one line, emitted through C{twisted.logger}.

  - To a file: the events go to a logger of their own whose only observer
    writes each event's object and a newline (not the process log).
  - To C{-}: the events go to the process log (twistd's), namespace
    C{txs3.access}, the object as the event's text and its fields in the
    event's C{access} key for structured observers.

The object's fields (L{fields}): C{time} (ISO 8601, UTC), C{request_id},
C{remote}, C{access_key}, C{method}, C{operation}, C{bucket}, C{key},
C{status}, C{bytes_in}, C{bytes_out}, C{duration} (seconds).  Never a
secret, a signature or the query string: the record holds none
(L{txs3.record}).

Writing is on the reactor thread and not synced, like Twisted's own
combined-format log.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import IO, Any

from twisted.logger import FileLogObserver, Logger

from txs3.record import RequestRecord

NAMESPACE = "txs3.access"


def fields(record: RequestRecord) -> dict[str, Any]:
    """The JSON object of C{record}, as a dict in a fixed key order."""
    when = datetime.fromtimestamp(record.time, UTC)
    return {
        "time": when.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "request_id": record.request_id,
        "remote": record.remote,
        "access_key": record.access_key,
        "method": record.method,
        "operation": record.operation,
        "bucket": record.bucket,
        "key": record.key,
        "status": record.status,
        "bytes_in": record.bytes_in,
        "bytes_out": record.bytes_out,
        "duration": round(record.duration, 6),
    }


def _line(event: dict[str, Any]) -> str | None:
    text = event.get("access_json")
    return None if text is None else f"{text}\n"


class JsonAccessLog:
    """
    Writes L{RequestRecord}s as JSON, to a file path or (C{-}) to the
    process log.  A file is opened by L{open} and closed by L{close} (the
    site's start and stop); records written while it is closed are dropped.
    """

    def __init__(self, destination: str) -> None:
        self.destination = destination
        self._file: IO[str] | None = None
        self._log: Logger | None = None
        if destination == "-":
            self._log = Logger(namespace=NAMESPACE)

    def open(self) -> None:
        """Open the file (appending; created if missing).  Idempotent."""
        if self.destination == "-" or self._file is not None:
            return
        self._file = open(self.destination, "a", encoding="utf-8")
        observer = FileLogObserver(self._file, _line)
        self._log = Logger(namespace=NAMESPACE, observer=observer)

    def close(self) -> None:
        """Close the file (nothing for the process log).  Idempotent."""
        if self._file is not None:
            self._file.close()
            self._file = None
            self._log = None

    def write(self, record: RequestRecord) -> None:
        """Emit C{record} as one JSON object."""
        if self._log is None:
            return
        access = fields(record)
        # ASCII: a key may hold anything, a lone surrogate included.
        text = json.dumps(access, separators=(",", ":"))
        self._log.info("{access_json}", access_json=text, access=access)
