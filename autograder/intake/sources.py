"""A folder or a zip, seen as one list of entries (:class:`UploadFile`), read in place and never written.

Every entry has a readable POSIX path relative to the root. A zip is read where it lies (nothing is
extracted), through checks a hostile or damaged archive cannot get past: entries whose path leaves the
archive, links and other special files (never opened), duplicate names, names that are not UTF-8 (shown
escaped, see :func:`readable`), entries far larger than a notebook (read no further than the limit), and
archives whose entries would expand beyond a total (declared sizes checked up front, and the bytes
actually decompressed counted as they are read).
"""
import codecs
import io
import os
import stat
import threading
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from urllib.parse import unquote_to_bytes

from hw4.course import MAX_NOTEBOOK_BYTES, NOTEBOOKS

from ..records import UploadFile

MAX_CLASS_BYTES = 8 * 2**30  # what a whole class's zip may expand to (as read): beyond it, a zip bomb
MAX_OWN_ZIP_BYTES = len(NOTEBOOKS) * MAX_NOTEBOOK_BYTES  # a zip a student uploaded, and what it may expand to
MAX_DEPTH = 5  # folder levels listed below the root: <course>/submitted/<id>/hw4/<file> is the deepest layout read
MAX_ENTRIES = 100_000
READ_SUFFIXES = (".ipynb", ".zip", ".yml", ".yaml", ".txt")  # the entries intake may read: notebooks, zips, metadata
HIDDEN = ("__MACOSX",)  # macOS adds it to every zip it makes: resource forks, never submissions

KINDS = ((stat.S_ISDIR, "a folder"), (stat.S_ISLNK, "a symbolic link"), (stat.S_ISFIFO, "a named pipe"),
         (stat.S_ISSOCK, "a socket"), (stat.S_ISCHR, "a device"), (stat.S_ISBLK, "a device"))
ZIP_UTF8 = 0x800  # the zip flag saying the entry's name is UTF-8 (else it is in the legacy code page 437)


class IntakeError(RuntimeError):
    """The whole SOURCE cannot be read: one clear reason, and nothing was graded or written."""


# ---------------------------------------------------------------- names whose bytes are not UTF-8

def _percent(err):
    return "".join(f"%{byte:02X}" for byte in err.object[err.start:err.end]), err.end


codecs.register_error("hw4-percent", _percent)


def readable(raw):
    """The name ``raw`` (bytes) as text: UTF-8, with each byte that is not valid UTF-8 written ``%E9`` and
    ``%`` itself written ``%25``, so that every name has one text and the text gives back the bytes."""
    return raw.replace(b"%", b"%25").decode("utf-8", errors="hw4-percent")


def original(name):
    """The bytes :func:`readable` made ``name`` from."""
    return unquote_to_bytes(name)


def hidden(path):
    return any(part.startswith(".") or part in HIDDEN for part in PurePosixPath(path).parts)


def unnamed(names, lms):
    """The class notes for entries at the top that ``lms`` would not have named so: [] when there are none."""
    if not names:
        return []
    return [f"ignored {len(names)} entries not named as {lms} names them: {', '.join(names[:5])}"]


# ---------------------------------------------------------------- the sources

@dataclass
class Source:
    """What SOURCE holds: every entry below the root, sorted by path, hidden ones left out."""

    path: Path
    entries: list = field(default_factory=list)
    unreadable: dict = field(default_factory=dict)  # folder path → why it could not be listed
    is_zip: bool = False

    def children(self, folder=PurePosixPath(".")):
        """The entries directly in ``folder``."""
        folder = PurePosixPath(folder)
        return [e for e in self.entries if e.path.parent == folder]

    def below(self, folder):
        """The entries anywhere under ``folder``, with paths relative to it."""
        folder = PurePosixPath(folder)
        return [_moved(e, e.path.relative_to(folder)) for e in self.entries if folder in e.path.parents]

    def kind(self, path):
        """The kind of the entry at ``path`` (None: a regular file), or 'nothing' when there is none."""
        path = PurePosixPath(path)
        found = [e.kind for e in self.entries if e.path == path]
        if found:
            return found[0]
        return "a folder" if any(path in e.path.parents for e in self.entries) else "nothing"


