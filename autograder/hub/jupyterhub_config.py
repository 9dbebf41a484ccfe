"""Example JupyterHub configuration for the course (a sketch to adapt, not used by the tests).

Students and the instructor each get a single-user server as their own Unix user, with their
own home folder; nbgrader's exchange (/srv/nbgrader/exchange) is the only folder they share.
The instructor's server also runs formgrader on the course folder. See jupyterhub.md.
"""
c = get_config()  # noqa: F821 (provided by JupyterHub)

c.JupyterHub.bind_url = "http://127.0.0.1:8000"  # put a TLS proxy in front of it
c.JupyterHub.authenticator_class = "pam"          # or your institution's (LTI, OAuth, LDAP)
c.Spawner.default_url = "/lab"
c.Spawner.notebook_dir = "~"
# Every server runs the course's environment, so that `import diffrn` and nbgrader work.
c.Spawner.cmd = ["/opt/diffrn/.venv/bin/jupyterhub-singleuser"]
c.Spawner.environment = {"DIFFRN_EXCHANGE": "/srv/nbgrader/exchange"}

c.Authenticator.allowed_users = {"instructor", "student1", "student2"}  # or a group, or LTI
c.Authenticator.admin_users = {"instructor"}

INSTRUCTORS = {"instructor"}


def _formgrader_for_instructors_only(spawner):
    """Students see Assignments (fetch, submit), not Formgrader; the instructor sees both.

    The instructor's server starts in the course folder (/home/instructor/diffrn/autograder),
    where formgrader finds nbgrader_config.py and the gradebook.
    """
    if spawner.user.name in INSTRUCTORS:
        spawner.notebook_dir = "~/diffrn/autograder"
    else:
        spawner.args = [*spawner.args,
                        "--ServerApp.jpserver_extensions={'nbgrader.server_extensions.formgrader': False}"]


c.Spawner.pre_spawn_hook = _formgrader_for_instructors_only
