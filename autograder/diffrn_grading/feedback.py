"""Feedback pages: faster to render, and with no line of a hidden test in them.

:class:`RemoveHiddenTestOutput` drops every output line that shows hidden-test source (see
its docstring); ``nbgrader_config.py`` runs it in GenerateFeedback.

nbgrader builds a new HTML exporter for every feedback page, and each one parses and compiles
the same Jinja templates again (about 0.4 s a page). This exporter shares compiled template
bytecode between pages of one process. nbconvert then parses every finished page with
BeautifulSoup only to add a few attributes (alternative text on images, keyboard focus on
cells), which costs as much as rendering the page; this exporter adds the same attributes to
the same tags as it writes them. Most of a page is the same on every student's page (the
instructions, the given code, the tests), so each code cell's highlighting and each markdown
cell's HTML are kept, per process, for the next page that shows the same cell. The page is the
same document nbgrader writes (the tests compare the two parsed).
"""
from __future__ import annotations

import html
import json
import re
from collections import OrderedDict

import jinja2
from nbconvert.exporters import HTMLExporter, TemplateExporter
from nbconvert.filters.highlight import Highlight2HTML
from nbconvert.filters.widgetsdatatypefilter import WidgetsDataTypeFilter
from nbgrader.preprocessors import NbGraderPreprocessor


class _MemoryBytecodeCache(jinja2.BytecodeCache):
    """Compiled templates kept in memory, keyed by Jinja on template name and source checksum."""

    def __init__(self):
        self.store: dict[str, bytes] = {}

    def load_bytecode(self, bucket):
        data = self.store.get(bucket.key)
        if data is not None:
            bucket.bytecode_from_string(data)

    def dump_bytecode(self, bucket):
        self.store[bucket.key] = bucket.bytecode_to_string()


_COMPILED = _MemoryBytecodeCache()


START_TAG = re.compile(r"<(img|div)\b[^>]*>", re.I)
CLASSES = re.compile(r"""\sclass\s*=\s*(?:"([^"]*)"|'([^']*)')""", re.I)
FOCUSABLE = {"jp-Cell-inputWrapper", "jp-OutputArea-output"}
NO_ALT_TEXT = "No description has been provided for this image"


def _accessible_tag(match: re.Match) -> str:
    """The start tag with the attribute nbconvert's HTMLExporter would add to it, if any."""
    tag = match.group(0)
    end = len(tag) - (2 if tag.endswith("/>") else 1)
    if match.group(1).lower() == "img":
        if re.search(r"\salt\s*=", tag, re.I):
            return tag
        return f'{tag[:end]} alt="{NO_ALT_TEXT}"{tag[end:]}'
    found = CLASSES.search(tag)
    classes = set((found.group(1) or found.group(2) or "").split()) if found else set()
    if classes & FOCUSABLE and not re.search(r"\stabindex\s*=", tag, re.I):
        return f'{tag[:end]} tabindex="0"{tag[end:]}'
    return tag


class _Memo:
    """The last ``size`` results of an expensive pure function, by key."""

    def __init__(self, size: int = 4096):
        self.size, self.results = size, OrderedDict()

    def get(self, key, compute):
        if key in self.results:
            self.results.move_to_end(key)
            return self.results[key]
        value = self.results[key] = compute()
        if len(self.results) > self.size:
            self.results.popitem(last=False)
        return value


_HIGHLIGHTED, _MARKDOWN = _Memo(), _Memo()


class _RememberingHighlight(Highlight2HTML):
    """nbconvert's code highlighting, which gives the same HTML for the same cell every time."""

    def __call__(self, source, language=None, metadata=None):
        # Of the cell's metadata (which also holds its run times) only a magic's language counts.
        key = (source, language, self.pygments_lexer, (metadata or {}).get("magics_language"),
               json.dumps(self.extra_formatter_options, sort_keys=True, default=str))
        return _HIGHLIGHTED.get(key, lambda: super(_RememberingHighlight, self).__call__(source, language, metadata))


