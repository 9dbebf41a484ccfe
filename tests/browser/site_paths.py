"""Where the built site lives and which pages it has (shared by the browser tests)."""
from __future__ import annotations

import os
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]
SITE = Path(os.environ.get("DIFFRN_SITE", REPO / "_build" / "html"))
SCREENSHOTS = REPO / "_build" / "screenshots"
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")


def chapter_pages() -> list[str]:
    """Every chapter in _toc.yml, as paths of built pages."""
    toc = yaml.safe_load((REPO / "_toc.yml").read_text())
    files = [toc["root"]]
    for part in toc.get("parts", []):
        files += [chapter["file"] for chapter in part.get("chapters", [])]
    return [f"{name}.html" for name in files]
