"""The HTML pages the bundle writes for people to read (the similarity report, the class report), rendered
from the Jinja templates in ``autograder/templates/``. Every value is escaped unless marked safe."""
import functools

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape


@functools.cache
def _environment():
    return Environment(loader=PackageLoader("autograder", "templates"), autoescape=select_autoescape(["j2"]),
                       undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True)


def render(template, **context):
    """The page ``template`` (a file name in autograder/templates/) filled in with ``context``."""
    return _environment().get_template(template).render(**context)
