"""Sphinx extension: make the book's browser assets local, so the site works offline.

`make vendor` copies MathJax, require.js and the widget manager from npm into assets/vendor;
this extension refuses to build without them (a page that silently falls back to a CDN would
break offline) and loads the MathJax 2 compatibility shim before anything else.
"""
from pathlib import Path

from sphinx.errors import ExtensionError

REQUIRED = ["vendor/mathjax/tex-chtml.js", "vendor/require.min.js", "vendor/html-manager/embed-amd.js"]


def _check_vendored(app):
    static = Path(app.srcdir) / "assets"
    missing = [name for name in REQUIRED if not (static / name).is_file()]
    if missing:
        raise ExtensionError(
            f"browser assets missing from assets/: {', '.join(missing)}. "
            "Run `make vendor` (it installs them from npm with package-lock.json)."
        )


def _drop_duplicate_scripts(app, pagename, templatename, context, doctree):
    """Keep the first of identical script entries.

    sphinx-thebe registers its inline configuration (``const THEBE_JS_URL = ...``) once per
    read phase, so a page can carry it twice and the second copy throws a SyntaxError.
    """
    scripts = context.get("script_files")
    if not scripts:
        return
    seen, unique = set(), []
    for script in scripts:
        attributes = getattr(script, "attributes", {})
        key = (str(getattr(script, "filename", None) or ""), tuple(sorted(attributes.items())))
        if key not in seen:
            seen.add(key)
            unique.append(script)
    scripts[:] = unique


def setup(app):
    app.connect("builder-inited", _check_vendored)
    app.connect("html-page-context", _drop_duplicate_scripts)
    # Before the widget manager and MathJax: the widget manager calls MathJax 2's API.
    app.add_js_file("mathjax2-shim.js", priority=100)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