def _moved(entry, path):
    return UploadFile(path, entry.read, entry.kind, entry.size)


def open_source(path):
    """A :class:`Source` for the folder or zip at ``path``; :class:`IntakeError` when it is neither."""
    path = Path(path)
    try:
        info = os.stat(path)
    except OSError as err:
        raise IntakeError(f"cannot read {path}: {err.strerror}") from None
    if stat.S_ISDIR(info.st_mode):
        return _folder_source(path)
    if stat.S_ISREG(info.st_mode):
        return ZipReader(path, lambda: open(path, "rb"), MAX_CLASS_BYTES, str(path), IntakeError).source()
    raise IntakeError(f"{path} is neither a folder nor a zip file")


def _folder_source(root, only=None):
    """The entries below the folder ``root`` (just the one named ``only`` at the top, if given)."""
    source = Source(root)
    _walk(source, root, PurePosixPath("."), 1, only)
    source.entries.sort(key=lambda e: e.path)
    return source


def _walk(source, folder, rel, depth, only=None):
    try:
        with os.scandir(folder) as it:
            found = sorted(it, key=lambda e: e.name)
    except OSError as err:
        if depth == 1:
            raise IntakeError(f"cannot list the submissions folder {folder}: {err.strerror}") from None
        source.unreadable[rel] = err.strerror
        return
    for item in found:
        name = readable(os.fsencode(item.name))
        if name.startswith(".") or name in HIDDEN or only is not None and item.name != only:
            continue
        path = rel / name
        try:
            info = item.stat(follow_symlinks=False)
        except OSError:  # removed while we list
            continue
        kind = next((what for test, what in KINDS if test(info.st_mode)), None)
        source.entries.append(UploadFile(path, _file_reader(item.path), kind, info.st_size))
        if len(source.entries) > MAX_ENTRIES:
            raise IntakeError(f"{source.path} holds more than {MAX_ENTRIES} files; it is not a class's submissions")
        if kind == "a folder" and depth < MAX_DEPTH:
            _walk(source, item.path, path, depth + 1)


def _file_reader(path):
    """read(limit) for the file at ``path``: never follows a link, never blocks on a pipe."""
    def read(limit):
        name = Path(path).name
        try:
            fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
        except PermissionError:
            raise ValueError(f"{name} cannot be read (permission denied)") from None
        except OSError as err:
            raise ValueError(f"{name} cannot be read ({err.strerror})") from None
        with os.fdopen(fd, "rb") as f:
            if not stat.S_ISREG(os.fstat(f.fileno()).st_mode):  # swapped for something else since listed
                raise ValueError(f"{name} is not a regular file")
            return f.read(limit + 1)
    return read


def folder_entry(path):
    """A :class:`Source` holding just the entry at ``path`` (and what is below it)."""
    path = Path(path)
    return _folder_source(path.parent, only=path.name)


# ---------------------------------------------------------------- zips

