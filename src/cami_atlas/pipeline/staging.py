"""Output sets written atomically: stage beside ``--out``, swap on success.

Every command of ``cami-atlas`` (and :func:`cami_atlas.pipeline.run_steps`) writes its
files through :class:`StagedOutputs` (a folder of outputs) or :class:`StagedFile` (one
file, such as ``map --out map.html``):

1. :meth:`StagedOutputs.check`, before any work and before anything is created:
   outputs of the set that exist already are refused without ``overwrite``; the folder
   that will receive the outputs is probed by creating (and removing) a temporary
   folder in it, so a read-only or immutable location fails here, with one line; the
   free space is compared with an estimate of the set's size. Staging folders of
   processes that are no longer alive are removed (see 4).
2. Entering the context creates ``--out`` (empty, if missing) and a staging folder
   beside it, ``.OUTNAME.staging-<pid>``; the writers write into the staging folder.
3. On success, the entries of ``--out`` that are not part of the set (a user's own
   files) are hard-linked into the staging folder, then the staging folder and
   ``--out`` are exchanged in one ``renameat2(RENAME_EXCHANGE)`` (Linux); where that
   call does not exist, ``--out`` is renamed to ``.OUTNAME.old-<pid>`` and the staging
   folder renamed into place. The old folder is then removed. A process killed at any
   moment therefore leaves ``--out`` holding either its complete old set or the complete
   new set; files of the set that the new run does not write (for example an old
   ``hotspot_report.pdf`` when ``--pdf`` is not given) do not survive a swap, so old and
   new files are never mixed.
4. On failure, the staging folder is removed and ``--out`` is left as it was (removed again
   if this job created it and it is still empty). A killed
   process leaves at most its staging (or old) folder; the next run towards the same
   ``--out`` removes it once its process id is dead, and restores ``--out`` from an
   ``.old-<pid>`` folder if the kill fell between the two renames of the fallback.

Where ``--out`` cannot be renamed (it is a mount point, the working directory or one of
its parents, or its parent folder is not writable), the staging folder is made inside
``--out`` and the files are moved in one by one, each move atomic.

Disk errors become one :class:`~cami_atlas.errors.LayerWriteError` line that names the
folder and the cause, e.g. ``no space left on device while writing barrier_lengths.csv
into out/; free space or choose another --out``.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import os
import re
import shutil
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from types import TracebackType
from typing import Any

from ..errors import CamiAtlasError, LayerWriteError, OutputExistsError

__all__ = ["StagedFile", "StagedOutputs", "remove_stale", "staging_folders"]

_STAGING = ".staging-"
_OLD = ".old-"
_RENAME_EXCHANGE = 2
#: Margin kept free on top of the estimated size of an output set (bytes).
FREE_MARGIN_BYTES = 1 << 20
_NO_SPACE = (errno.ENOSPC, errno.EDQUOT, errno.EFBIG)
_NO_WRITE = (errno.EACCES, errno.EPERM, errno.EROFS)


def _pid_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _rmtree(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        with contextlib.suppress(FileNotFoundError, IsADirectoryError, PermissionError):
            path.unlink()


def staging_folders(out: str | os.PathLike[str]) -> list[Path]:
    """Staging and old folders left beside ``out`` by runs towards it (any process).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> staging_folders(pathlib.Path(tempfile.mkdtemp()) / "out")
    []
    """
    out = Path(os.path.abspath(out))
    found: list[Path] = []
    for where, prefix in ((out.parent, f".{out.name}"), (out, "")):
        if not where.is_dir():
            continue
        with contextlib.suppress(OSError):
            found += [p for p in where.iterdir()
                      if p.name.startswith(prefix + _STAGING) or p.name.startswith(prefix + _OLD)]
    return sorted(found)


def remove_stale(out: str | os.PathLike[str]) -> list[Path]:
    """Remove the staging / old folders of dead processes beside ``out``; return them.

    If ``out`` is missing and an old folder of a dead process exists (a kill between the
    two renames of the fallback swap), that folder is renamed back to ``out`` first.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> base = pathlib.Path(tempfile.mkdtemp())
    >>> (base / ".out.staging-999999999").mkdir()
    >>> [p.name for p in remove_stale(base / "out")]
    ['.out.staging-999999999']
    """
    out = Path(os.path.abspath(out))
    removed = []
    for path in staging_folders(out):
        try:
            pid = int(path.name.rsplit("-", 1)[1].split(".", 1)[0])
        except (IndexError, ValueError):
            continue
        if _pid_alive(pid):
            continue
        if _OLD in path.name and path.parent == out.parent and not out.exists():
            with contextlib.suppress(OSError):
                os.rename(path, out)
                continue
        _rmtree(path)
        removed.append(path)
    return removed


def _exchange(a: Path, b: Path) -> bool:
    """Swap two paths atomically (Linux renameat2); False where the call is unavailable."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    at_fdcwd = -100
    res = renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), _RENAME_EXCHANGE)
    if res == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP):
        return False
    raise OSError(err, os.strerror(err), str(b))


