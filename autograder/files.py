"""Writing files safely: atomically (readers never see half a file, even if the run is stopped or the disk
fills), and zips reproducibly (sorted entries, a fixed timestamp and fixed permissions, so that the same
content always gives the same bytes: the results archive, the student handout, the LMS exports)."""
import os
import zipfile
from contextlib import contextmanager
from pathlib import Path

ZIP_TIME = (1980, 1, 1, 0, 0, 0)  # the earliest time a zip can hold


@contextmanager
def replacing(path):
    """A temporary path beside ``path`` to write to; renamed onto ``path`` if the block succeeds, else removed."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        yield tmp
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_atomic(path, data):
    """Write ``data`` (text or bytes) to ``path`` in one step."""
    with replacing(path) as tmp:
        tmp.write_bytes(data if isinstance(data, bytes) else data.encode())


def write_zip(archive, entries):
    """Write ``entries`` (archive name → bytes) to ``archive``; readers never see a half-written file."""
    archive = Path(archive)
    archive.parent.mkdir(parents=True, exist_ok=True)
    with replacing(archive) as tmp, zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
        for name in sorted(entries):
            info = zipfile.ZipInfo(name, ZIP_TIME)
            info.external_attr = 0o644 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, entries[name])


def folder_entries(folder, prefix, keep=lambda path: True):
    """Archive name → bytes for every file below ``folder`` that ``keep`` accepts, under ``prefix/``."""
    folder = Path(folder)
    return {f"{prefix}/{path.relative_to(folder).as_posix()}": path.read_bytes()
            for path in folder.rglob("*") if path.is_file() and keep(path)}
