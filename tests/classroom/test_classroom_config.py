"""`make class`'s configuration, without root or a browser: who gets which view, what the
hub and nbgrader are told, and that only the class's own accounts are ever touched.
(The class itself, end to end in Chromium: tests/classroom, make test-classroom.)"""
from __future__ import annotations

from pathlib import Path

import pytest
from traitlets.config import Config
from traitlets.config.loader import PyFileConfigLoader

from grader.classroom import accounts, setup
from grader.classroom.hubconfig import configure, default_url, user_environment
from grader.classroom.layout import ClassLayout

REPO = Path(__file__).resolve().parents[2]


def _layout(tmp_path: Path) -> ClassLayout:
    return ClassLayout(root=tmp_path / "class", user_password="pw-for-tests")


def test_class_accounts_must_carry_the_prefix() -> None:
    with pytest.raises(ValueError, match="must start with 'svclab-'"):
        ClassLayout(root=Path("/tmp/x"), learners=("alice",))
    with pytest.raises(ValueError, match="only letters, digits"):
        ClassLayout(root=Path("/tmp/x"), learners=("svclab-a;rm",))


def test_accounts_outside_the_prefix_are_never_created_or_removed(tmp_path: Path) -> None:
    for action in (lambda: accounts.ensure_user("root", tmp_path / "root"), lambda: accounts.remove_user("www-data")):
        with pytest.raises(accounts.AccountError, match="not a class account"):
            action()


def test_learners_get_the_learner_view_and_the_instructor_the_instructor_view(tmp_path: Path) -> None:
    layout = _layout(tmp_path)
    instructor_tools = str(REPO / "jupyter-config" / "instructor")
    learner = user_environment(layout, layout.learners[0])["JUPYTER_CONFIG_PATH"].split(":")
    instructor = user_environment(layout, layout.instructor)["JUPYTER_CONFIG_PATH"].split(":")
    assert instructor_tools not in learner and str(layout.config_dir) in learner
    assert instructor_tools in instructor and str(layout.config_dir) in instructor
    assert default_url(layout, layout.learners[0]) == "/lab/tree/course"
    assert default_url(layout, layout.instructor) == "/lab/tree/svclab"


def test_the_hub_knows_only_the_class_and_its_groups(tmp_path: Path) -> None:
    layout = _layout(tmp_path)
    c = Config()
    configure(c, layout)
    assert c.Authenticator.allowed_users == set(layout.users)
    assert c.JupyterHub.load_groups["nbgrader-svclab"]["users"] == list(layout.learners)
    assert c.JupyterHub.load_groups["formgrade-svclab"]["users"] == [layout.instructor]
    # nbgrader's JupyterHubAuthPlugin reads the user's groups with the server's token
    assert "read:users:groups!user" in c.Spawner.server_token_scopes
    assert c.JupyterHub.ip == "127.0.0.1" and c.JupyterHub.port == layout.port


def test_class_nbgrader_config_names_the_course_and_the_shared_exchange(tmp_path: Path) -> None:
    layout = _layout(tmp_path)
    text = setup.CLASS_NBGRADER_CONFIG.format(course_id="svclab", exchange=str(layout.exchange))
    (tmp_path / "nbgrader_config.py").write_text(text)
    cfg = PyFileConfigLoader("nbgrader_config.py", path=str(tmp_path)).load_config()
    assert cfg.CourseDirectory.course_id == "svclab"
    assert cfg.Exchange.root == str(layout.exchange) and cfg.Exchange.path_includes_course is True
    assert cfg.Authenticator.plugin_class.__name__ == "JupyterHubAuthPlugin"


def test_the_layout_round_trips_through_its_state_file(tmp_path: Path) -> None:
    layout = _layout(tmp_path)
    layout.root.mkdir(parents=True)
    layout.save()
    assert ClassLayout.load(layout.root) == layout
    assert oct(layout.state_file.stat().st_mode & 0o777) == "0o600"   # it holds the password


def test_a_folder_closed_to_other_users_is_named(tmp_path: Path) -> None:
    private = tmp_path / "home" / "alice"
    (private / "svclab").mkdir(parents=True)
    private.chmod(0o700)
    tmp_path.chmod(0o755)
    (tmp_path / "home").chmod(0o755)
    assert private in setup.closed_ancestors(private / "svclab")
    private.chmod(0o751)
    assert private not in setup.closed_ancestors(private / "svclab")
