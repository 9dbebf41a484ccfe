"""nbgrader configuration of the course. Plain `nbgrader ...` commands run from this folder.

`make assignments` converts the instructor notebooks in ../solutions (MyST Markdown, the one
source of graded work) into source/<ps>/<ps>.ipynb and generates the student versions in
release/. Everything in this folder except this file is generated and ignored by git.
"""
import os

c = get_config()  # noqa: F821 (provided by nbgrader)

c.CourseDirectory.course_id = "diffrn"
c.CourseDirectory.root = os.path.dirname(os.path.abspath(__file__))
c.CourseDirectory.db_url = "sqlite:///" + os.path.join(c.CourseDirectory.root, "gradebook.db")

# Student code and tests share one kernel. Short tracebacks keep hidden-test source out of the
# outputs that feedback is made from; the timeout cuts off infinite loops.
c.Execute.timeout = 60
c.Execute.extra_arguments = ["--InteractiveShell.xmode=Minimal"]
c.Execute.kernel_name = "python3"

# Each kernel is started with the graded student's id in its environment (the checks draw that
# student's hidden cases from it): nbgrader's Execute step, replaced by one that passes it.
from nbgrader.converters import Autograde  # noqa: E402
from nbgrader.preprocessors import Execute  # noqa: E402

c.Autograde.autograde_preprocessors = [
    "diffrn_grading.kernels.StudentExecute" if step is Execute else step
    for step in Autograde.class_traits()["autograde_preprocessors"].default()
]

# Feedback shows what the student may see: hidden tests are removed from the cells before
# rendering, and so is every output line that shows one (student code saw the source it ran).
c.GenerateFeedback.preprocessors = [
    "nbgrader.preprocessors.GetGrades",
    "nbconvert.preprocessors.CSSHTMLHeaderPreprocessor",
    "nbgrader.preprocessors.ClearHiddenTests",
    "diffrn_grading.feedback.RemoveHiddenTestOutput",
]
c.ClearHiddenTests.enforce_metadata = False

# The exchange is where students fetch and submit through nbgrader itself (JupyterHub). On a hub
# it must be a folder every student can reach, outside this course folder: DIFFRN_EXCHANGE names
# it, else nbgrader's usual /srv/nbgrader/exchange if it exists (see hub/jupyterhub.md). On a machine
# without a hub (LMS downloads, `make collect`) a folder inside the course is enough.
_SHARED_EXCHANGE = "/srv/nbgrader/exchange"
c.Exchange.root = os.environ.get("DIFFRN_EXCHANGE") or (
    _SHARED_EXCHANGE if os.path.isdir(_SHARED_EXCHANGE) else os.path.join(c.CourseDirectory.root, "exchange"))
