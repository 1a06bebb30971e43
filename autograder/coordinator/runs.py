"""What makes a grading run safe to stop and to start: signals, the output folder's lock, progress.

A run is stopped by Ctrl-C (SIGINT) or SIGTERM at any point: the handler raises :class:`Interrupted` in
the coordinator, which stops its workers and exits; results are written atomically as they arrive, so
the next run resumes. Processes the coordinator starts die with it even when it is SIGKILLed
(``die_with_parent``), and one output folder has one writer at a time (``hold_lock``).
"""
import ctypes
import fcntl
import os
import signal
import sys
from contextlib import contextmanager
from pathlib import Path

PR_SET_PDEATHSIG = 1
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)
_received = []  # the stop signals of the current interruptible block


class GradeError(RuntimeError):
    """A run that cannot start or go on, with a message for the instructor."""


class Interrupted(BaseException):
    """A run stopped by ``signum``; ``graded`` of ``total`` students have their results saved. A BaseException,
    as KeyboardInterrupt is, so that code catching Exception lets it through."""

    def __init__(self, signum):
        super().__init__(signum)
        self.signum, self.graded, self.total = signum, 0, 0

    def __str__(self):
        return f"interrupted: {self.graded} of {self.total} students graded; run the same command again to continue"


@contextmanager
def interruptible():
    """SIGINT and SIGTERM raise :class:`Interrupted` in this block. From the first on, both are ignored,
    so that stopping the workers and saying so cannot themselves be interrupted. Whatever error a library
    raised instead, once a stop signal came, leaves the block as that :class:`Interrupted`."""
    def stop(signum, _frame):
        for other in STOP_SIGNALS:
            signal.signal(other, signal.SIG_IGN)
        _received.append(signum)
        raise Interrupted(signum)

    _received.clear()
    previous = {signum: signal.signal(signum, stop) for signum in STOP_SIGNALS}
    try:
        yield
    except BaseException as err:
        stop = interruption(err)
        if stop is None:
            raise
        raise stop from None
    finally:  # a caller that goes on (a test, a notebook) gets its own handlers back
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def interruption(err):
    """The :class:`Interrupted` behind ``err``: ``err`` itself, or the stop signal's that came before it, since
    nbgrader's API catches every exception, ours too, and then fails in its own way; None if there is none."""
    if isinstance(err, Interrupted):
        return err
    return Interrupted(_received[0]) if _received else None


def die_with_parent(parent):
    """In a forked child of ``parent``: be SIGKILLed when it dies, even by SIGKILL, and leave Ctrl-C, which
    the terminal sends to the whole process group, to it. A handler that does nothing rather than SIG_IGN:
    programs this child starts get the default back when they exec."""
    signal.signal(signal.SIGINT, lambda *_: None)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)  # the coordinator's handler came with the fork
    if ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_PDEATHSIG) failed")
    if os.getppid() != parent:  # it died before the signal was armed
        os._exit(1)


@contextmanager
def hold_lock(out):
    """Be the only run writing to ``out``; the kernel drops the lock when its holder dies, however."""
    path = Path(out) / ".hw4-grade.lock"
    with open(path, "a+") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            lock.seek(0)
            holder = lock.read().strip() or "unknown"
            raise GradeError(f"another hw4 grade (pid {holder}) is writing to {out}; wait for it to finish, "
                             "or stop it, or choose another --out") from None
        lock.truncate(0)
        lock.write(str(os.getpid()))
        lock.flush()
        yield


class Progress:
    """Each student's line as it finishes; on a terminal, a bar with done, total, rate and ETA below them."""

    def __init__(self, total, log, bar):
        self._log = log
        self._bar = None
        if bar:
            from tqdm import tqdm
            self._bar = tqdm(total=total, unit="student", file=sys.stderr, dynamic_ncols=True)

    def done(self, line):
        if self._bar is None:
            self._log(line)
        else:
            self._bar.write(line)
            self._bar.update()

    def close(self):
        if self._bar is not None:
            self._bar.close()
