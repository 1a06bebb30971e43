"""The feedback exporter writes the page nbconvert's HTMLExporter writes, without its BeautifulSoup pass."""
import base64

from bs4 import BeautifulSoup
from nbconvert.exporters import HTMLExporter
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from autograder.preprocessors import FeedbackExporter

PNG = base64.b64encode(bytes.fromhex("89504e470d0a1a0a")).decode()  # a PNG signature: enough for an <img>


def _notebook():
    plot = new_code_cell("plt.plot([1, 2])", outputs=[new_output("display_data", data={"image/png": PNG})])
    failed = new_code_cell("check()", outputs=[new_output("error", ename="TestFailed", evalue="kl_mvn is off by 2",
                                                          traceback=["TestFailed: kl_mvn is off by 2"])])
    described = new_markdown_cell('![a plot](data:image/png;base64,' + PNG + ') and <img src="x.png" alt="mine">')
    return new_notebook(cells=[new_markdown_cell("# Feedback"), plot, failed, described])


def test_the_page_has_the_same_text_and_images_with_the_same_alt_text():
    nb = _notebook()
    ours, _ = FeedbackExporter(template_name="classic").from_notebook_node(nb)
    theirs, _ = HTMLExporter(template_name="classic").from_notebook_node(nb)
    ours_soup, theirs_soup = BeautifulSoup(ours, "html.parser"), BeautifulSoup(theirs, "html.parser")
    assert ours_soup.get_text() == theirs_soup.get_text()
    assert "kl_mvn is off by 2" in ours_soup.get_text()
    alts = [[img.get("alt") for img in soup.find_all("img")] for soup in (ours_soup, theirs_soup)]
    assert alts[0] == alts[1] and len(alts[0]) == 3 and "mine" in alts[0]
