"""Sandbox slots: which sandboxes run at once on this machine, and the uid each runs as.

Each slot has its own uid (BASE_UID + slot), so that RLIMIT_NPROC, which counts per uid, caps every
concurrent sandbox separately, and so that a sandbox's leftovers can be found by uid.
"""
import fcntl
import tempfile
from contextlib import contextmanager
from pathlib import Path

from .errors import SandboxError
from .limits import BASE_UID, MAX_SLOTS

SLOT_LOCKS = Path(tempfile.gettempdir()) / "hw4-sandbox-slots"


@contextmanager
def claim_slot():
    """A slot that no other sandbox on this machine holds, for as long as the ``with`` block runs.

    Slots are flocks on files: every grading process, thread or Dask worker coordinates through them,
    and the kernel releases a lock when its holder dies, so a crashed worker never leaks its slot."""
    SLOT_LOCKS.mkdir(mode=0o700, exist_ok=True)
    for slot in range(MAX_SLOTS):
        lock = open(SLOT_LOCKS / str(slot), "a")
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            lock.close()
            continue
        with lock:
            yield slot
        return
    raise SandboxError(f"all {MAX_SLOTS} sandbox slots are taken")


def uid_for(slot: int) -> int:
    if not 0 <= slot < MAX_SLOTS:
        raise ValueError(f"sandbox slot must be in [0, {MAX_SLOTS}), got {slot}")
    return BASE_UID + slot
