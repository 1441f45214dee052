"""Writing outputs atomically: a file appears whole or not at all, with the permissions the umask gives."""

from __future__ import annotations

import fcntl
import hashlib
import json
import math
import os
import stat
import tempfile
from collections import Counter
from contextlib import contextmanager
from itertools import count
from pathlib import Path
from typing import Any, Dict, Iterable, Iterator, List, Sequence


def current_umask() -> int:
    """The process's umask (read by setting it and putting it back)."""
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextmanager
def atomic_path(path: Path) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success it replaces ``path``, on error it is removed.

    The file gets the mode a plain ``open()`` would give it (0666 less the umask), not the
    private 0600 of a temporary file.
    """
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}.", suffix=path.suffix)
    except OSError as error:  # name the file asked for, not the temporary one
        raise OSError(error.errno, error.strerror, str(path)) from None
    os.close(handle)
    try:
        yield Path(temporary)
        os.chmod(temporary, 0o666 & ~current_umask())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def save_figure(path: Path, figure: Any, **savefig_options: Any) -> None:
    """A matplotlib ``Figure`` as a PNG, written atomically."""
    with atomic_path(path) as temporary:
        figure.savefig(temporary, format="png", **savefig_options)


def finite_or_null(data: Any) -> Any:
    """``data`` with every NaN or infinite float replaced by None (strict JSON has no such numbers;
    e.g. the PSNR of an exact fit is infinite)."""
    if isinstance(data, float):
        return data if math.isfinite(data) else None
    if isinstance(data, dict):
        return {key: finite_or_null(value) for key, value in data.items()}
    if isinstance(data, (list, tuple)):
        return [finite_or_null(value) for value in data]
    return data


def write_json(path: Path, data: Any) -> None:
    """Strict JSON, non-finite numbers as null (:func:`finite_or_null`), written atomically."""
    with atomic_path(path) as temporary:
        temporary.write_text(json.dumps(finite_or_null(data), indent=2, allow_nan=False) + "\n")


def check_output_dir(path: Path, overwrite: bool, resume: bool | None = None) -> Path:
    """Refuse ``path`` when it is not a folder, or holds files and neither ``overwrite`` nor ``resume``
    (None: the command has no --resume)."""
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise ValueError(f"--out {path} exists and is not a directory")
    if path.is_dir() and any(path.iterdir()) and not (overwrite or resume):
        remedy = "pass --overwrite" + ("" if resume is None else ", or --resume to continue its run")
        raise ValueError(f"--out {path} already holds files; choose another folder or {remedy}")
    blocking = next((parent for parent in path.parents if parent.exists()), None)
    if blocking is not None and not blocking.is_dir():
        raise ValueError(f"--out {path}: {blocking} is a file, not a directory")
    return path


def prepare_output_dir(path: Path, overwrite: bool, resume: bool | None = None) -> Path:
    """Create ``path`` after :func:`check_output_dir` (nothing is ever deleted) and claim it for this run
    (:func:`claim_folder`)."""
    path = check_output_dir(path, overwrite, resume)
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise ValueError(f"--out {path} cannot be created: {error.strerror}") from None
    if not os.access(path, os.W_OK | os.X_OK):
        raise ValueError(f"--out {path} is not writable")
    claim_folder(path)
    return path


CLAIMED: Dict[Path, int] = {}
"""The output folders this process runs in: each held by an exclusive lock on an open descriptor."""


def claim_folder(path: Path) -> None:
    """Hold an exclusive advisory lock (flock) on the folder ``path`` until :func:`release_folders`, or until
    this process ends, so that a run of another process on it is refused (this process may claim it again)."""
    key = Path(path).resolve()
    if key in CLAIMED:
        return
    descriptor = os.open(key, os.O_RDONLY | os.O_DIRECTORY)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        os.close(descriptor)
        raise ValueError(
            f"--out {path} is in use by another run that is still going; wait for it to end or choose another folder"
        ) from None
    CLAIMED[key] = descriptor


def release_folders(keep: Iterable[Path] = ()) -> None:
    """Release the claimed folders, except ``keep``."""
    for key in set(CLAIMED) - set(keep):
        os.close(CLAIMED.pop(key))


@contextmanager
def run_folder(path: Path) -> Iterator[Path]:
    """The block of a run writing into ``path``: folders it claims are released at its end, and on an error the
    folders it created and left empty are removed (:func:`removed_if_empty_on_error`)."""
    claimed_before = set(CLAIMED)
    try:
        with removed_if_empty_on_error(path):
            yield Path(path)
    finally:
        release_folders(keep=claimed_before)


@contextmanager
def removed_if_empty_on_error(path: Path) -> Iterator[Path]:
    """On an error inside the block, remove the folders that the block created (``path``, its
    missing parents, folders below it) and left empty, so a failed run leaves nothing behind."""
    path = Path(path)
    existed = path.is_dir()
    before = set(subfolders(path)) if existed else set()
    missing_parents = [folder for folder in path.parents if not folder.exists()]
    try:
        yield path
    except BaseException:
        created = [folder for folder in subfolders(path) if folder not in before] if path.is_dir() else []
        for folder in sorted(created, key=lambda folder: len(folder.parts), reverse=True):  # deepest first
            remove_if_empty(folder)
        if not existed:
            for folder in [path, *missing_parents]:
                if not remove_if_empty(folder):
                    break
        raise


def subfolders(path: Path) -> List[Path]:
    return [folder for folder in Path(path).rglob("*") if folder.is_dir()]


def remove_if_empty(folder: Path) -> bool:
    """Remove ``folder`` if it is an empty directory; whether it is gone."""
    try:
        folder.rmdir()
    except FileNotFoundError:
        return True
    except OSError:  # not empty (work saved), or not ours to remove
        return False
    return True


NOT_REGULAR = {
    stat.S_IFIFO: "a named pipe",
    stat.S_IFCHR: "a device",
    stat.S_IFBLK: "a device",
    stat.S_IFSOCK: "a socket",
}


def check_input(path: Path, option: str = "--data") -> Path:
    """``path``, when it is a file or a folder (through links); a ValueError naming ``option`` for one that is
    missing, unreadable, a link loop, or a pipe, device or socket (reading one can block forever)."""
    path = Path(path)
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        raise ValueError(f"{option} {readable(path)} does not exist") from None
    except OSError as error:  # a link loop, a folder without permission on the way
        raise ValueError(f"{option} {readable(path)} cannot be read: {error.strerror}") from None
    if not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):
        kind = NOT_REGULAR.get(stat.S_IFMT(mode), "not a regular file")
        raise ValueError(f"{option} {readable(path)} is {kind}; expected a file or a folder")
    return path


def visible_files(folder: Path, suffixes: Iterable[str]) -> List[Path]:
    """The files of ``folder`` (not recursive) with one of ``suffixes`` (any case), sorted by name;
    hidden files (``.name``, e.g. macOS's ``._photo.png``) are skipped, and a pipe, device or socket among them is
    a ValueError naming it."""
    wanted = {suffix.lower() for suffix in suffixes}
    named = [
        path
        for path in Path(folder).iterdir()
        if not path.name.startswith(".") and path.suffix.lower() in wanted and not path.is_dir()
    ]
    return sorted(check_input(path, f"--data {readable(folder)}: the file") for path in named)


RESERVED_NAMES = ("summary.json", "summary.md")
"""Files a folder run writes beside the per-file output folders."""


def output_names(files: Sequence[Path], reserved: Sequence[str] = RESERVED_NAMES) -> Dict[Path, str]:
    """A distinct output folder name per input file: its stem, or stem-suffix where stems collide
    (``a.png`` and ``a.jpg`` become ``a-png`` and ``a-jpg``; ``a.PNG`` stays ``a-PNG``); a name that is still
    taken (``a-png.jpg`` beside those two, or one of ``reserved``) gets -2, -3, ... in the order of ``files``."""
    stems = Counter(path.stem for path in files)
    wanted = {path: path.stem if stems[path.stem] == 1 else f"{path.stem}-{path.suffix.lstrip('.')}" for path in files}
    taken, names = set(reserved), {}
    for path in files:
        name = wanted[path]
        if name in taken or name in ("", ".", ".."):
            name = next(f"{name}-{n}" for n in count(2) if f"{name}-{n}" not in taken)
        names[path] = name
        taken.add(name)
    return names


def content_hash(path: Path, exclude: Path | None = None) -> str | None:
    """SHA-256 of a file, or of a folder's files (names and bytes, in name order) outside ``exclude`` (a run's own
    output folder inside its input folder); None for what is not on disk (e.g. a generated default signal)."""
    path = Path(path)
    files = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else []
    if exclude is not None:
        excluded = Path(exclude).resolve()
        files = [file for file in files if not file.resolve().is_relative_to(excluded)]
    if not files:
        return None
    digest = hashlib.sha256()
    for file in files:
        digest.update(str(file.relative_to(path) if file != path else "").encode())
        with open(file, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()


def readable(name: Path | str) -> str:
    """A file name as text that can be printed, drawn and written anywhere: bytes that are not UTF-8 (names are
    bytes on Linux) appear as \\xNN escapes."""
    return str(name).encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
