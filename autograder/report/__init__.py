"""The class report, DIR/report.html: how the class did, on one self-contained page (see docs/report.md)."""
from .page import render_report, write_report

__all__ = ["render_report", "write_report"]