def _link_tree(src: Path, dst: Path) -> None:
    """Recreate ``src`` at ``dst`` with hard links (copies where links are refused)."""
    if src.is_symlink():
        os.symlink(os.readlink(src), dst)
    elif src.is_dir():
        dst.mkdir()
        shutil.copystat(src, dst)
        for child in src.iterdir():
            _link_tree(child, dst / child.name)
    else:
        try:
            os.link(src, dst)
        except OSError:
            shutil.copy2(src, dst)


def _probe(folder: Path) -> None:
    """Create and remove a folder in ``folder`` (the nearest existing ancestor)."""
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    probe = Path(tempfile.mkdtemp(prefix=".cami-atlas-probe-", dir=folder))
    probe.rmdir()


def _cause(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror.lower()
    return str(exc)


def _errno_of(exc: BaseException) -> int | None:
    """The errno of ``exc`` or of an exception in its chain (GDAL wraps OS errors)."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, OSError) and seen.errno is not None:
            return seen.errno
        text = str(seen)
        if "No space left on device" in text or "database or disk is full" in text:
            return errno.ENOSPC
        if "Read-only file system" in text:
            return errno.EROFS
        seen = seen.__cause__ or seen.__context__
    return None


def _size_text(n_bytes: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if n_bytes < 1024 or unit == "TiB":
            return f"{n_bytes:,.0f} {unit}" if unit == "B" else f"{n_bytes:,.1f} {unit}"
        n_bytes /= 1024
    raise AssertionError("unreachable")


class StagedOutputs:
    """A set of output files written into a staging folder and swapped into ``out_dir``.

    Parameters
    ----------
    out_dir : str or path
        The output folder (``--out``).
    names : iterable of str
        Every file (or ``sub/file``) the set may hold: those that exist are refused
        without ``overwrite``; on a swap they are replaced by the new set.
    overwrite : bool, default False
        Replace an existing set.
    required_bytes : int, default 0
        Estimated size of the set; the check refuses when less is free
        (plus :data:`FREE_MARGIN_BYTES`).
    option : str, default ``"--out"``
        How error messages name the output (``"out_dir"`` for library callers).
    finish : bool, default True
        Before the swap, add the quick-looks of the set's rasters and a QGIS project of
        its layers (:func:`cami_atlas.pipeline.finish.finish_outputs`); they are part of
        the set.
    atlas : Atlas, optional
        The atlas the set is computed from (also settable as ``.atlas`` later): the set
        gets ``atlas_versions.csv``, the version of every layer used.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> out = pathlib.Path(tempfile.mkdtemp()) / "out"
    >>> staged = StagedOutputs(out, ["a.csv"])
    >>> with staged as folder:
    ...     _ = (folder / "a.csv").write_text("x\\n1\\n")
    >>> sorted(p.name for p in out.iterdir()), staged.final(folder / "a.csv") == out / "a.csv"
    (['a.csv'], True)
    """

    def __init__(self, out_dir: str | os.PathLike[str], names: Iterable[str], *,
                 overwrite: bool = False, required_bytes: int = 0,
                 option: str = "--out", finish: bool = True, atlas: Any = None) -> None:
        self.out = Path(os.path.abspath(out_dir))
        if self.out.is_symlink():  # swap the folder the link points to, keep the link
            self.out = Path(os.path.realpath(self.out))
        self.shown = Path(out_dir)
        self.names = list(dict.fromkeys(names))
        self.finish = finish
        self.atlas = atlas  # set it (also later, before the set is written) to record versions
        self.derived: list[str] = []  # the quick-looks and QGIS project of the set
        if finish:
            from .finish import derived_names

            self.derived = [n for n in derived_names(self.names) if n not in self.names]
        self.overwrite = overwrite
        self.required_bytes = int(required_bytes)
        self.option = option
        self.staging: Path | None = None
        self.swap = True
        self._checked = False
        self._created = False

    # -- before any work ------------------------------------------------------------------
    def existing(self) -> list[str]:
        """Names of the set that exist in ``out_dir`` already (the command's own outputs;
        the quick-looks and QGIS project only when none of those exists)."""
        own = [n for n in self.names if (self.out / n).exists()]
        return own or [n for n in self.derived if (self.out / n).exists()]

    def check(self) -> StagedOutputs:
        """Refuse existing outputs, an unwritable location or a full disk; create nothing.

        Raises
        ------
        OutputExistsError
            Outputs of the set exist and ``overwrite`` is false.
        LayerWriteError
            ``out_dir`` is a file, its location is not writable, or the disk has less
            free space than the estimate.
        """
        if self.out.exists() and not self.out.is_dir():
            raise LayerWriteError(f"{self.shown} is a file; {self.option} must be a folder. "
                                  f"Choose another {self.option}.")
        remove_stale(self.out)
        existing = self.existing()
        if existing and not self.overwrite:
            raise OutputExistsError(
                f"{self.shown} already holds {', '.join(existing)}; pass {self._flag} to "
                f"replace them or choose another {self.option} folder.")
        self.swap = self._can_swap()
        target = self.out.parent if self.swap else self.out
        # the parent receives the staging folder; an existing --out is renamed or written
        for folder in dict.fromkeys([target, self.out] if self.out.is_dir() else [target]):
            try:
                _probe(folder)
            except OSError as exc:
                raise self._write_error(exc, where=folder) from None
        self._check_space(target)
        self._checked = True
        return self

    @property
    def _flag(self) -> str:
        return "--overwrite" if self.option.startswith("--") else "overwrite=True"

    def _can_swap(self) -> bool:
        out = self.out
        if out.exists():
            cwd = Path(os.getcwd())
            if os.path.ismount(out) or cwd == out or out in cwd.parents:
                return False
            try:
                _probe(out.parent)
            except OSError:
                return False
        return True

    def need(self, n_bytes: int) -> None:
        """Raise the size estimate to ``n_bytes`` (known after an analysis) and re-check
        the free space; :class:`~cami_atlas.errors.LayerWriteError` if it does not fit."""
        self.required_bytes = max(self.required_bytes, int(n_bytes))
        self._check_space(self.out.parent if self.swap else self.out)

    def _check_space(self, folder: Path) -> None:
        while not folder.exists() and folder != folder.parent:
            folder = folder.parent
        free = shutil.disk_usage(folder).free
        need = self.required_bytes + FREE_MARGIN_BYTES if self.required_bytes else 0
        if need and free < need:
            raise LayerWriteError(
                f"no space left on device for the outputs in {self.shown}: "
                f"{_size_text(free)} free in {folder}, about {_size_text(need)} needed; "
                f"free space or choose another {self.option}.")

    def _write_error(self, exc: BaseException, *, where: Path | None = None,
                     file: str | None = None) -> LayerWriteError:
        code = _errno_of(exc)
        into = f" into {self.shown}" if file else f" in {where or self.shown}"
        what = f"while writing {file}{into}" if file else f"cannot write{into}"
        if code in _NO_SPACE:
            return LayerWriteError(f"no space left on device {what}; free space or choose "
                                   f"another {self.option}.")
        if file is None:
            return LayerWriteError(f"{what}: {_cause(exc)}; choose another {self.option} or "
                                   "make the folder writable.")
        return LayerWriteError(f"{_cause(exc)} {what}; choose another {self.option} or make "
                               "the folder writable.")

    # -- writing --------------------------------------------------------------------------
    def __enter__(self) -> Path:
        if not self._checked:
            self.check()
        try:
            self._created = not self.out.exists()
            self.out.mkdir(parents=True, exist_ok=True)
            if self.swap:
                self.staging = self.out.parent / f".{self.out.name}{_STAGING}{os.getpid()}"
            else:
                self.staging = self.out / f"{_STAGING}{os.getpid()}"
            _rmtree(self.staging)
            self.staging.mkdir()
        except OSError as exc:
            raise self._write_error(exc, where=self.out.parent) from None
        return self.staging

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        assert self.staging is not None
        if exc is None:
            try:
                if self.finish:
                    self._finish()
                self._commit()
                return
            except BaseException as err:
                exc = err
                if not isinstance(err, Exception):
                    _rmtree(self.staging)
                    raise
        code = _errno_of(exc)
        disk = (code in _NO_SPACE or code in _NO_WRITE) and not (
            isinstance(exc, CamiAtlasError) and not isinstance(exc, OSError))
        file = self._file_of(exc) if disk else ""
        _rmtree(self.staging)
        if self._created:  # a failed job leaves no empty --out behind
            with contextlib.suppress(OSError):
                self.out.rmdir()
        if disk:
            raise self._write_error(exc, file=file) from exc
        if exc_type is None:
            raise exc

    def _file_of(self, exc: BaseException) -> str:
        """The output being written when ``exc`` happened (its name in the set)."""
        staging = self.staging
        assert staging is not None
        seen: BaseException | None = exc
        while seen is not None:
            name = getattr(seen, "filename", None)
            if name:
                path = Path(os.fsdecode(name))
                try:
                    return _output_name(path.relative_to(staging))
                except ValueError:
                    return _output_name(Path(path.name))
            # GDAL and SQLite name the file only in their message
            found = re.search(re.escape(str(staging)) + r"/([^\s:'\"]+)", str(seen))
            if found:
                return _output_name(Path(found.group(1)))
            seen = seen.__cause__ or seen.__context__
        files = [p for p in staging.rglob("*") if p.is_file()]
        if files:  # the file being written is the newest one
            newest = max(files, key=lambda p: p.stat().st_mtime_ns)
            return _output_name(newest.relative_to(staging))
        return "the outputs"

    def _finish(self) -> None:
        from .finish import finish_outputs

        staging = self.staging
        assert staging is not None
        added = finish_outputs(staging, title=self.out.name, atlas=self.atlas)
        self.derived += [p.relative_to(staging).as_posix() for p in added]

    def _commit(self) -> None:
        staging = self.staging
        assert staging is not None
        owned = {Path(n).parts[0] for n in [*self.names, *self.derived] if Path(n).parts}
        if self.swap:
            for entry in list(self.out.iterdir()):
                if entry.name in owned or (staging / entry.name).exists():
                    continue
                _link_tree(entry, staging / entry.name)
            shutil.copystat(self.out, staging)  # the folder keeps its permissions
            if _exchange(staging, self.out):
                old = staging
            else:
                old = self.out.parent / f".{self.out.name}{_OLD}{os.getpid()}"
                os.rename(self.out, old)
                os.rename(staging, self.out)
            _rmtree(old)
        else:
            written = {p.name for p in staging.iterdir()}
            for name in owned - written:
                _rmtree(self.out / name)
            for entry in staging.iterdir():
                target = self.out / entry.name
                if target.is_dir() and not target.is_symlink():
                    aside = staging.with_name(f"{_OLD}{os.getpid()}")
                    os.rename(target, aside)
                    os.replace(entry, target)
                    _rmtree(aside)
                else:
                    os.replace(entry, target)
            _rmtree(staging)

    def final(self, path: str | os.PathLike[str]) -> Path:
        """Where a path written in the staging folder lives once the set is in place."""
        path = Path(path)
        if self.staging is not None:
            with contextlib.suppress(ValueError):
                return self.out / path.relative_to(self.staging)
        return path


def _output_name(rel: Path) -> str:
    """``.barrier_lengths.csv.abcd1234.part.csv`` (a temporary of atomic_path) -> the output.

    Examples
    --------
    >>> _output_name(Path(".classified_segments.gpkg.k2j4_x9a.part.gpkg-journal"))
    'classified_segments.gpkg'
    >>> _output_name(Path("sub/a.csv"))
    'sub/a.csv'
    """
    found = re.match(r"^\.(?P<name>.+)\.[A-Za-z0-9_]{8}\.part", rel.name)
    return str(rel.with_name(found["name"]) if found else rel)


class StagedFile:
    """One output file written into a staging folder beside it and renamed into place.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> target = pathlib.Path(tempfile.mkdtemp()) / "map.html"
    >>> with StagedFile(target) as tmp:
    ...     _ = tmp.write_text("<!doctype html>")
    >>> target.read_text()
    '<!doctype html>'
    """

    def __init__(self, path: str | os.PathLike[str], *, overwrite: bool = False,
                 required_bytes: int = 0, option: str = "--out") -> None:
        self.path = Path(os.path.abspath(path))
        self.shown = Path(path)
        self.overwrite = overwrite
        self.option = option
        self._set = StagedOutputs(self.path.parent, [], required_bytes=required_bytes,
                                  option=option)
        self.staging: Path | None = None
        self._checked = False

    def check(self) -> StagedFile:
        """Refuse an existing file without ``overwrite``, an unwritable folder, a full disk."""
        if self.path.is_dir():
            raise LayerWriteError(f"{self.shown} is a folder; {self.option} must be a file "
                                  "name.")
        remove_stale(self.path)
        if self.path.exists() and not self.overwrite:
            raise OutputExistsError(
                f"{self.shown} exists already; choose another output or pass overwrite=True "
                "(--overwrite on the command line) to replace it.")
        try:
            _probe(self.path.parent)
        except OSError as exc:
            raise self._set._write_error(exc, where=self.path.parent) from None
        self._set._check_space(self.path.parent)
        self._checked = True
        return self

    def __enter__(self) -> Path:
        if not self._checked:
            self.check()
        folder = self.path.parent / f".{self.path.name}{_STAGING}{os.getpid()}"
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            _rmtree(folder)
            folder.mkdir()
        except OSError as exc:
            raise self._set._write_error(exc, where=self.path.parent) from None
        self.staging = folder
        return folder / self.path.name

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        assert self.staging is not None
        folder, self.staging = self.staging, None
        try:
            if exc is None:
                try:
                    os.replace(folder / self.path.name, self.path)
                    return
                except OSError as err:
                    exc = err
            code = _errno_of(exc)
            if code in _NO_SPACE or code in _NO_WRITE:
                self._set.shown = self.shown.parent
                raise self._set._write_error(exc, file=self.path.name) from exc
            if exc_type is None:
                raise exc
        finally:
            _rmtree(folder)


@contextlib.contextmanager
def staged_outputs(out_dir: str | os.PathLike[str], names: Iterable[str], *,
                   overwrite: bool = False, required_bytes: int = 0) -> Iterator[Path]:
    """Function form of :class:`StagedOutputs` (yields the staging folder).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> out = pathlib.Path(tempfile.mkdtemp()) / "o"
    >>> with staged_outputs(out, ["t.txt"]) as folder:
    ...     _ = (folder / "t.txt").write_text("t")
    >>> (out / "t.txt").read_text()
    't'
    """
    with StagedOutputs(out_dir, names, overwrite=overwrite,
                       required_bytes=required_bytes) as folder:
        yield folder
