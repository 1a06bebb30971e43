"""Feed the grader's inputs to a student's functions and record what they return.

This runs inside the student's kernel while a notebook is autograded. For each hidden test the grader
writes fresh inputs to ``$HW4_PROBE_DIR/<test_id>.in.safetensors``; :func:`run` calls the student's code on
every case and writes the outputs to ``<test_id>.out.safetensors``. Nothing here decides a score: the
grader compares the outputs with its oracle in its own process, where student code cannot reach.

Without ``$HW4_PROBE_DIR`` (an instructor running a source notebook) the check runs right here instead,
so that the source notebooks test themselves: the course bundle provides it through the ``hw4.checks``
entry point, since this package never imports the instructor's.
"""
import json
import os
from importlib.metadata import entry_points
from pathlib import Path

import torch
from safetensors.torch import load, save_file

from hw4.course import PROBE_DIR



def input_path(probe_dir, test_id):
    return Path(probe_dir) / f"{test_id}.in.safetensors"


def output_path(probe_dir, test_id):
    return Path(probe_dir) / f"{test_id}.out.safetensors"


def pack(records):
    """A list of dicts of tensors (or error strings) → (flat tensor dict, metadata) for safetensors."""
    tensors, meta = {}, {"n": str(len(records))}
    for i, record in enumerate(records):
        if isinstance(record, str):
            meta[f"error.{i}"] = record
            continue
        for name, value in record.items():
            # safetensors wants dense tensors that own their memory
            tensors[f"{i}.{name}"] = value.detach().cpu().clone(memory_format=torch.contiguous_format)
    return tensors, meta


def unpack(tensors, meta):
    """Inverse of :func:`pack`."""
    records = [meta.get(f"error.{i}", {}) for i in range(int(meta["n"]))]
    for key, value in tensors.items():
        i, name = key.split(".", 1)
        records[int(i)][name] = value
    return records


def _as_outputs(result):
    """What a probe function returned → a dict of tensors (a bare value becomes ``{"out": value}``)."""
    if not isinstance(result, dict):
        result = {"out": result}
    outputs = {}
    for name, value in result.items():
        if isinstance(value, torch.Tensor):
            outputs[name] = value
        else:
            try:
                outputs[name] = torch.as_tensor(value)
            except (TypeError, ValueError, RuntimeError):
                raise TypeError(f"returned {type(value).__name__} for '{name}', expected a tensor") from None
    return outputs


def _call_each(cases, fn):
    records = []
    for case in cases:
        try:
            records.append(_as_outputs(fn(case)))
        except Exception as err:  # the student's code may raise anything; the grader reports it
            records.append(f"{type(err).__name__}: {err}"[:500])
    return records


def write(path, records):
    tensors, meta = pack(records)
    save_file(tensors, str(path), metadata=meta)


def decode(data):
    """Records from the bytes of a file written by :func:`write`; safetensors runs no code while reading."""
    header_size = int.from_bytes(data[:8], "little")
    meta = json.loads(data[8:8 + header_size]).get("__metadata__", {})
    return unpack(load(data), meta)


def read(path):
    return decode(Path(path).read_bytes())


def run(test_id, fn):
    """Call ``fn(case)`` on every input case of ``test_id``; ``fn`` returns a tensor or a dict of tensors."""
    probe_dir = os.environ.get(PROBE_DIR)
    if probe_dir:
        cases = read(input_path(probe_dir, test_id))
        write(output_path(probe_dir, test_id), _call_each(cases, fn))
    else:
        _check_here(test_id, fn)


def _check_here(test_id, fn):
    checkers = list(entry_points(group="hw4.checks"))
    if not checkers:
        raise RuntimeError("hidden tests run only when the course bundle grades a notebook")
    # Through pack and unpack, as in grading: the checks then get CPU tensors, also from a GPU run.
    failures = checkers[0].load()(test_id, lambda cases: unpack(*pack(_call_each(cases, fn))))
    assert not failures, "\n".join(failures)
