"""nbgrader settings for every user of the course's JupyterHub (students and instructor).

Install it as /etc/jupyter/nbgrader_config.py on the hub (or in the single-user image), so
that each student's server finds the course and its exchange. The exchange is the one folder
all users share: the instructor releases into it and collects from it, each student fetches
from it and submits into it; it lies outside the instructor's course folder, which students
cannot (and must not) read. See jupyterhub.md next to this file.
"""
import os

c = get_config()  # noqa: F821 (provided by nbgrader)

c.CourseDirectory.course_id = "diffrn"
# /srv/nbgrader/exchange is nbgrader's usual place; DIFFRN_EXCHANGE moves it (tests use a
# temporary folder). The instructor's autograder/nbgrader_config.py reads the same variable.
c.Exchange.root = os.environ.get("DIFFRN_EXCHANGE") or "/srv/nbgrader/exchange"
