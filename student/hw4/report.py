"""Save figures and metrics for the TA's reference results.

`hw4 results` runs the source notebooks with ``$HW4_RESULTS_DIR`` set; these helpers then also write each
figure and metric there. Anywhere else (students, grading) they only return, so notebooks can call them
unconditionally.
"""
import json
import os
from pathlib import Path

from hw4.course import RESULTS_DIR



def _results_dir():
    path = os.environ.get(RESULTS_DIR)
    return Path(path) if path else None


def save_figure(fig, name):
    """Write ``fig`` to ``$HW4_RESULTS_DIR/<name>.png`` when that variable is set."""
    out = _results_dir()
    if out is not None:
        # no timestamp in the PNG, so that regenerated results are byte-identical
        fig.savefig(out / f"{name}.png", dpi=120, bbox_inches="tight", metadata={"Software": None})


def save_metrics(**metrics):
    """Merge ``metrics`` (JSON-serialisable values) into ``$HW4_RESULTS_DIR/metrics.json`` when set."""
    out = _results_dir()
    if out is None:
        return
    path = out / "metrics.json"
    merged = json.loads(path.read_text()) if path.exists() else {}
    merged.update(metrics)
    path.write_text(json.dumps(merged, indent=2, sort_keys=True) + "\n")
