"""Atomic file output: write to a temporary file beside the target, then rename.

An interrupted write never leaves a half-written output, and an existing output
is never replaced unless ``overwrite=True``.
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path

from .errors import LayerWriteError, OutputExistsError


def check_writable(path: str | os.PathLike[str], *, overwrite: bool) -> Path:
    """Raise :class:`OutputExistsError` if ``path`` exists and ``overwrite`` is false.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "new.csv"
    >>> check_writable(p, overwrite=False) == p
    True
    """
    path = Path(path)
    if path.exists() and not overwrite:
        raise OutputExistsError(
            f"{path} exists already; choose another output or pass overwrite=True "
            "(--overwrite on the command line) to replace it."
        )
    return path


def prepare_outputs(out_dir: str | os.PathLike[str], names: Iterable[str], *,
                    overwrite: bool) -> Path:
    """Check every output ``names`` in ``out_dir`` before anything is written, then create it.

    Raises :class:`OutputExistsError` for the first one that exists unless ``overwrite``.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> out = prepare_outputs(pathlib.Path(tempfile.mkdtemp()) / "run", ["a.csv"], overwrite=False)
    >>> out.is_dir()
    True
    """
    out = Path(out_dir)
    for name in names:
        check_writable(out / name, overwrite=overwrite)
    out.mkdir(parents=True, exist_ok=True)
    return out


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike[str], *, overwrite: bool = False) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it onto ``path`` on success.

    If the block raises, the temporary file is removed and ``path`` is untouched.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> out = pathlib.Path(tempfile.mkdtemp()) / "table.csv"
    >>> with atomic_path(out) as tmp:
    ...     _ = tmp.write_text("a,b\\n1,2\\n")
    >>> out.read_text()
    'a,b\\n1,2\\n'
    """
    path = check_writable(path, overwrite=overwrite)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part" + path.suffix,
                                    dir=path.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    tmp.unlink()  # writers such as GDAL want to create the file themselves
    try:
        yield tmp
        if not tmp.exists():
            raise LayerWriteError(f"nothing was written for {path}")
        os.replace(tmp, path)
    except BaseException as exc:
        full = isinstance(exc, Exception) and _disk_full(path.parent)
        if tmp.is_dir():
            shutil.rmtree(tmp, ignore_errors=True)
        else:
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()
        if full and not (isinstance(exc, OSError) and exc.errno == errno.ENOSPC):
            # GDAL and SQLite report a full disk as a failed statement ("no such table")
            raise LayerWriteError(errno.ENOSPC, "No space left on device", str(path)) from exc
        raise


#: Below this much free space, a failed write is taken for a full disk.
FULL_DISK_BYTES = 1 << 20


def _disk_full(folder: Path) -> bool:
    try:
        return shutil.disk_usage(folder).free < FULL_DISK_BYTES
    except OSError:
        return False


def write_text_atomic(path: str | os.PathLike[str], text: str, *, overwrite: bool = False) -> Path:
    """Write ``text`` to ``path`` atomically (UTF-8).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = write_text_atomic(pathlib.Path(tempfile.mkdtemp()) / "s.txt", "hi")
    >>> p.read_text()
    'hi'
    """
    path = Path(path)
    with atomic_path(path, overwrite=overwrite) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return path
