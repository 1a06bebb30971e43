"""The feedback page: nbgrader's feedback template, rendered by nbconvert without its second HTML pass.

nbconvert's HTMLExporter parses each page it has rendered again, with BeautifulSoup, to give an alt text to
images that lack one and a tabindex to JupyterLab-style cells. On a feedback page that pass costs more than
the rendering (some 4,000 tags a page, mostly highlighted code) and has nothing left to do: nbgrader's
feedback template builds on the classic template, which has no JupyterLab cells, and ``DescribeImages`` gives
each image its alt text before the template writes the page.

The code cells that every student shares (tests, given code) are highlighted once per process, not once per
page: pygments is half of what remains. nbgrader makes a new exporter, hence a new Jinja environment, for
each page; the templates' compiled code is kept per process too, so that each is compiled only once.
"""
import functools

from jinja2 import BytecodeCache
from nbconvert.exporters import HTMLExporter, TemplateExporter
from nbconvert.filters.highlight import Highlight2HTML
from nbconvert.filters.widgetsdatatypefilter import WidgetsDataTypeFilter
from nbconvert.preprocessors import Preprocessor

IMAGE_TYPES = ("image/png", "image/jpeg")  # the outputs the template writes as <img>
NO_DESCRIPTION = "A figure this cell drew; it has no description."
CACHED_CHARS = 20_000  # longer cells are highlighted each time: a cache of them would only hold memory


class CompiledTemplates(BytecodeCache):
    """Jinja's compiled templates, held in memory. Jinja checks each template's source against the checksum
    stored with its code, so an edited template is compiled again."""

    def __init__(self):
        self.code = {}

    def load_bytecode(self, bucket):
        if bucket.key in self.code:
            bucket.bytecode_from_string(self.code[bucket.key])

    def dump_bytecode(self, bucket):
        self.code[bucket.key] = bucket.bytecode_to_string()


COMPILED_TEMPLATES = CompiledTemplates()


class FeedbackExporter(HTMLExporter):
    def _create_environment(self):
        environment = super()._create_environment()
        environment.bytecode_cache = COMPILED_TEMPLATES
        return environment

    def from_notebook_node(self, nb, resources=None, **kw):
        # The two filters HTMLExporter sets up for each notebook, then the rendering HTMLExporter delegates to.
        language = nb.metadata.get("language_info", {})
        lexer = language.get("pygments_lexer", language.get("name"))
        self.register_filter("highlight_code", CachedHighlight(pygments_lexer=lexer, parent=self))
        resources = self._init_resources(resources)
        self.register_filter("filter_data_type", WidgetsDataTypeFilter(
            notebook_metadata=self._nb_metadata, parent=self, resources=resources))
        return TemplateExporter.from_notebook_node(self, nb, resources, **kw)


class CachedHighlight(Highlight2HTML):
    """nbconvert's code highlighting, remembered per process for the cells of ordinary size it has seen."""

    def __call__(self, source, language=None, metadata=None):
        if len(source) > CACHED_CHARS:
            return super().__call__(source, language, metadata)
        magics = (metadata or {}).get("magics_language")  # the only metadata highlighting reads
        options = tuple(sorted(self.extra_formatter_options.items()))
        return _highlighted(source, language or self.pygments_lexer, magics, options)


@functools.lru_cache(maxsize=1024)
def _highlighted(source, language, magics, options):
    metadata = {"magics_language": magics} if magics else None
    return Highlight2HTML(pygments_lexer=language, extra_formatter_options=dict(options))(source, language, metadata)


class DescribeImages(Preprocessor):
    """Give every image an alt text: the template writes the image's own, else its cell's, which this sets."""

    def preprocess_cell(self, cell, resources, index):
        if any(mime in output.get("data", {}) for output in cell.get("outputs", ()) for mime in IMAGE_TYPES):
            cell.metadata.setdefault("alt", NO_DESCRIPTION)
        return cell, resources
