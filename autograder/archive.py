"""Zip files reproducibly: sorted entries, a fixed timestamp and fixed permissions, so that the same
content always gives the same bytes (the results archive and the student handout)."""
import os
import zipfile
from pathlib import Path

ZIP_TIME = (1980, 1, 1, 0, 0, 0)  # the earliest time a zip can hold


def write_zip(archive, entries):
    """Write ``entries`` (archive name → bytes) to ``archive``; readers never see a half-written file."""
    archive = Path(archive)
    archive.parent.mkdir(parents=True, exist_ok=True)
    tmp = archive.with_name(f".{archive.name}.tmp")
    with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
        for name in sorted(entries):
            info = zipfile.ZipInfo(name, ZIP_TIME)
            info.external_attr = 0o644 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, entries[name])
    os.replace(tmp, archive)


def folder_entries(folder, prefix, keep=lambda path: True):
    """Archive name → bytes for every file below ``folder`` that ``keep`` accepts, under ``prefix/``."""
    folder = Path(folder)
    return {f"{prefix}/{path.relative_to(folder).as_posix()}": path.read_bytes()
            for path in folder.rglob("*") if path.is_file() and keep(path)}
