"""Every launch link of the built site names a file that exists, with the right extension.

Binder, Colab and JupyterHub links point at GitHub (the repository, or the notebooks branch that
the Pages workflow fills with the site's notebooks/ and exercises/ folders), so each one is
checked by its URL pattern and by the file it names: in the repository for a chapter's MyST
source, in the built site for a generated notebook (the branch holds exactly those files).
"""
from __future__ import annotations

import json
import re
import sys
from html.parser import HTMLParser
from urllib.parse import parse_qs, unquote, urlsplit

import nbformat
import pytest
import yaml

from site_paths import REPO, SITE

sys.path.insert(0, str(REPO / "_ext"))
import course_notebooks  # noqa: E402

CONFIG = yaml.safe_load((REPO / "_config.yml").read_text())
LAUNCH = {**course_notebooks.LAUNCH_DEFAULTS, **CONFIG["sphinx"]["config"].get("diffrn_launch", {})}
OWNER, NAME = CONFIG["repository"]["url"].rstrip("/").split("/")[-2:]
BRANCH = CONFIG["repository"]["branch"]
EXERCISES = CONFIG["sphinx"]["config"]["diffrn_exercises"]
PUBLISHED_ON_BRANCH = ("notebooks/", "exercises/")


class _Links(HTMLParser):
    def __init__(self):
        super().__init__()
        self.links: list[tuple[str, str]] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "a" and "data-launch" in attrs:
            self.links.append((attrs["data-launch"], attrs["href"]))


def chapter_pages():
    pages = sorted((SITE / "chapters").glob("*.html"))
    if not pages:
        pytest.fail(f"no chapter pages in {SITE}: run `make book` first")
    return pages


def launch_links(page) -> dict[str, list[str]]:
    parser = _Links()
    parser.feed(page.read_text())
    found: dict[str, list[str]] = {}
    for service, url in parser.links:
        found.setdefault(service, []).append(url)
    return found


def site_notebook(relative: str):
    path = SITE / relative
    assert path.suffix == ".ipynb", f"{relative} is not a notebook"
    assert path.is_file(), f"{relative} is not on the site"
    return nbformat.read(str(path), as_version=4)


def expected_files(page) -> tuple[str, str]:
    stem = page.stem
    return f"notebooks/{stem}.ipynb", f"exercises/{EXERCISES[f'chapters/{stem}']}.ipynb"


@pytest.mark.parametrize("page", chapter_pages(), ids=lambda p: p.stem)
def test_every_launch_link_names_an_existing_file(page):
    links = launch_links(page)
    expected = {"download", "jupyterlite", "binder", "colab"} | ({"jupyterhub"} if LAUNCH["jupyterhub_url"] else set())
    assert set(links) == expected, f"{page.name}: launch services {sorted(links)}"
    chapter_nb, exercise_nb = expected_files(page)

    # Downloads: the site's own notebooks, each starting with the setup cell.
    assert links["download"] == [f"../{chapter_nb}", f"../{exercise_nb}"]
    for relative in (chapter_nb, exercise_nb):
        notebook = site_notebook(relative)
        assert course_notebooks.SETUP_TAG in notebook.cells[0].metadata.get("tags", [])

    # JupyterLite: the lab of the site, opening files that its contents hold.
    lite = []
    for url in links["jupyterlite"]:
        match = re.fullmatch(r"\.\./lite/lab/index\.html\?path=((?:chapters|exercises)/[\w.-]+\.ipynb)", url)
        assert match, url
        assert (SITE / "lite" / "lab" / "index.html").is_file()
        assert (SITE / "lite" / "files" / match.group(1)).is_file(), f"{match.group(1)} is not in JupyterLite"
        lite.append(match.group(1))
    assert lite == [chapter_nb.replace("notebooks/", "chapters/"), exercise_nb]

    # Binder: the repository's branch; a chapter opens its MyST source, a problem set is pulled.
    binder = re.escape(f"{LAUNCH['binderhub_url'].rstrip('/')}/v2/gh/{OWNER}/{NAME}/{BRANCH}") + r"\?urlpath=(.+)"
    chapter_link, exercise_link = links["binder"]
    urlpath = unquote(re.fullmatch(binder, chapter_link).group(1))
    assert urlpath == f"lab/tree/chapters/{page.stem}.md"
    assert (REPO / "chapters" / f"{page.stem}.md").is_file()
    assert (REPO / ".binder" / "requirements.txt").is_file()
    pulled = unquote(re.fullmatch(binder, exercise_link).group(1))
    assert_git_pull(pulled, exercise_nb)

    # Colab: GitHub's copy of the generated notebooks on the notebooks branch.
    colab = re.escape(f"{LAUNCH['colab_url'].rstrip('/')}/github/{OWNER}/{NAME}/blob/{LAUNCH['notebooks_branch']}/") + r"(.+)"
    colab_files = [re.fullmatch(colab, url).group(1) for url in links["colab"]]
    assert colab_files == [chapter_nb, exercise_nb]
    for relative in colab_files:
        assert relative.startswith(PUBLISHED_ON_BRANCH)
        site_notebook(relative)

    for url in links.get("jupyterhub", []):
        hub = re.escape(LAUNCH["jupyterhub_url"].rstrip("/") + "/hub/user-redirect/") + r"(git-pull\?.+)"
        assert_git_pull(re.fullmatch(hub, url).group(1), None)


def assert_git_pull(link: str, expected_file: str | None) -> None:
    parts = urlsplit(link)
    assert parts.path == "git-pull", link
    query = {key: values[0] for key, values in parse_qs(parts.query).items()}
    assert query["repo"] == f"https://github.com/{OWNER}/{NAME}"
    assert query["branch"] == LAUNCH["notebooks_branch"]
    prefix = f"lab/tree/{query['targetPath']}/"
    assert query["urlpath"].startswith(prefix), query
    relative = query["urlpath"][len(prefix):]
    assert relative.startswith(PUBLISHED_ON_BRANCH)
    if expected_file:
        assert relative == expected_file
    site_notebook(relative)


def test_published_notebooks_carry_one_setup_cell_and_nothing_else_added():
    """The student release is nbgrader's, plus the setup cell; JupyterLite holds the same files."""
    release = REPO / CONFIG["sphinx"]["config"].get("diffrn_release_dir", "autograder/release")
    wheel = course_notebooks.wheel_name(course_notebooks.package_version(REPO))
    assert (SITE / "wheels" / wheel).is_file()
    for exercise in sorted(set(EXERCISES.values())):
        published = site_notebook(f"exercises/{exercise}.ipynb")
        setup, rest = published.cells[0], published.cells[1:]
        assert wheel in setup.source and "import diffrn" in setup.source
        assert [cell.source for cell in rest] == \
            [cell.source for cell in nbformat.read(str(release / exercise / f"{exercise}.ipynb"), as_version=4).cells]
        assert sum("%pip" in cell.source for cell in rest) == 0
        lite = json.loads((SITE / "lite" / "files" / "exercises" / f"{exercise}.ipynb").read_text())
        assert [("".join(c["source"])) for c in lite["cells"]] == [c.source for c in published.cells]
    index = json.loads((SITE / "lite" / "pypi" / "all.json").read_text())
    assert "diffrn" in index, "JupyterLite's package index does not serve the course package"


def test_site_footer_names_both_licences():
    page = (SITE / "intro.html").read_text()
    assert "MIT" in page and "CC BY 4.0" in page
