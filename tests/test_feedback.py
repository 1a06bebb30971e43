"""The feedback page renders as nbconvert's HTMLExporter renders it, without its second pass (no kernel here)."""
import jinja2
from bs4 import BeautifulSoup
from nbconvert.exporters import HTMLExporter
from nbconvert.filters.highlight import Highlight2HTML
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from autograder.worker.feedback import NO_DESCRIPTION, CachedHighlight, DescribeImages, FeedbackExporter

PIXEL = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=="


def notebook(image_alt=None):
    image = new_output("display_data", data={"image/png": PIXEL, "text/plain": "<Figure>"},
                       metadata={"image/png": {"alt": image_alt}} if image_alt else {})
    cells = [
        new_markdown_cell("# Title\nSome $x^2$ and <b>bold</b> & an ampersand."),
        new_code_cell("def f(x):\n    return x < 2 and 'a' != \"b\"  # comment", execution_count=1,
                      outputs=[new_output("stream", name="stdout", text="<tag> & text\n")]),
        new_code_cell("raise ValueError('no')", execution_count=2,
                      outputs=[new_output("error", ename="ValueError", evalue="no",
                                          traceback=["\x1b[31mValueError\x1b[0m: no"])]),
        new_code_cell("%%bash\necho hi", metadata={"magics_language": "bash"}, execution_count=3),
        new_code_cell("plot()", execution_count=4, outputs=[image]),
    ]
    return new_notebook(cells=cells, metadata={"language_info": {"name": "python", "pygments_lexer": "ipython3"}})


def test_the_page_is_htmlexporters_without_the_reparse():
    nb = notebook(image_alt="a red pixel")
    theirs, _ = HTMLExporter(template_name="classic").from_notebook_node(nb)
    ours, _ = FeedbackExporter(template_name="classic").from_notebook_node(nb)
    assert str(BeautifulSoup(ours, features="html.parser")) == theirs
    assert 'alt="a red pixel"' in ours


def test_every_image_gets_an_alt_text():
    exporter = FeedbackExporter(template_name="classic")
    exporter.register_preprocessor(DescribeImages(), enabled=True)
    page, _ = exporter.from_notebook_node(notebook())
    images = BeautifulSoup(page, features="html.parser").select("img")
    assert [img.get("alt") for img in images] == [NO_DESCRIPTION]
    page, _ = exporter.from_notebook_node(notebook(image_alt="a red pixel"))
    assert [img.get("alt") for img in BeautifulSoup(page, features="html.parser").select("img")] == ["a red pixel"]


def test_cached_highlighting_equals_nbconverts():
    source = "def f(x):\n    return x ** 2  # square"
    for language, metadata in ((None, None), ("python", {}), (None, {"magics_language": "bash"})):
        want = Highlight2HTML(pygments_lexer="ipython3")(source, language, metadata)
        cached = CachedHighlight(pygments_lexer="ipython3")
        assert cached(source, language, metadata) == want
        assert cached(source, language, metadata) == want  # now from the cache
    long_source = "x = 1\n" * 5000  # past the cached size: highlighted each time, the same way
    assert CachedHighlight()(long_source) == Highlight2HTML()(long_source)


def test_a_second_page_compiles_no_template(monkeypatch):
    """nbgrader makes an exporter per page; the templates' compiled code outlives it."""
    nb = notebook()
    first, _ = FeedbackExporter(template_name="classic").from_notebook_node(nb)
    compiled, compile_template = [], jinja2.Environment.compile
    monkeypatch.setattr(jinja2.Environment, "compile",
                        lambda self, *args, **kw: compiled.append(args) or compile_template(self, *args, **kw))
    again, _ = FeedbackExporter(template_name="classic").from_notebook_node(nb)
    assert again == first and compiled == []
