"""Work nbgrader repeats for every submission, done once per grading process instead.

Grading one submission opens the gradebook about ten times (nbgrader's converters, its
preprocessors, the grader's own reads and writes) and checks the metadata of every cell
twice. These habits of nbgrader dominate its share of the CPU time:

* each ``Gradebook`` creates a new SQLAlchemy engine, and SQLAlchemy caches the SQL it
  compiles *per engine*, so the same few dozen queries are compiled again for every
  submission; :func:`install` keeps one engine per database URL in this process (closing
  a gradebook still closes its connections, so a file replaced between two submissions is
  opened afresh), and a worker keeps its private gradebook at one path
  (:func:`private_gradebook`), so its queries are compiled once;
* nbgrader validates each cell's metadata with ``jsonschema.validate``, which first checks
  the *schema itself* against the JSON Schema meta-schema, on every cell; here each schema
  is checked and compiled once, and each cell is validated against the compiled schema,
  raising the same error ``jsonschema.validate`` would.

* every ``Gradebook`` asks SQLAlchemy to create any missing table, which costs one
  reflection query per table even when none is missing; here the tables are listed once and
  ``create_all`` runs only when one is missing;
* a worker's private gradebook is a scratch copy, thrown away after each submission, yet
  SQLite syncs it to disk at each of its many commits; it is opened without syncing and with
  its rollback journal in memory (the instructor's gradebook keeps SQLite's defaults);
* every ``Gradebook`` checks that the database has its tables and the course its row (and
  commits); a private gradebook is checked the first time it is opened for a submission, and
  the other openings for that submission skip the check.

None changes what is read, written or reported; ``tests/grading`` grades with them on.
"""
from __future__ import annotations

import atexit
import os
import shutil
import tempfile
import threading
from pathlib import Path

_installed = False
_lock = threading.Lock()


class _SchemaValidation:
    """``jsonschema.validate`` with each schema's check and validator made once."""

    def __init__(self):
        import jsonschema

        self._jsonschema = jsonschema
        self._validators: dict[int, tuple[object, object]] = {}

    def validate(self, instance, schema) -> None:
        """Raise the error ``jsonschema.validate(instance, schema)`` raises, if any."""
        cached = self._validators.get(id(schema))
        if cached is None or cached[0] is not schema:
            kind = self._jsonschema.validators.validator_for(schema)
            kind.check_schema(schema)
            cached = self._validators[id(schema)] = (schema, kind(schema))
        error = self._jsonschema.exceptions.best_match(cached[1].iter_errors(instance))
        if error is not None:
            raise error

    def __getattr__(self, name):  # the rest of the jsonschema module, unchanged
        return getattr(self._jsonschema, name)


def install() -> None:
    """Apply both speed-ups to nbgrader in this process (idempotent)."""
    global _installed
    with _lock:
        if _installed:
            return
        import sqlalchemy
        from nbgrader import api
        from nbgrader.nbgraderformat import common

        engines: dict = {}

        def create_engine(url, **options):
            key = (str(url), tuple(sorted(options.items())))
            if key not in engines:
                engine = engines[key] = sqlalchemy.create_engine(url, **options)
                if _is_private_gradebook(engine):
                    sqlalchemy.event.listen(engine, "connect", _without_syncing)
            return engines[key]

        api.create_engine = create_engine
        metadata = api.Base.metadata
        create_all = metadata.create_all

        def create_missing_tables(bind, tables=None, checkfirst=True):
            if tables is None and checkfirst and set(metadata.tables) <= set(sqlalchemy.inspect(bind).get_table_names()):
                return
            create_all(bind=bind, tables=tables, checkfirst=checkfirst)

        metadata.create_all = create_missing_tables

        check_and_open = api.Gradebook.__init__

        def open_gradebook(self, db_url, course_id="default_course", authenticator=None):
            key = (str(db_url), course_id)
            if key not in _checked_private_gradebooks:
                check_and_open(self, db_url, course_id, authenticator)
                if _is_private_gradebook(self.engine):
                    _checked_private_gradebooks.add(key)
                return
            # What nbgrader's __init__ leaves, without checking again what it checked already.
            self.engine = api.create_engine(db_url, echo=False, future=True)
            self.db = api.scoped_session(api.sessionmaker(autoflush=True, bind=self.engine, future=True))
            self.course_id = course_id
            self.authenticator = authenticator

        api.Gradebook.__init__ = open_gradebook
        common.jsonschema = _SchemaValidation()
        _installed = True


def _is_private_gradebook(engine) -> bool:
    database = engine.url.database
    return (_private_folder is not None and engine.url.get_backend_name() == "sqlite" and bool(database)
            and os.path.dirname(os.path.abspath(database)) == os.path.abspath(_private_folder))


def _without_syncing(connection, _record) -> None:
    cursor = connection.cursor()
    cursor.execute("PRAGMA synchronous = OFF")
    cursor.execute("PRAGMA journal_mode = MEMORY")
    cursor.close()


_private_folder: str | None = None
_checked_private_gradebooks: set = set()


def private_gradebook() -> Path:
    """Where this process keeps the gradebook copy of the next submission it grades (one at a time).

    The same path for every submission, so that its SQL is compiled once (see above). The
    caller writes a fresh copy there, so the copy is checked again when next opened. The
    folder is removed when the process exits.
    """
    global _private_folder
    with _lock:
        if _private_folder is None or not os.path.isdir(_private_folder):
            _private_folder = tempfile.mkdtemp(prefix="diffrn-worker-")
            atexit.register(shutil.rmtree, _private_folder, True)
        _checked_private_gradebooks.clear()
    return Path(_private_folder) / "gradebook.db"
