"""Grading on a Dask cluster: `hw4 grade ... --scheduler ADDRESS`.

Each student becomes one Dask task running the same ``grade_student`` as a local worker, sandbox and
trusted checks included, so the instructor side stays in the worker's own process. Results come back
here, and only this process writes files. A worker that dies mid-task is replaced by the scheduler,
which reruns its task elsewhere (``retries`` covers errors raised by the task itself).
"""
from contextlib import contextmanager


@contextmanager
def executor(address, retries=2):
    """A ``concurrent.futures`` executor backed by the Dask scheduler at ``address``."""
    from distributed import Client  # optional dependency: pip install 'hw4[cluster]'

    with Client(address) as client:
        with client.get_executor(pure=False, retries=retries) as pool:
            yield pool
