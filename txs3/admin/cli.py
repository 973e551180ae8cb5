"""
C{txs3-admin [--data DIR] [--json] COMMAND ...}: users and keys, and the
buckets, of a txs3 data directory.

    txs3-admin user add NAME [--email ADDRESS]   a user and its first key
    txs3-admin user list
    txs3-admin user disable NAME | enable NAME
    txs3-admin user remove NAME [--force]
    txs3-admin key add USER                      another key (rotation)
    txs3-admin key remove ACCESS_KEY
    txs3-admin bucket list
    txs3-admin quota set NAME [--user|--bucket] [--bytes N] [--objects N]
    txs3-admin quota remove NAME | quota list
    txs3-admin usage [NAME]                      from the index's counters
    txs3-admin reload                            certificates and keys, live
    txs3-admin fsck [--verify-content] [--repair]
    txs3-admin backup DEST                       a consistent copy, live
    txs3-admin restore SRC --data DIR            into an empty DIR

It works on the index directly (L{txs3.store.sqlite.users}), with or
without a server running; a running server sees every change within about
a second (L{txs3.keysource}).  Tables for people, C{--json} for scripts;
an error is one line on stderr and exit status 1.  A new secret is printed
once, and never again.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime
import json
import sqlite3
import sys
from collections.abc import Callable, Sequence
from typing import Any

from txs3.store.interface import Quota
from txs3.store.sqlite import backup, fsck, quotas, users
from txs3.store.sqlite.users import AdminError


def _table(rows: list[dict[str, Any]], columns: Sequence[str]) -> str:
    """Rows as a plain text table, columns in order."""
    cells = [[str(row.get(c, "")) for c in columns] for row in rows]
    widths = [max([len(c), *(len(r[i]) for r in cells)]) for i, c in enumerate(columns)]
    lines = [
        "  ".join(c.upper().ljust(w) for c, w in zip(columns, widths, strict=True))
    ]
    lines += [
        "  ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)).rstrip()
        for r in cells
    ]
    return "\n".join(lines)


def _when(seconds: float) -> str:
    moment = datetime.datetime.fromtimestamp(seconds, datetime.UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _key_out(key: users.AccessKey) -> dict[str, Any]:
    return {
        "user": key.user,
        "owner_id": key.owner_id,
        "access_key": key.access_key,
        "secret_key": key.secret_key,
    }


def user_add(conn: sqlite3.Connection, args: argparse.Namespace) -> Any:
    key = users.add_user(conn, args.name, args.email)
    return _key_out(key), f"user {key.user} added; save this secret, it is shown once"


def user_list(conn: sqlite3.Connection, args: argparse.Namespace) -> Any:
    rows = [
        {
            "name": u.name,
            "owner_id": u.owner_id,
            "email": u.email or "",
            "status": "disabled" if u.disabled else "enabled",
            "keys": ",".join(u.keys),
            "created": _when(u.created),
        }
        for u in users.list_users(conn)
    ]
    return rows, ("name", "status", "email", "keys", "owner_id", "created")


def user_disable(conn: sqlite3.Connection, args: argparse.Namespace) -> Any:
    users.set_disabled(conn, args.name, True)
    return {"user": args.name, "status": "disabled"}, f"user {args.name} disabled"


def user_enable(conn: sqlite3.Connection, args: argparse.Namespace) -> Any:
    users.set_disabled(conn, args.name, False)
    return {"user": args.name, "status": "enabled"}, f"user {args.name} enabled"


def user_remove(conn: sqlite3.Connection, args: argparse.Namespace) -> Any:
    kept = users.remove_user(conn, args.name, args.force)
    note = f"user {args.name} removed"
    if kept:
        note += f"; its buckets stay, owned by no user: {', '.join(kept)}"
    return {"user": args.name, "orphaned_buckets": kept}, note


def key_add(conn: sqlite3.Connection, args: argparse.Namespace) -> Any:
    key = users.add_key(conn, args.user)
    return _key_out(key), f"key added to {key.user}; save this secret, it is shown once"


def key_remove(conn: sqlite3.Connection, args: argparse.Namespace) -> Any:
    user = users.remove_key(conn, args.access_key)
    return {"user": user, "access_key": args.access_key}, (
        f"key {args.access_key} of {user} removed"
    )


def bucket_list(conn: sqlite3.Connection, args: argparse.Namespace) -> Any:
    owners = {u.owner_id: u.name for u in users.list_users(conn)}
    rows = []
    for name, owner, created in conn.execute(
        "SELECT name, owner_id, created FROM buckets ORDER BY name"
    ):
        count, size = conn.execute(
            "SELECT count(*), coalesce(sum(size), 0) FROM objects WHERE bucket = ?",
            (name,),
        ).fetchone()
        settings = dict(
            conn.execute(
                "SELECT s.name, s.value FROM bucket_settings AS s JOIN buckets AS b"
                " ON b.name = s.bucket AND b.created = s.created WHERE b.name = ?",
                (name,),
            ).fetchall()
        )
        versioning = settings.get("versioning", "")
        rows.append(
            {
                "bucket": name,
                "owner": owners.get(owner, owner),
                "objects": count,
                "bytes": size,
                "versioning": "Enabled"
                if "<Status>Enabled" in versioning
                else "Suspended"
                if "<Status>Suspended" in versioning
                else "",
                "policy": "yes" if "policy" in settings else "",
                "created": _when(created),
            }
        )
    columns = ("bucket", "owner", "objects", "bytes", "versioning", "policy", "created")
    return rows, columns


_UNITS = {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}


def _size(text: str) -> int:
    """A byte count: digits, optionally with K, M, G or T (binary)."""
    value = text.strip().upper().removesuffix("IB").removesuffix("B")
    unit = value[-1:] if value[-1:] in _UNITS else ""
    digits = value[: len(value) - len(unit)]
    if not digits.isdigit():
        raise argparse.ArgumentTypeError(f"{text!r} is not a size like 500M or 2G")
    return int(digits) * _UNITS[unit]


def _kind(args: argparse.Namespace) -> quotas.Kind | None:
    if args.user:
        return "user"
    if args.bucket:
        return "bucket"
    return None


def quota_set(conn: sqlite3.Connection, args: argparse.Namespace) -> Any:
    quota = Quota(args.bytes, args.objects)
    kind = quotas.set_quota(conn, args.name, quota, _kind(args))
    out = {"kind": kind, "name": args.name, "max_bytes": args.bytes,
           "max_objects": args.objects}  # fmt: skip
    return out, f"quota of {kind} {args.name} set"


def quota_remove(conn: sqlite3.Connection, args: argparse.Namespace) -> Any:
    kind = quotas.remove_quota(conn, args.name, _kind(args))
    return {"kind": kind, "name": args.name}, f"quota of {kind} {args.name} removed"


def quota_list(conn: sqlite3.Connection, args: argparse.Namespace) -> Any:
    rows = [
        {"kind": kind, "name": name, "max_bytes": q.max_bytes or "",
         "max_objects": q.max_objects or "", "bytes": u.bytes, "objects": u.objects}
        for kind, name, q, u in quotas.list_quotas(conn)
    ]  # fmt: skip
    return rows, ("kind", "name", "bytes", "max_bytes", "objects", "max_objects")


def usage(conn: sqlite3.Connection, args: argparse.Namespace) -> Any:
    names: list[tuple[quotas.Kind, str]]
    if args.name is not None:
        names = [(quotas.resolve(conn, args.name, None), args.name)]
    else:
        names = [("user", u.name) for u in users.list_users(conn)]
        names += [
            ("bucket", row[0])
            for row in conn.execute("SELECT name FROM buckets ORDER BY name")
        ]
    rows = []
    for kind, name in names:
        held = quotas.usage_of(conn, kind, name)
        rows.append({"kind": kind, "name": name, "objects": held.objects,
                     "bytes": held.bytes})  # fmt: skip
    return rows, ("kind", "name", "objects", "bytes")


def _progress(what: str) -> Callable[[Any], None]:
    def show(done: Any) -> None:
        count = getattr(done, "blobs", None) or getattr(done, "versions", 0)
        print(f"txs3-admin: {what}: {count} so far", file=sys.stderr)

    return show


def reload(conn: sqlite3.Connection, args: argparse.Namespace) -> Any:
    serial = users.request_reload(conn)
    return {"reload": serial}, (
        "asked every server on this data directory to reload its certificates"
        " and keys (within about a second)"
    )


def run_fsck(args: argparse.Namespace) -> Any:
    report = fsck.fsck(args.data, args.verify_content, args.repair, _progress("fsck"))
    out = {
        "versions": report.versions,
        "parts": report.parts,
        "blobs": report.blobs,
        "clean": report.clean,
        "repaired": report.repaired,
        "findings": [dataclasses.asdict(f) for f in report.findings],
    }
    summary = (
        f"checked {report.versions} versions, {report.parts} part extents,"
        f" {report.blobs} blob files: "
        + ("clean" if report.clean else f"{len(report.findings)} problem(s)")
        + (f", {report.repaired} repaired" if args.repair else "")
    )
    rows = [dataclasses.asdict(f) for f in report.findings]
    return (out, summary, rows, 0 if report.clean or args.repair else 2)


def run_backup(args: argparse.Namespace) -> Any:
    done = backup.backup(args.data, args.dest, _progress("backup"))
    out = dataclasses.asdict(done) | {"dest": args.dest}
    summary = (
        f"backed up {done.blobs} blobs ({done.bytes} bytes; {done.linked} linked,"
        f" {done.copied} copied) and the index to {args.dest}"
    )
    return (out, summary, [], 0)


def run_restore(args: argparse.Namespace) -> Any:
    done = backup.restore(args.source, args.data)
    out = dataclasses.asdict(done) | {"data": args.data}
    summary = f"restored {done.blobs} blobs and the index into {args.data}"
    return (out, summary, [], 0)


Command = Callable[[sqlite3.Connection, argparse.Namespace], Any]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="txs3-admin", description="Manage a txs3 data directory."
    )
    parser.add_argument("--data", default="data", help="the data directory (./data)")
    parser.add_argument("--json", action="store_true", help="print JSON for scripts")
    groups = parser.add_subparsers(dest="group", required=True)

    user = groups.add_parser("user", help="users").add_subparsers(
        dest="command", required=True
    )
    add = user.add_parser("add", help="add a user with a new key")
    add.add_argument("name")
    add.add_argument("--email")
    add.set_defaults(run=user_add)
    user.add_parser("list", help="list users").set_defaults(run=user_list)
    for name, run in (("disable", user_disable), ("enable", user_enable)):
        sub = user.add_parser(name, help=f"{name} a user's keys")
        sub.add_argument("name")
        sub.set_defaults(run=run)
    remove = user.add_parser("remove", help="remove a user and its keys")
    remove.add_argument("name")
    remove.add_argument(
        "--force",
        action="store_true",
        help="remove it even if it owns buckets (they stay, owned by no user)",
    )
    remove.set_defaults(run=user_remove)

    key = groups.add_parser("key", help="access keys").add_subparsers(
        dest="command", required=True
    )
    key_new = key.add_parser("add", help="give a user another key")
    key_new.add_argument("user")
    key_new.set_defaults(run=key_add)
    key_gone = key.add_parser("remove", help="remove an access key")
    key_gone.add_argument("access_key")
    key_gone.set_defaults(run=key_remove)

    bucket = groups.add_parser("bucket", help="buckets").add_subparsers(
        dest="command", required=True
    )
    bucket.add_parser("list", help="list buckets").set_defaults(run=bucket_list)

    quota = groups.add_parser("quota", help="quotas").add_subparsers(
        dest="command", required=True
    )
    for name, run in (("set", quota_set), ("remove", quota_remove)):
        sub = quota.add_parser(name, help=f"{name} the quota of a user or bucket")
        sub.add_argument("name")
        which = sub.add_mutually_exclusive_group()
        which.add_argument("--user", action="store_true", help="NAME is a user")
        which.add_argument("--bucket", action="store_true", help="NAME is a bucket")
        if name == "set":
            sub.add_argument("--bytes", type=_size, help="e.g. 500M, 20G")
            sub.add_argument("--objects", type=int)
        sub.set_defaults(run=run)
    quota.add_parser("list", help="list quotas").set_defaults(run=quota_list)
    used = groups.add_parser("usage", help="objects and bytes held")
    used.add_argument("name", nargs="?", help="a user or bucket (default: all)")
    used.set_defaults(run=usage)

    groups.add_parser(
        "reload", help="servers reread certificates and keys, as on SIGHUP"
    ).set_defaults(run=reload)
    check = groups.add_parser("fsck", help="check the blobs against the index")
    check.add_argument(
        "--verify-content",
        action="store_true",
        help="also compare each whole object's MD5 with its ETag",
    )
    check.add_argument(
        "--repair", action="store_true", help="quarantine orphans, mark damaged objects"
    )
    check.set_defaults(direct=run_fsck)
    save = groups.add_parser("backup", help="a consistent copy of a live store")
    save.add_argument("dest", help="a new or empty directory")
    save.set_defaults(direct=run_backup)
    back = groups.add_parser("restore", help="a backup into an empty --data DIR")
    back.add_argument("source", help="the backup directory")
    back.set_defaults(direct=run_restore)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; 0 on success, 1 with one line on stderr on error."""
    args = _parser().parse_args(argv)
    direct = getattr(args, "direct", None)
    if direct is not None:
        return _direct(direct, args)
    try:
        conn = users.open_index(args.data)
        try:
            result, shown = args.run(conn, args)
        finally:
            conn.close()
    except (AdminError, sqlite3.Error) as e:
        print(f"txs3-admin: {e}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(result, indent=2, sort_keys=True))
    elif isinstance(shown, str):
        for name, value in result.items():
            print(f"{name}: {value}")
        print(shown, file=sys.stderr)
    else:
        print(_table(result, shown))
    return 0


def _direct(
    command: Callable[[argparse.Namespace], Any], args: argparse.Namespace
) -> int:
    """A command on the directory itself (fsck, backup, restore)."""
    try:
        out, summary, rows, status = command(args)
    except (AdminError, OSError, sqlite3.Error) as e:
        print(f"txs3-admin: {e}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(out, indent=2, sort_keys=True))
    elif rows:
        print(_table(rows, ("kind", "where", "detail")))
    print(f"txs3-admin: {summary}", file=sys.stderr)
    return int(status)


if __name__ == "__main__":
    sys.exit(main())
