"""JupyterHub's configuration for the class: read by classroom/jupyterhub_config.py.

Test authentication (a shared password for the demo's accounts only, JupyterHub's
SharedPasswordAuthenticator) stands in for a real class's own authenticator, or
jupyterhub-ltiauthenticator when the class comes from an LMS. Each account's server runs
as its own system user (LocalProcessSpawner), with the learner or the instructor view."""
from __future__ import annotations

import os
import sys
from typing import Any

from grader.classroom.layout import INSTRUCTOR_GROUP, STUDENT_GROUP, ClassLayout

# The single-user server's token may read its own user's groups: nbgrader's
# JupyterHubAuthPlugin decides who is in the course from them.
SERVER_TOKEN_SCOPES = ["users:activity!user", "access:servers!server",
                       "read:users:name!user", "read:users:groups!user"]


def user_environment(layout: ClassLayout, user: str) -> dict[str, str]:
    """What differs between the learner view and the instructor view: the Jupyter config
    folders (the repository's jupyter-config/instructor turns nbgrader's instructor tools
    back on, for the instructor's server only)."""
    venv_bin = os.path.dirname(os.path.abspath(sys.executable))
    paths = [str(layout.config_dir)]
    if user == layout.instructor:
        instructor = layout.repo / "jupyter-config" / "instructor"
        paths = [str(layout.instructor_config_dir), str(instructor), *paths]
    return {
        "JUPYTER_CONFIG_PATH": os.pathsep.join(paths),
        "PATH": os.pathsep.join([venv_bin, "/usr/local/bin", "/usr/bin", "/bin"]),
    }


def default_url(layout: ClassLayout, user: str) -> str:
    return "/lab/tree/svclab" if user == layout.instructor else "/lab/tree/course"


def configure(c: Any, layout: ClassLayout) -> None:
    """Fill JupyterHub's config object `c` for `layout`."""
    node_bin = layout.repo / "classroom" / "node_modules" / ".bin"
    # The hub runs from the class's environment; the servers it starts run from the same one.
    venv_bin = os.path.dirname(os.path.abspath(sys.executable))

    c.JupyterHub.ip = layout.ip
    c.JupyterHub.port = layout.port
    c.JupyterHub.hub_ip = "127.0.0.1"
    c.JupyterHub.hub_port = layout.hub_port
    c.ConfigurableHTTPProxy.api_url = f"http://127.0.0.1:{layout.proxy_api_port}"
    c.ConfigurableHTTPProxy.command = [str(node_bin / "configurable-http-proxy")]
    c.ConfigurableHTTPProxy.pid_file = str(layout.hub_dir / "proxy.pid")
    c.JupyterHub.db_url = f"sqlite:///{layout.hub_dir / 'jupyterhub.sqlite'}"
    c.JupyterHub.cookie_secret_file = str(layout.hub_dir / "jupyterhub_cookie_secret")
    c.JupyterHub.pid_file = str(layout.hub_dir / "jupyterhub.pid")
    # The demo has no TLS and runs on loopback; a real class puts the hub behind HTTPS.
    c.JupyterHub.cleanup_servers = True

    c.JupyterHub.authenticator_class = "jupyterhub.authenticators.shared.SharedPasswordAuthenticator"
    c.SharedPasswordAuthenticator.user_password = layout.user_password
    c.Authenticator.allowed_users = set(layout.users)
    c.JupyterHub.load_groups = {
        STUDENT_GROUP: {"users": list(layout.learners)},
        INSTRUCTOR_GROUP: {"users": [layout.instructor]},
    }

    c.JupyterHub.spawner_class = "jupyterhub.spawner.LocalProcessSpawner"
    c.Spawner.cmd = [os.path.join(venv_bin, "jupyterhub-singleuser")]
    c.Spawner.server_token_scopes = SERVER_TOKEN_SCOPES
    # A busy 2-core machine needs more than the default 60 s / 30 s for a first start.
    c.Spawner.start_timeout = 180
    c.Spawner.http_timeout = 180
    c.Spawner.notebook_dir = "~"
    # Everything else a single-user server needs comes from the environment below.
    c.Spawner.env_keep = ["LANG", "LC_ALL", "TZ"]

    def pre_spawn_hook(spawner: Any) -> None:
        user = spawner.user.name
        spawner.environment.update(user_environment(layout, user))
        spawner.default_url = default_url(layout, user)

    c.Spawner.pre_spawn_hook = pre_spawn_hook
