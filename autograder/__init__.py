"""The instructor side of homework 4: source notebooks, release, trusted checks and class grading."""
from .workarounds import skip_rfc3987_syntax

skip_rfc3987_syntax()  # every process that imports this package: the commands, Dask workers, test processes
