"""``.npz`` files: reading with clear errors, and writing byte-reproducibly."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import numpy as np

from .errors import DataError

_ZIP_TIME = (1980, 1, 1, 0, 0, 0)


def read_npz(path: str | Path, what: str) -> dict[str, np.ndarray]:
    """All arrays of an ``.npz`` file; any problem is a :class:`DataError` naming ``what`` and
    the file (``what``: "weights file", "trace", …)."""
    path = Path(path)
    if not path.exists():
        raise DataError(f"{what} {path}: no such file")
    if not path.is_file():
        raise DataError(f"{what} {path}: not a file")
    if not zipfile.is_zipfile(path):
        raise DataError(f"{what} {path}: not an .npz archive")
    try:
        with np.load(path, allow_pickle=False) as npz:
            return {k: npz[k] for k in npz.files}
    except (OSError, ValueError, EOFError, zipfile.BadZipFile, KeyError) as exc:
        raise DataError(f"{what} {path}: not a readable .npz archive ({exc})") from None


def write_npz(path: str | Path, arrays: dict[str, np.ndarray]) -> None:
    """An ``.npz`` readable by ``numpy.load`` whose bytes depend only on ``arrays``
    (fixed timestamps, sorted entries)."""
    with zipfile.ZipFile(path, "w") as zf:
        for name in sorted(arrays):
            buf = io.BytesIO()
            np.lib.format.write_array(buf, np.ascontiguousarray(arrays[name]), allow_pickle=False)
            info = zipfile.ZipInfo(f"{name}.npy", date_time=_ZIP_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            zf.writestr(info, buf.getvalue(), compresslevel=6)