class FeedbackHTMLExporter(HTMLExporter):
    """nbconvert's HTMLExporter, with compiled templates shared and no second parse of the page."""

    def _create_environment(self):
        environment = super()._create_environment()
        environment.bytecode_cache = _COMPILED
        return environment

    @jinja2.pass_context
    def markdown2html(self, context, source):
        """HTMLExporter's markdown filter; a cell without attachments is rendered once per process."""
        if context.get("cell", {}).get("attachments"):
            return super().markdown2html(context, source)
        key = (source, context.get("resources", {}).get("metadata", {}).get("path", ""), self.embed_images,
               self.anchor_link_text, self.exclude_anchor_links, json.dumps(self.lexer_options, default=str))
        return _MARKDOWN.get(key, lambda: super(FeedbackHTMLExporter, self).markdown2html(context, source))

    def from_notebook_node(self, nb, resources=None, **kw):
        """HTMLExporter's page, with its accessibility attributes added while writing the tags."""
        language = nb.metadata.get("language_info", {})
        lexer = language.get("pygments_lexer", language.get("name", None))
        resources = self._init_resources(resources)
        self.register_filter("highlight_code", self.filters.get(
            "highlight_code", _RememberingHighlight(pygments_lexer=lexer, parent=self)))
        self.register_filter("filter_data_type", WidgetsDataTypeFilter(
            notebook_metadata=self._nb_metadata, parent=self, resources=resources))
        page, resources = TemplateExporter.from_notebook_node(self, nb, resources, **kw)
        return START_TAG.sub(_accessible_tag, page), resources


HIDDEN_BLOCK = re.compile(r"^[^\n]*BEGIN HIDDEN TESTS[^\n]*$(.*?)^[^\n]*END HIDDEN TESTS[^\n]*$", re.M | re.S)
ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


def hidden_lines(sources) -> set[str]:
    """Every line (but the shortest) of every hidden-test block in ``sources``, stripped."""
    lines = set()
    for source in sources:
        for block in HIDDEN_BLOCK.finditer(source or ""):
            # A lone bracket closing a call reveals nothing and would match almost any line.
            lines.update(line.strip() for line in block.group(1).splitlines() if len(line.strip()) > 3)
    return lines


def _reveals(line: str, hidden: set[str]) -> bool:
    text = html.unescape(ANSI.sub("", line))
    return any(secret in text for secret in hidden) or "HIDDEN TESTS" in text


def _scrub(text, hidden: set[str]):
    """``text`` (a string or nbformat's list of lines) without the lines that show a hidden test."""
    if isinstance(text, list):
        return [line for line in text if not _reveals(line, hidden)]
    if not isinstance(text, str):
        return text
    return "".join(line for line in text.splitlines(keepends=True) if not _reveals(line, hidden))


class RemoveHiddenTestOutput(NbGraderPreprocessor):
    """Remove from every output each line that shows a line of a hidden test.

    nbgrader's ClearHiddenTests removes hidden tests from the cells' source, but code that
    ran in the kernel saw that source and may have printed it (an IPython ``pre_run_cell``
    hook printing each cell, a traceback quoting the test): any output line containing a
    line of a hidden-test block of the instructor's notebook (read from the gradebook, where
    nbgrader saved the source cells) is dropped before the page is rendered.
    """

    def preprocess(self, nb, resources):
        from nbgrader.api import Gradebook

        info = resources["nbgrader"]
        with Gradebook(info["db_url"]) as gradebook:
            notebook = gradebook.find_notebook(info["notebook"], info["assignment"])
            hidden = hidden_lines(cell.source for cell in notebook.source_cells)
        if hidden:
            for cell in nb.cells:
                for output in cell.get("outputs", []):
                    self._scrub_output(output, hidden)
        return nb, resources

    @staticmethod
    def _scrub_output(output, hidden: set[str]) -> None:
        if "text" in output:
            output["text"] = _scrub(output["text"], hidden)
        for mime, value in list(output.get("data", {}).items()):
            output["data"][mime] = _scrub(value, hidden)
        if output.get("output_type") == "error":
            output["traceback"] = [_scrub(entry, hidden) for entry in output.get("traceback", [])]
            output["evalue"] = _scrub(output.get("evalue", ""), hidden)
