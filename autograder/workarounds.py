"""Where this package works around other libraries: each patch says what it works around, why, and the
version it was measured on. Nothing else in the package patches a library.

``patch_nbgrader()`` is applied once per process, by ``course`` (every nbgrader use goes through it).
"""
import functools
import json
import os
import sys
import warnings


def skip_rfc3987_syntax():
    """jsonschema (4.26) imports rfc3987_syntax where it is installed (jupyter_events asks for it) to check
    `iri` formats, and that import compiles some 35 parsers: about 2 s of every process's start. No notebook
    or nbgrader schema uses those formats; jsonschema already handles the module being absent.
    (The student package's `hw4` command does the same for itself: it never imports this package.)"""
    sys.modules.setdefault("rfc3987_syntax", None)


def patch_nbgrader():
    """nbgrader 0.9.6 with SQLAlchemy 2.1, alembic 1.20 and jsonschema 4.26."""
    # nbgrader runs `alembic` as a command: find it beside this Python even when its venv is not activated.
    os.environ["PATH"] = os.pathsep.join([os.path.dirname(sys.executable), os.environ.get("PATH", "")])
    _quiet_gradebook_warnings()
    _alembic_head_once()
    _check_metadata_schema_once()


def _quiet_gradebook_warnings():
    """nbgrader's gradebook code trips SQLAlchemy's session warnings; they say nothing about the grades."""
    from sqlalchemy.exc import SAWarning

    warnings.filterwarnings("ignore", category=SAWarning)


def alembic_head():
    """The newest revision of nbgrader's gradebook migrations, which nbgrader stamps on every new gradebook."""
    from alembic.config import Config as AlembicConfig
    from alembic.script import ScriptDirectory
    from nbgrader import dbutil

    config = AlembicConfig()
    config.set_main_option("script_location", dbutil.ALEMBIC_DIR)
    return ScriptDirectory.from_config(config).get_current_head()


def _alembic_head_once():
    """nbgrader learns that revision by running `alembic heads` as a command each time it creates a gradebook:
    a Python start of about 2 s, for a constant. This process reads it itself, once."""
    from nbgrader import api

    api.get_alembic_version = functools.cache(alembic_head)


def _check_metadata_schema_once():
    """nbgrader validates each cell's metadata with jsonschema.validate, which first checks nbgrader's schema
    against the JSON Schema metaschema: 1 ms a cell, a tenth of a second of every student's grading, for a
    schema that never changes. Here the validator class checks a given schema once per process."""
    from jsonschema.validators import validator_for
    from nbgrader.nbgraderformat import MetadataValidator

    validator = validator_for(MetadataValidator().schema)
    validator.check_schema = _checked_once(validator.check_schema)


def _checked_once(check_schema):
    """``check_schema`` that checks a given schema once in this process, then trusts it."""
    checked = set()

    def check_once(schema, *args, **kwargs):
        if args or kwargs:  # options jsonschema.validate does not pass: checked each time
            return check_schema(schema, *args, **kwargs)
        key = json.dumps(schema, sort_keys=True)
        if key not in checked:
            check_schema(schema)  # raises if the schema is invalid, which then stays unchecked
            checked.add(key)
    return staticmethod(check_once)


def kill_pool_workers(pool):
    """Kill a ProcessPoolExecutor's running workers at once. Python (3.11 to 3.13) has no public way to stop
    workers that are busy; 3.14's ``terminate_workers`` is that API."""
    for worker in list((pool._processes or {}).values()):
        worker.kill()
