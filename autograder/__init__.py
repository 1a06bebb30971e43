"""The instructor side of homework 4: source notebooks, release, trusted checks and class grading."""
import sys

# Every process that imports this package (the commands, Dask workers, test processes) is spared the seconds
# that jsonschema's optional import of rfc3987_syntax takes: see hw4/cli.py.
sys.modules.setdefault("rfc3987_syntax", None)
