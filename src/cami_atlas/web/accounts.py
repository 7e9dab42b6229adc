"""Accounts of the served atlas: users with roles, sessions, CSRF tokens, layer submissions
waiting for review, and an audit log, in one SQLite file.

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

The accounts file is separate from the atlas store (GeoPackage or PostGIS): a reader-only
deployment needs none. ``cami-atlas users add NAME --role editor --accounts FILE`` creates
accounts; ``cami-atlas serve --accounts FILE`` turns sign-in, contribution and review on.
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

__all__ = ["ROLES", "SESSION_HOURS", "AccountStore", "AuthError", "Session", "check_csrf",
           "hash_password", "verify_password"]

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
    token_sha256 TEXT PRIMARY KEY, user TEXT NOT NULL REFERENCES users(name) ON DELETE CASCADE,
    csrf TEXT NOT NULL, expires TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS submissions (
    id INTEGER PRIMARY KEY AUTOINCREMENT, layer TEXT NOT NULL, kind TEXT NOT NULL,
    file TEXT NOT NULL, filename TEXT NOT NULL, source TEXT NOT NULL, licence TEXT NOT NULL,
    note TEXT NOT NULL, n_features INTEGER, submitted_by TEXT NOT NULL,
    submitted_at TEXT NOT NULL, status TEXT NOT NULL DEFAULT 'pending',
    reviewed_by TEXT, reviewed_at TEXT, version INTEGER);
CREATE TABLE IF NOT EXISTS audit (
    id INTEGER PRIMARY KEY AUTOINCREMENT, at TEXT NOT NULL, user TEXT, action TEXT NOT NULL,
    target TEXT, detail TEXT, client TEXT);
"""


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
    """Users, sessions, submissions and the audit log in the SQLite file ``path``.

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

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.uploads = self.path.with_name(self.path.stem + "_uploads")
        self._lock = threading.Lock()
        db = sqlite3.connect(self.path, timeout=30)
        try:
            db.execute("PRAGMA journal_mode = WAL")
            db.executescript(_SCHEMA)  # CREATE ... IF NOT EXISTS: safe on every start
        finally:
            db.close()

    @contextlib.contextmanager
    def _db(self) -> Iterator[sqlite3.Connection]:
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
            db.execute("INSERT OR REPLACE INTO users VALUES (?, ?, ?, ?)",
                       (name, role, hashed, _now().isoformat()))
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
                "SELECT s.user, u.role, s.csrf, s.expires FROM sessions s JOIN users u "
                "ON u.name = s.user WHERE s.token_sha256 = ?", (_sha(token),)).fetchone()
        if row is None or row["expires"] < _now().isoformat():
            return None
        return Session(row["user"], row["role"], row["csrf"])

    def sign_out(self, token: str, *, client: str | None = None) -> None:
        with self._db() as db:
            row = db.execute("SELECT user FROM sessions WHERE token_sha256 = ?",
                             (_sha(token),)).fetchone()
            db.execute("DELETE FROM sessions WHERE token_sha256 = ?", (_sha(token),))
            if row:
                self._log(db, row["user"], "sign out", None, None, client)

    # -- submissions -------------------------------------------------------------------
    def add_submission(self, *, layer: str, kind: str, file: Path, filename: str, source: str,
                       licence: str, note: str, n_features: int | None, user: str,
                       client: str | None) -> int:
        with self._db() as db:
            cur = db.execute(
                "INSERT INTO submissions (layer, kind, file, filename, source, licence, note, "
                "n_features, submitted_by, submitted_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (layer, kind, str(file), filename, source, licence, note, n_features, user,
                 _now().isoformat()))
            sub_id = int(cur.lastrowid or 0)
            self._log(db, user, "submit", layer, f"submission {sub_id}: {filename}", client)
        return sub_id

    def submissions(self, status: str | None = None) -> list[dict[str, Any]]:
        with self._db() as db:
            sql = "SELECT * FROM submissions"
            rows = db.execute(sql + " WHERE status = ? ORDER BY id", (status,)) if status \
                else db.execute(sql + " ORDER BY id")
            return [dict(r) for r in rows]

    def submission(self, sub_id: int) -> dict[str, Any]:
        with self._db() as db:
            row = db.execute("SELECT * FROM submissions WHERE id = ?", (sub_id,)).fetchone()
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
                       "version = ? WHERE id = ?",
                       (status, user, _now().isoformat(), version, sub_id))
            verb = "publish" if status == "published" else "reject"
            self._log(db, user, verb, row["layer"],
                      f"submission {sub_id}" + (f" as version {version}" if version else ""),
                      client)

    # -- audit -------------------------------------------------------------------------
    def _log(self, db: sqlite3.Connection, user: str | None, action: str, target: str | None,
             detail: str | None, client: str | None) -> None:
        db.execute("INSERT INTO audit (at, user, action, target, detail, client) "
                   "VALUES (?, ?, ?, ?, ?, ?)",
                   (_now().isoformat(), user, action, target, detail, client))

    def audit(self, limit: int = 500) -> list[dict[str, Any]]:
        """The latest ``limit`` entries of the audit log, oldest first."""
        with self._db() as db:
            rows = db.execute("SELECT * FROM audit ORDER BY id DESC LIMIT ?", (int(limit),))
            return [dict(r) for r in rows][::-1]


def _sha(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def check_csrf(session: Session | None, token: str | None) -> None:
    """Raise :class:`AuthError` unless ``token`` is the session's CSRF token."""
    if session is None:
        raise AuthError("sign in first.")
    if not token or not hmac.compare_digest(str(token), session.csrf):
        raise AuthError("the form's security token is missing or stale; reload the page and "
                        "send the form again.")
