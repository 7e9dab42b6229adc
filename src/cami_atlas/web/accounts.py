"""Accounts of the served atlas: users with roles, sessions, CSRF tokens, layer submissions
waiting for review (with their files), and an audit log, in one SQLite file or in a schema
of a PostgreSQL database that every server process of a deployment shares.

Roles
-----
``reader`` is everyone, signed in or not (read-only pages, downloads, screening);
``contributor`` uploads new versions of layers, which wait for review; ``editor`` also
reviews submissions and publishes or rejects them, and reads the audit log.

Security
--------
* Passwords are hashed with **scrypt** (memory-hard; ``hashlib.scrypt``, n = 2^15, r = 8,
  p = 1: 32 MiB and about 0.1 s per hash, a random 16-byte salt per password), stored as
  ``scrypt$n$r$p$salt$hash`` and compared in constant time.
* A session is a random 256-bit token in an ``HttpOnly``, ``SameSite=Strict`` cookie
  (``Secure`` behind HTTPS); the database keeps only its SHA-256, with an expiry
  (:data:`SESSION_HOURS`). Signing out deletes it.
* Every form that changes something carries the session's CSRF token (a second random
  token stored with the session), checked in constant time; requests whose ``Origin``
  header names another site are refused as well.
* The audit log records sign-ins (also failed ones), sign-outs, submissions, publications
  and rejections with the user, the time (UTC) and the client address.

The accounts are kept apart from the atlas store (GeoPackage or PostGIS): a reader-only
deployment needs none. ``cami-atlas users add NAME --role editor --accounts FILE|URL``
creates accounts; ``cami-atlas serve --accounts FILE|URL`` turns sign-in, contribution and
review on. With PostgreSQL (``postgresql://user@host/db?schema=NAME``, default schema
``cami_accounts``; give the accounts their own schema, not the atlas'), writes queue
behind an advisory lock as SQLite's queue behind ``BEGIN IMMEDIATE``.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import os
import secrets
import sqlite3
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from ..errors import CamiAtlasError, OptionError

__all__ = ["DEFAULT_ACCOUNTS_SCHEMA", "ROLES", "SESSION_HOURS", "AccountStore", "AuthError",
           "Session", "check_csrf", "hash_password", "verify_password"]

#: Roles, each allowed what the ones before it are.
ROLES: tuple[str, ...] = ("contributor", "editor")
#: Lifetime of a session.
SESSION_HOURS = 12
_SCRYPT = {"n": 2**15, "r": 8, "p": 1}
_MAXMEM = 64 * 1024 * 1024
_SCHEMA = """
CREATE TABLE IF NOT EXISTS users (
    name TEXT PRIMARY KEY, role TEXT NOT NULL, password TEXT NOT NULL, created TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS sessions (
    token_sha256 TEXT PRIMARY KEY,
    "user" TEXT NOT NULL REFERENCES users(name) ON DELETE CASCADE,
    csrf TEXT NOT NULL, expires TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS submissions (
    id {id}, layer TEXT NOT NULL, kind TEXT NOT NULL,
    file TEXT NOT NULL, filename TEXT NOT NULL, source TEXT NOT NULL, licence TEXT NOT NULL,
    note TEXT NOT NULL, n_features INTEGER, submitted_by TEXT NOT NULL,
    submitted_at TEXT NOT NULL, status TEXT NOT NULL DEFAULT 'pending',
    reviewed_by TEXT, reviewed_at TEXT, version INTEGER, data {blob});
CREATE TABLE IF NOT EXISTS audit (
    id {id}, at TEXT NOT NULL, "user" TEXT, action TEXT NOT NULL,
    target TEXT, detail TEXT, client TEXT);
"""
_SQLITE_TYPES = {"id": "INTEGER PRIMARY KEY AUTOINCREMENT", "blob": "BLOB"}
_POSTGRES_TYPES = {"id": "BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY", "blob": "BYTEA"}
#: Schema of the accounts in a PostgreSQL database when the address names none.
DEFAULT_ACCOUNTS_SCHEMA = "cami_accounts"
_LOCK_KEY = 0x43414D41  # "CAMA": the advisory lock that queues writers of the accounts


class AuthError(CamiAtlasError):
    """Not signed in, wrong role, bad credentials or a missing/wrong CSRF token."""


def _now() -> datetime:
    return datetime.now(UTC)


def hash_password(password: str, *, salt: bytes | None = None) -> str:
    """An scrypt hash of ``password`` (see the module) as ``scrypt$n$r$p$salt$hash``.

    Examples
    --------
    >>> h = hash_password("correct horse battery staple")
    >>> h.startswith("scrypt$32768$8$1$"), verify_password("correct horse battery staple", h)
    (True, True)
    >>> verify_password("wrong", h)
    False
    """
    if not isinstance(password, str) or len(password) < 12:
        raise OptionError("a password needs at least 12 characters (a passphrase of a few "
                          "words is easiest to remember).")
    salt = salt or secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode("utf-8"), salt=salt, maxmem=_MAXMEM, dklen=32,
                            **_SCRYPT)
    return f"scrypt${_SCRYPT['n']}${_SCRYPT['r']}${_SCRYPT['p']}${salt.hex()}${digest.hex()}"


def verify_password(password: str, stored: str) -> bool:
    """Whether ``password`` matches an :func:`hash_password` string (constant time)."""
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt":
            return False
        got = hashlib.scrypt(password.encode("utf-8"), salt=bytes.fromhex(salt), n=int(n),
                             r=int(r), p=int(p), maxmem=_MAXMEM, dklen=32)
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(got.hex(), digest)


@dataclass(frozen=True)
class Session:
    """A signed-in user: ``user``, ``role`` and the session's ``csrf`` token."""

    user: str
    role: str
    csrf: str

    def allows(self, role: str) -> bool:
        """Whether this session's role is ``role`` or above it."""
        return ROLES.index(self.role) >= ROLES.index(role)


class AccountStore:
    """Users, sessions, submissions and the audit log: in the SQLite file ``location``, or
    in a schema of a PostgreSQL database (``postgresql://user@host/db?schema=NAME``,
    default schema :data:`DEFAULT_ACCOUNTS_SCHEMA`), which every server process of a
    deployment shares. Uploaded files waiting for review are kept in the store too.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> store = AccountStore(pathlib.Path(tempfile.mkdtemp()) / "accounts.sqlite")
    >>> store.add_user("ana", "contributor", "a long enough passphrase")
    >>> token = store.sign_in("ana", "a long enough passphrase", client="127.0.0.1")
    >>> store.session(token).role
    'contributor'
    >>> [row["action"] for row in store.audit()]
    ['add user', 'sign in']
    """

    def __init__(self, location: str | os.PathLike[str]) -> None:
        from ..store.postgis import is_database_url

        self._lock = threading.Lock()
        if is_database_url(location):
            from ..store.postgis import _parse

            conninfo, schema, shown = _parse(str(location))
            if "schema=" not in str(location):
                schema = DEFAULT_ACCOUNTS_SCHEMA
            self._pg: tuple[str, str] | None = (conninfo, schema)
            self.path = None
            self.location = shown.split("?")[0] + f"?schema={schema}"
            with self._db() as db:
                db.execute(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')  # on the search path
                for statement in _SCHEMA.format(**_POSTGRES_TYPES).split(";"):
                    if statement.strip():
                        db.execute(statement)
            return
        self._pg = None
        self.path = Path(location)
        self.location = str(self.path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        db = sqlite3.connect(self.path, timeout=30)
        try:
            db.execute("PRAGMA journal_mode = WAL")
            db.executescript(_SCHEMA.format(**_SQLITE_TYPES))  # IF NOT EXISTS: safe each start
            columns = {row[1] for row in db.execute("PRAGMA table_info(submissions)")}
            if "data" not in columns:  # a file of the first release: uploads kept in a folder
                db.execute("ALTER TABLE submissions ADD COLUMN data BLOB")
        finally:
            db.close()

    @contextlib.contextmanager
    def _db(self) -> Iterator[Any]:
        """One write-serialised transaction: ``BEGIN IMMEDIATE`` (SQLite) or a
        transaction holding an advisory lock (PostgreSQL). Yields an object whose
        ``execute(sql, params)`` takes ``?`` placeholders on both."""
        if self._pg is not None:
            with self._lock, _Postgres(*self._pg) as db:
                yield db
            return
        with self._lock:
            db = sqlite3.connect(self.path, timeout=30, isolation_level=None)
            db.row_factory = sqlite3.Row
            db.execute("PRAGMA foreign_keys = ON")
            try:
                db.execute("BEGIN IMMEDIATE")
                yield db
                db.execute("COMMIT")
            except BaseException:
                if db.in_transaction:
                    db.execute("ROLLBACK")
                raise
            finally:
                db.close()

    # -- users -------------------------------------------------------------------------
    def add_user(self, name: str, role: str, password: str, *, replace: bool = False) -> None:
        """Create (or with ``replace``, reset) the account ``name`` with ``role``."""
        if role not in ROLES:
            raise OptionError(f"role {role!r} is not one of {', '.join(ROLES)} (readers need "
                              "no account).")
        if not name or not name.replace("_", "").replace("-", "").replace(".", "").isalnum():
            raise OptionError(f"user name {name!r}: use letters, digits, '_', '-' and '.'.")
        hashed = hash_password(password)
        with self._db() as db:
            exists = db.execute("SELECT 1 FROM users WHERE name = ?", (name,)).fetchone()
            if exists and not replace:
                raise OptionError(f"user {name!r} exists already; pass replace=True "
                                  "(--replace) to reset the password and role.")
            db.execute("INSERT INTO users VALUES (?, ?, ?, ?) ON CONFLICT (name) DO UPDATE "
                       "SET role = excluded.role, password = excluded.password, "
                       "created = excluded.created", (name, role, hashed, _now().isoformat()))
            self._log(db, None, "add user", name, role, None)

    def users(self) -> list[dict[str, Any]]:
        """Names and roles (never the password hashes)."""
        with self._db() as db:
            return [dict(r) for r in db.execute("SELECT name, role, created FROM users "
                                                "ORDER BY name")]

    # -- sessions ----------------------------------------------------------------------
    def sign_in(self, name: str, password: str, *, client: str | None = None) -> str:
        """Check the password and open a session; return its token (for the cookie)."""
        with self._db() as db:
            row = db.execute("SELECT password FROM users WHERE name = ?", (name,)).fetchone()
        ok = verify_password(password, row["password"] if row else
                             "scrypt$32768$8$1$00$00")  # same work for unknown names
        with self._db() as db:
            if not (row and ok):
                self._log(db, name, "failed sign in", None, None, client)
        if not (row and ok):
            raise AuthError("wrong user name or password.")
        with self._db() as db:
            token = secrets.token_urlsafe(32)
            db.execute("DELETE FROM sessions WHERE expires < ?", (_now().isoformat(),))
            db.execute("INSERT INTO sessions VALUES (?, ?, ?, ?)",
                       (_sha(token), name, secrets.token_urlsafe(32),
                        (_now() + timedelta(hours=SESSION_HOURS)).isoformat()))
            self._log(db, name, "sign in", None, None, client)
        return token

    def session(self, token: str | None) -> Session | None:
        """The live session of a cookie token, or ``None``."""
        if not token:
            return None
        with self._db() as db:
            row = db.execute(
                'SELECT s."user", u.role, s.csrf, s.expires FROM sessions s JOIN users u '
                'ON u.name = s."user" WHERE s.token_sha256 = ?', (_sha(token),)).fetchone()
        if row is None or row["expires"] < _now().isoformat():
            return None
        return Session(row["user"], row["role"], row["csrf"])

    def sign_out(self, token: str, *, client: str | None = None) -> None:
        with self._db() as db:
            row = db.execute('SELECT "user" FROM sessions WHERE token_sha256 = ?',
                             (_sha(token),)).fetchone()
            db.execute("DELETE FROM sessions WHERE token_sha256 = ?", (_sha(token),))
            if row:
                self._log(db, row["user"], "sign out", None, None, client)

    # -- submissions -------------------------------------------------------------------
    def add_submission(self, *, layer: str, kind: str, file: Path, filename: str, source: str,
                       licence: str, note: str, n_features: int | None, user: str,
                       client: str | None) -> int:
        """Keep the validated upload ``file`` (its bytes, in the store) waiting for review;
        return the submission's number."""
        data = Path(file).read_bytes()
        with self._db() as db:
            row = db.execute(
                "INSERT INTO submissions (layer, kind, file, filename, source, licence, note, "
                "n_features, submitted_by, submitted_at, data) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
                (layer, kind, Path(file).name, filename, source, licence, note, n_features,
                 user, _now().isoformat(), data)).fetchone()
            sub_id = int(row["id"])
            self._log(db, user, "submit", layer, f"submission {sub_id}: {filename}", client)
        return sub_id

    def submission_file(self, sub_id: int, folder: Path) -> Path:
        """Write the uploaded file of submission ``sub_id`` into ``folder`` (under the name
        the server gave it) and return its path."""
        with self._db() as db:
            row = db.execute("SELECT file, data FROM submissions WHERE id = ?",
                             (sub_id,)).fetchone()
        if row is None or row["data"] is None:
            raise OptionError(f"submission {sub_id} has no stored file (reviewed already).")
        target = Path(folder) / Path(row["file"]).name
        target.write_bytes(bytes(row["data"]))
        return target

    def submissions(self, status: str | None = None) -> list[dict[str, Any]]:
        with self._db() as db:
            sql = _SUBMISSION_COLUMNS
            rows = db.execute(sql + " WHERE status = ? ORDER BY id", (status,)) if status \
                else db.execute(sql + " ORDER BY id")
            return [dict(r) for r in rows]

    def submission(self, sub_id: int) -> dict[str, Any]:
        with self._db() as db:
            row = db.execute(_SUBMISSION_COLUMNS + " WHERE id = ?", (sub_id,)).fetchone()
        if row is None:
            raise OptionError(f"no submission {sub_id}.")
        return dict(row)

    def review(self, sub_id: int, *, status: str, user: str, client: str | None,
               version: int | None = None) -> None:
        """Mark a pending submission ``published`` or ``rejected`` (once)."""
        with self._db() as db:
            row = db.execute("SELECT status, layer FROM submissions WHERE id = ?",
                             (sub_id,)).fetchone()
            if row is None:
                raise OptionError(f"no submission {sub_id}.")
            if row["status"] != "pending":
                raise OptionError(f"submission {sub_id} is {row['status']} already.")
            db.execute("UPDATE submissions SET status = ?, reviewed_by = ?, reviewed_at = ?, "
                       "version = ?, data = NULL WHERE id = ?",
                       (status, user, _now().isoformat(), version, sub_id))
            verb = "publish" if status == "published" else "reject"
            self._log(db, user, verb, row["layer"],
                      f"submission {sub_id}" + (f" as version {version}" if version else ""),
                      client)

    # -- audit -------------------------------------------------------------------------
    def _log(self, db: Any, user: str | None, action: str, target: str | None,
             detail: str | None, client: str | None) -> None:
        db.execute('INSERT INTO audit (at, "user", action, target, detail, client) '

                   "VALUES (?, ?, ?, ?, ?, ?)",
                   (_now().isoformat(), user, action, target, detail, client))

    def audit(self, limit: int = 500) -> list[dict[str, Any]]:
        """The latest ``limit`` entries of the audit log, oldest first."""
        with self._db() as db:
            rows = db.execute("SELECT * FROM audit ORDER BY id DESC LIMIT ?", (int(limit),))
            return [dict(r) for r in rows][::-1]


_SUBMISSION_COLUMNS = ("SELECT id, layer, kind, file, filename, source, licence, note, "
                       "n_features, submitted_by, submitted_at, status, reviewed_by, "
                       "reviewed_at, version FROM submissions")


class _Postgres:
    """A transaction on the PostgreSQL accounts schema, queued behind an advisory lock
    (as SQLite's ``BEGIN IMMEDIATE`` queues writers); rows come as dicts and SQL is
    written with ``?`` placeholders."""

    def __init__(self, conninfo: str, schema: str) -> None:
        self.conninfo, self.schema = conninfo, schema

    def __enter__(self) -> _Postgres:
        import psycopg
        from psycopg.rows import dict_row

        self.con = psycopg.connect(self.conninfo, row_factory=dict_row)
        self.con.execute("SELECT pg_advisory_xact_lock(%s)", (_LOCK_KEY,))
        self.con.execute(f'SET LOCAL search_path TO "{self.schema}"')
        return self

    def execute(self, sql: str, params: tuple[Any, ...] = ()) -> Any:
        return self.con.execute(sql.replace("?", "%s"), params)

    def __exit__(self, kind: Any, exc: Any, tb: Any) -> None:
        try:
            if kind is None:
                self.con.commit()
            else:
                self.con.rollback()
        finally:
            self.con.close()


def _sha(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def check_csrf(session: Session | None, token: str | None) -> None:
    """Raise :class:`AuthError` unless ``token`` is the session's CSRF token."""
    if session is None:
        raise AuthError("sign in first.")
    if not token or not hmac.compare_digest(str(token), session.csrf):
        raise AuthError("the form's security token is missing or stale; reload the page and "
                        "send the form again.")