class ZipReader:
    """A zip read in place: ``opener()`` gives its bytes as a binary file, each time it is called.

    ``budget`` bounds the bytes all reads from it may decompress together; ``label`` names it in messages;
    ``error`` is the exception type raised for a zip that cannot be read or that expands beyond the budget.
    ``keep``: keep it open between reads (else its bytes are fetched again for each read)."""

    def __init__(self, path, opener, budget, label, error, keep=True):
        self.path, self.opener, self.budget, self.label = Path(path), opener, budget, label
        self.error, self.keep = error, keep
        self.lock = threading.Lock()
        self.zip = None

    def source(self):
        """The zip's entries, as a :class:`Source`."""
        error = self.error
        try:
            infos = self._open().infolist()
        except (zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError, NotImplementedError) as err:
            raise error(self._unreadable(err)) from None
        source = Source(self.path, is_zip=True)
        unsafe, seen = [], {}
        for info in infos:
            path = _safe_path(_raw_name(info))
            if path is None:
                unsafe.append(readable(_raw_name(info)))
            elif not hidden(path):
                seen.setdefault(path, []).append(info)
        if unsafe:
            raise error(f"{self.label} holds entries whose paths leave the zip ({', '.join(sorted(unsafe)[:3])}); "
                        "it was not read")
        for path, infos in seen.items():
            source.entries.append(self._entry(path, infos))
        listed = set(seen)  # a zip need not list its folders: add those its entries' paths imply
        source.entries += [UploadFile(folder, _folder_read, "a folder") for folder in
                           {p for path in listed for p in path.parents if p.name} - listed]
        source.entries.sort(key=lambda e: e.path)
        declared = sum(min(e.size, MAX_NOTEBOOK_BYTES + 1) for e in source.entries
                       if e.kind is None and e.path.suffix.lower() in READ_SUFFIXES)
        if declared > self.budget:
            raise error(f"{self.label} would expand to {declared / 2**20:.0f} MiB, more than the limit of "
                        f"{self.budget / 2**20:.0f} MiB: it may be a zip bomb; it was not read")
        return source

    def _open(self):
        if self.zip is not None:
            return self.zip
        opened = zipfile.ZipFile(self.opener())
        if self.keep:
            self.zip = opened
        return opened

    def _unreadable(self, err):
        if isinstance(err, UnicodeDecodeError):
            return f"{self.label} is damaged: an entry's name is marked UTF-8 but is not"
        if isinstance(err, zipfile.BadZipFile) and self._starts_like_a_zip():
            return f"{self.label} is a truncated or damaged zip ({err}); download it again"
        if isinstance(err, zipfile.BadZipFile):
            return f"{self.label} is not a zip file (and not a folder)"
        return f"{self.label} cannot be read ({err})"

    def _starts_like_a_zip(self):
        try:
            with self.opener() as f:
                return f.read(4) == b"PK\x03\x04"
        except OSError:
            return False

    def _entry(self, path, infos):
        info = infos[-1]
        mode = info.external_attr >> 16
        kind = next((what for test, what in KINDS if mode and test(mode)), None)
        if info.is_dir():
            kind = "a folder"
        elif len(infos) > 1:
            kind = f"one of {len(infos)} entries of this name in the zip"
        elif info.flag_bits & 0x1:
            kind = "an encrypted entry"
        return UploadFile(path, lambda limit: self._read(info, limit), kind, info.file_size)

    def _read(self, info, limit):
        """At most ``limit + 1`` bytes of ``info``, counted against the budget."""
        name = PurePosixPath(info.filename).name
        with self.lock:
            try:
                with self._open().open(info) as f:
                    data = f.read(min(limit, self.budget) + 1)
            except IntakeError:  # the class zip holding this one is spent: not this entry's fault
                raise
            except (zipfile.BadZipFile, zlib.error, EOFError, OSError, NotImplementedError, RuntimeError) as err:
                raise ValueError(f"{name} cannot be read from {self.label}: it is damaged ({err})") from None
            self.budget -= len(data)
        if self.budget < 0:
            raise self.error(f"{self.label} expands to more than the limit as it is read: it may be a zip bomb; "
                              "grading stopped")
        return data


def _folder_read(limit):
    raise ValueError("a folder has no content to read")


def _raw_name(info):
    """The entry's name as the bytes stored in the zip."""
    return info.orig_filename.encode("utf-8" if info.flag_bits & ZIP_UTF8 else "cp437")


def _safe_path(raw):
    """The entry's path, readable and relative; None when it is absolute or climbs out with '..'."""
    name = readable(raw).replace("\\", "/")  # zips made on Windows may separate folders with backslashes
    if name.startswith("/") or len(name) > 1 and name[1] == ":":
        return None
    parts = [part for part in name.split("/") if part not in ("", ".")]
    if ".." in parts:
        return None
    return PurePosixPath(*parts) if parts else None


def own_zip(file, label):
    """The entries of a zip a student uploaded (an :class:`UploadFile`), as a :class:`Source`.

    Its bytes are read once more for each entry read: nothing of it stays in memory between reads."""
    def opener():
        data = file.read(MAX_OWN_ZIP_BYTES)
        if len(data) > MAX_OWN_ZIP_BYTES:
            raise ValueError(f"{label} is larger than {MAX_OWN_ZIP_BYTES // 2**20} MiB")
        return io.BytesIO(data)
    return ZipReader(file.path, opener, MAX_OWN_ZIP_BYTES, label, ValueError, keep=False).source()
