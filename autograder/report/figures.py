"""Histograms for the class report: PNG bytes embedded as data URIs, and alt text that states their numbers.

Drawn on a bare ``Figure`` (Agg, no pyplot, no global state) with matplotlib's own defaults and fonts, never
the user's matplotlibrc, and without the PNG's "Software" entry, so that two runs give the same bytes.
"""
from __future__ import annotations

import base64
import io
import math
from dataclasses import dataclass

import matplotlib
import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from ..export import points

STYLE = {"font.family": "DejaVu Sans", "font.size": 10, "axes.spines.top": False, "axes.spines.right": False,
         "figure.dpi": 100}
BAR, MEAN, MEDIAN = "#3b6ea8", "#c2410c", "#1f2937"
STEPS = (0.5, 1, 2, 5, 10, 20, 50, 100)  # bin widths, points
MAX_BINS = 20
TOTALS, NOTEBOOK, MANUAL = (7.5, 2.8), (5.2, 2.4), (5.5, 2.6)  # figure sizes, inches at 100 dpi


@dataclass(frozen=True)
class Histogram:
    data_uri: str  # data:image/png;base64,...
    alt: str


def histogram(spread, size):
    """The histogram of ``spread`` (a summary.Spread with values), mean and median marked; None when empty."""
    if not spread.values:
        return None
    edges = bin_edges(spread.values, spread.maximum)
    counts, _ = np.histogram(spread.values, bins=edges)
    with matplotlib.rc_context():
        matplotlib.rcdefaults()
        matplotlib.rcParams.update(STYLE)
        png = _draw(spread, edges, counts, size)
    uri = "data:image/png;base64," + base64.b64encode(png).decode("ascii")
    return Histogram(uri, _alt(spread, edges, counts))


def bin_edges(values, maximum):
    """Bins of a round width, at most MAX_BINS over 0..maximum; the top score gets a bin of its own start."""
    low = min(0.0, min(values))
    high = max(maximum, max(values))
    width = next((s for s in STEPS if (high - low) / s < MAX_BINS), STEPS[-1])
    first = math.floor(low / width) * width
    # one bin past the top score's, so that a full score is not lumped into the bin below it
    last = (math.floor(high / width) + 1) * width
    return np.arange(first, last + width / 2, width)


def _draw(spread, edges, counts, size):
    fig = Figure(figsize=size)
    width, height = size
    # fixed margins in inches (a layout engine costs a second draw): the legend sits in the right one
    fig.subplots_adjust(left=0.6 / width, right=1 - 1.7 / width, bottom=0.55 / height, top=1 - 0.35 / height)
    ax = fig.subplots()
    ax.bar(edges[:-1], counts, width=np.diff(edges), align="edge", color=BAR, edgecolor="white")
    # the mean's dashes drawn over the median's line, so that both show where they coincide
    ax.axvline(spread.median, color=MEDIAN, linestyle="-", linewidth=2, label=f"median {points(spread.median)}")
    ax.axvline(spread.mean, color=MEAN, linestyle="--", linewidth=2, label=f"mean {points(spread.mean)}")
    ax.set_xlim(edges[0], edges[-1])
    ax.xaxis.set_major_locator(MaxNLocator(nbins=8, steps=[1, 2, 5, 10]))
    ax.set_xlabel(f"points (out of {points(spread.maximum)})")
    ax.set_ylabel("students")
    ax.yaxis.get_major_locator().set_params(integer=True)
    ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False)  # beside the bars, never over them
    ax.set_title(spread.title, loc="left")
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", metadata={"Software": None})
    return buffer.getvalue()


def _alt(spread, edges, counts):
    bins = "; ".join(f"{points(a)} to under {points(b)}: {c}" for a, b, c in zip(edges, edges[1:], counts) if c)
    return (f"Histogram, {spread.title}: {students(spread.count)}, out of {points(spread.maximum)} points; "
            f"mean {points(spread.mean)}, median {points(spread.median)}, lowest {points(spread.lowest)}, "
            f"highest {points(spread.highest)}. Students per bin of points: {bins}.")


def students(count):
    """'1 student', '2 students'."""
    return f"{count} student" if count == 1 else f"{count} students"
