"""A lock file beside an atlas, so that only one process at a time writes it.

``my_atlas.gpkg`` is locked through ``my_atlas.gpkg.lock``: the writer holds an
exclusive ``flock`` on that file (POSIX; the kernel drops it when the process
ends, however it ends, so a killed writer never leaves a lock that blocks the
next one) and writes its process id into it, so a process that waits too long
can say who holds the lock. The holder deletes the file when it lets go; a
waiter that obtains the lock of a file that was deleted meanwhile tries again on
the new one, so two processes can never both hold the lock.

On platforms without ``fcntl`` (Windows) the lock file is created exclusively
(``O_EXCL``) and counts as stale when the process id written in it no longer runs.

The lock is re-entrant within a thread: :meth:`cami_atlas.store.Atlas.edit` holds
it while the atlas is re-read, changed and saved, and the save inside takes it
again without waiting for itself.

Examples
--------
>>> import tempfile, pathlib
>>> target = pathlib.Path(tempfile.mkdtemp()) / "a.gpkg"
>>> with AtlasLock(target, timeout_s=1):
...     lock_path(target).exists()
True
>>> lock_path(target).exists()
False
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from pathlib import Path
from types import TracebackType

from ..errors import AtlasLockedError, LayerWriteError

try:  # POSIX
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

__all__ = ["DEFAULT_LOCK_TIMEOUT_S", "LOCK_TIMEOUT_ENV", "AtlasLock", "lock_holder", "lock_path",
           "lock_timeout_s", "pid_running"]

#: Seconds a writer waits for the lock of an atlas before it gives up.
DEFAULT_LOCK_TIMEOUT_S = 300.0
#: Environment variable that overrides :data:`DEFAULT_LOCK_TIMEOUT_S` (seconds).
LOCK_TIMEOUT_ENV = "CAMI_ATLAS_LOCK_TIMEOUT_S"

_registry_guard = threading.Lock()
_held: dict[tuple[str, int], list[int]] = {}  # (lock file, thread) -> [fd, depth]


def lock_path(target: str | os.PathLike[str]) -> Path:
    """The lock file of ``target``: the same name with ``.lock`` appended.

    Examples
    --------
    >>> lock_path("data/my_atlas.gpkg").name
    'my_atlas.gpkg.lock'
    """
    target = Path(target)
    return target.with_name(target.name + ".lock")


def lock_timeout_s(timeout_s: float | None = None) -> float:
    """``timeout_s`` if given, else ``$CAMI_ATLAS_LOCK_TIMEOUT_S``, else 300 s.

    Examples
    --------
    >>> lock_timeout_s(2.5)
    2.5
    """
    if timeout_s is not None:
        return float(timeout_s)
    text = os.environ.get(LOCK_TIMEOUT_ENV, "").strip()
    if not text:
        return DEFAULT_LOCK_TIMEOUT_S
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if value < 0:
        raise LayerWriteError(
            f"{LOCK_TIMEOUT_ENV}={text!r} is not a number of seconds >= 0; set it to e.g. 60 "
            "or unset it (default 300).")
    return value


def pid_running(pid: int) -> bool:
    """True when a process ``pid`` exists on this machine.

    Examples
    --------
    >>> pid_running(os.getpid())
    True
    """
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # it exists, owned by someone else
        return True
    return True


def lock_holder(target: str | os.PathLike[str]) -> int | None:
    """Process id written in the lock file of ``target`` (``None``: no lock file or no id).

    Examples
    --------
    >>> lock_holder("no/such/atlas.gpkg") is None
    True
    """
    try:
        text = lock_path(target).read_text().strip()
    except OSError:
        return None
    return int(text) if text.isdigit() else None


class AtlasLock:
    """Exclusive, cross-process write lock of the atlas file ``target``.

    Parameters
    ----------
    target : path
        The atlas file (it need not exist yet); the lock file is
        :func:`lock_path` of it.
    timeout_s : float, optional
        How long to wait for another writer; default :func:`lock_timeout_s`.
        ``0`` tries once.

    Raises
    ------
    AtlasLockedError
        Another process held the lock for longer than ``timeout_s``; the message
        names the atlas and that process' id.
    LayerWriteError
        The lock file cannot be created (e.g. the folder is read-only).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> target = pathlib.Path(tempfile.mkdtemp()) / "a.gpkg"
    >>> lock = AtlasLock(target, timeout_s=0)
    >>> lock.acquire(); lock.held
    True
    >>> lock.release(); lock.held
    False
    """

    def __init__(self, target: str | os.PathLike[str], *, timeout_s: float | None = None) -> None:
        self.target = Path(target)
        self.path = lock_path(self.target)
        self.timeout_s = lock_timeout_s(timeout_s)
        self.held = False

    def _key(self) -> tuple[str, int]:
        return (os.path.abspath(self.path), threading.get_ident())

    def acquire(self) -> None:
        """Wait for the lock (at most ``timeout_s``) and take it."""
        if self.held:
            return
        key = self._key()
        with _registry_guard:
            entry = _held.get(key)
            if entry is not None:  # this thread holds it already
                entry[1] += 1
                self.held = True
                return
        fd = self._take(time.monotonic() + self.timeout_s)
        with _registry_guard:
            _held[key] = [fd, 1]
        self.held = True

    def release(self) -> None:
        """Let go of the lock (the lock file is removed by the outermost holder)."""
        if not self.held:
            return
        self.held = False
        key = self._key()
        with _registry_guard:
            entry = _held[key]
            entry[1] -= 1
            if entry[1] > 0:
                return
            del _held[key]
        fd = entry[0]
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.path)  # before unlocking: a waiter then sees the file is gone
        if fcntl is not None:
            fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)

    def __enter__(self) -> AtlasLock:
        self.acquire()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.release()

    # -- internals -----------------------------------------------------------------------
    def _open(self, flags: int) -> int:
        try:
            return os.open(self.path, flags, 0o644)
        except FileExistsError:
            raise
        except OSError as exc:
            raise LayerWriteError(
                f"cannot lock atlas {self.target}: the lock file {self.path} cannot be created "
                f"({exc.strerror}). Make the folder writable, or save the atlas elsewhere."
            ) from None

    def _timeout(self) -> AtlasLockedError:
        pid = lock_holder(self.target)
        who = f"process {pid}" if pid is not None else "another process"
        return AtlasLockedError(
            f"atlas {self.target} is locked by {who} (lock file {self.path}), which is writing "
            f"it; gave up after {self.timeout_s:g} s. Wait for that process to finish and try "
            f"again, or allow a longer wait with {LOCK_TIMEOUT_ENV}=SECONDS.")

    def _take(self, deadline: float) -> int:
        delay = 0.01
        while True:
            fd = self._try_once()
            if fd is not None:
                os.ftruncate(fd, 0)
                os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
                return fd
            if time.monotonic() >= deadline:
                raise self._timeout()
            time.sleep(delay)
            delay = min(delay * 2, 0.2)

    def _try_once(self) -> int | None:
        """The descriptor of the lock file if the lock was taken now, else ``None``."""
        if fcntl is None:  # pragma: no cover - Windows
            return self._try_exclusive_create()
        fd = self._open(os.O_RDWR | os.O_CREAT)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return None
        try:
            on_disk = os.stat(self.path)
        except FileNotFoundError:
            on_disk = None
        mine = os.fstat(fd)
        if on_disk is None or (on_disk.st_dev, on_disk.st_ino) != (mine.st_dev, mine.st_ino):
            # the holder removed the file between our open and our lock: try the new one
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)
            return self._try_once()
        return fd

    def _try_exclusive_create(self) -> int | None:  # pragma: no cover - Windows
        try:
            return self._open(os.O_RDWR | os.O_CREAT | os.O_EXCL)
        except FileExistsError:
            pid = lock_holder(self.target)
            if pid is not None and not pid_running(pid):
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(self.path)
            return None
