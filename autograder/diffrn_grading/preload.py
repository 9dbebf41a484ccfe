"""Imported once by the fork server the grading workers come from, so that each starts warm.

Importing it does, once, what every worker would otherwise do for its first submission:
compile the notebook format's JSON schema, configure nbgrader's database mappings, and compile
the feedback page's templates, highlighter and markdown renderer (by rendering a small page).
Workers are forks of the fork server, so they inherit all of it.
"""
from __future__ import annotations


def warm_up() -> None:
    """Fill the caches a grading worker's first submission would fill."""
    import nbformat
    import sqlalchemy.orm
    from nbformat.validator import get_validator
    from nbgrader import api  # noqa: F401  (its mappings, configured below)
    from nbgrader.converters import GenerateFeedback

    from diffrn_grading.feedback import FeedbackHTMLExporter

    for relax in (False, True):
        get_validator(version=4, version_minor=nbformat.current_nbformat_minor, relax_add_props=relax)
    sqlalchemy.orm.configure_mappers()
    page = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# Warm\n$x$"),
                                           nbformat.v4.new_code_cell("print(1)")])
    # nbgrader's feedback templates, as GenerateFeedback configures the exporter.
    exporter = FeedbackHTMLExporter(config=GenerateFeedback().config)
    exporter.from_notebook_node(page, resources={"nbgrader": {"notebook": "warm-up", "score": 0, "max_score": 1,
                                                              "late_penalty": 0}})


try:
    warm_up()
except Exception as error:  # only a head start: the workers fill these caches themselves
    import sys

    print(f"grading workers start cold: warming up failed ({type(error).__name__}: {error})", file=sys.stderr)
