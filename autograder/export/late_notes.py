"""The late penalty on the student's feedback page: a short note at the top of the page, before the notebook."""
import html
import re
from pathlib import Path

from ..files import write_atomic

BANNER_ID = "hw4-late-note"
_BODY = re.compile(r"<body\b[^>]*>", re.IGNORECASE)
_OLD = re.compile(rf'\n<div id="{BANNER_ID}"[^>]*>.*?</div>\n', re.DOTALL)
# Dark text on a pale background with a thick left border: readable in high contrast and when printed;
# role="note" lets a screen reader announce it as an aside to the page, with its label.
_STYLE = ("margin:1em;padding:0.75em 1em;border-left:6px solid #8a4b00;background:#fff4e0;color:#1a1a1a;"
          "font:1.05em/1.4 system-ui,sans-serif")


def add_late_banner(page, late):
    """``page`` (a feedback page's HTML) with ``late.note`` shown first in its body; unchanged if there is no
    note. A banner from an earlier run is replaced, so that regrading never stacks two."""
    page = _OLD.sub("", page)
    if not late.note:
        return page
    banner = (f'\n<div id="{BANNER_ID}" role="note" aria-label="Late submission" style="{_STYLE}">'
              f"<strong>Late submission.</strong> {html.escape(late.note)}</div>\n")
    body = _BODY.search(page)
    at = body.end() if body else 0
    return page[:at] + banner + page[at:]


def mark_feedback(out, graded):
    """Give each student's feedback pages in DIR/feedback/<id>/ the late note of their current final grade
    (and take it off where there is none now); a page already right is left as it is."""
    for student in graded:
        for page in sorted((Path(out) / "feedback" / student.result.student_id).glob("*.html")):
            text = page.read_text(encoding="utf-8")
            marked = add_late_banner(text, student.final.lateness)
            if marked != text:
                write_atomic(page, marked.encode("utf-8"))
