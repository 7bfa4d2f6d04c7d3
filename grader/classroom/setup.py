"""Create and remove the class: users, homes, the shared exchange and nbgrader's config.

Nothing here copies a learner's or an instructor's work: the instructor's course starts
from the lab sources, and from then on every file moves through nbgrader's exchange."""
from __future__ import annotations

import os
import secrets
import shutil
import sys
from pathlib import Path

from grader.classroom import accounts
from grader.classroom.layout import COURSE_ID, PREFIX, ClassLayout, repo_root

# nbgrader reads nbgrader_config.py from every Jupyter config folder: this one, on every
# class server's JUPYTER_CONFIG_PATH, names the course and the exchange.
CLASS_NBGRADER_CONFIG = '''"""The class's nbgrader settings (written by `make class`: grader/classroom)."""
from nbgrader.auth import JupyterHubAuthPlugin

c = get_config()  # noqa: F821
c.CourseDirectory.course_id = {course_id!r}
# The exchange: a folder every class user can reach; nbgrader's own permissions keep
# submissions write-only for learners (inbound is 733) and feedback behind a hash.
c.Exchange.root = {exchange!r}
c.Exchange.path_includes_course = True
# Who is in the course comes from the hub's groups: nbgrader-{course_id} (learners),
# formgrade-{course_id} (instructors).
c.Authenticator.plugin_class = JupyterHubAuthPlugin
# Validate runs the notebook; live mode waits for pods (as labs/nbgrader_config.py).
c.ExecutePreprocessor.timeout = 180
'''

# On the instructor's JUPYTER_CONFIG_PATH only: formgrader and `nbgrader` find the course.
INSTRUCTOR_COURSE_POINTER = '''c = get_config()  # noqa: F821
c.CourseDirectory.root = {course!r}
'''

INSTRUCTOR_NBGRADER_CONFIG = '''"""The instructor's course root for the class (written by `make class`)."""
import os

c = get_config()  # noqa: F821
HERE = os.path.dirname(os.path.abspath(__file__))
load_subconfig({labs_config!r})  # noqa: F821  (the labs' grading pipeline, unchanged)
load_subconfig({class_config!r})  # noqa: F821  (course id, exchange)
c.CourseDirectory.root = HERE
c.CleanGrade.results_dir = os.path.join(HERE, "svclab-results")
'''

# JupyterHub >= 4.1 forbids framing single-user pages; JupyterLab shows the formgrader in
# a frame of its own page (nbgrader #1870), so the instructor's server allows 'self'.
INSTRUCTOR_SERVER_CONFIG = '''{
  "ServerApp": {
    "tornado_settings": {"headers": {"Content-Security-Policy": "frame-ancestors 'self'"}}
  }
}
'''


def _chown_tree(path: Path, uid: int, gid: int) -> None:
    os.chown(path, uid, gid)
    for dirpath, dirnames, filenames in os.walk(path):
        for name in dirnames + filenames:
            os.chown(os.path.join(dirpath, name), uid, gid, follow_symlinks=False)


def closed_ancestors(path: Path) -> list[Path]:
    """The folders on the way to `path` that other users cannot pass through (no o+x). The
    class's users run the course from the repository and live under the class folder, so
    both must be reachable: a checkout in a private home is not."""
    closed = []
    for folder in [*reversed(path.resolve().parents), path.resolve()]:
        if folder.exists() and not folder.stat().st_mode & 0o001:
            closed.append(folder)
    return closed


def _password(size: int) -> str:
    return secrets.token_urlsafe(size)[:size]


def create(root: Path, *, learners: int = 2, port: int = 8765, hub_port: int | None = None,
           proxy_api_port: int | None = None, user_password: str = "",
           prefix: str = PREFIX) -> ClassLayout:
    """Make (or refresh) the class under `root`: accounts, private homes, the exchange,
    the configs, the instructor's course. Idempotent: learners' work is never touched.
    `prefix` names the accounts (it must start with layout.PREFIX): a test class uses its
    own, so it never touches the accounts of a class running beside it."""
    if learners < 1:
        raise ValueError("a class needs at least one learner")
    root = root.resolve()
    for needed, what in ((repo_root(), "the repository (the class runs the course from it)"),
                         (root.parent, "the class folder's parent")):
        closed = closed_ancestors(needed)
        if closed:
            raise ValueError(f"{what} is not reachable by the class's users: {closed[0]} is closed to "
                             f"others (mode {oct(closed[0].stat().st_mode & 0o777)}); clone the course "
                             "somewhere shared (e.g. /srv/svclab), or open that folder with chmod o+x")
    layout = ClassLayout(
        root=root, learners=tuple(f"{prefix}learner{i}" for i in range(1, learners + 1)),
        instructor=f"{prefix}instructor",
        port=port, hub_port=hub_port or port + 1, proxy_api_port=proxy_api_port or port + 2,
        user_password=user_password or _password(16))
    root.mkdir(parents=True, exist_ok=True)
    root.chmod(0o755)   # users reach their homes and the exchange through it
    layout.homes.mkdir(exist_ok=True)
    layout.homes.chmod(0o755)
    layout.hub_dir.mkdir(exist_ok=True)
    layout.hub_dir.chmod(0o700)   # the hub's database and cookie secret: root's only
    layout.exchange.mkdir(exist_ok=True)
    layout.exchange.chmod(0o777)    # what nbgrader's release would make it

    for d, text, name in (
        (layout.config_dir, CLASS_NBGRADER_CONFIG.format(course_id=COURSE_ID, exchange=str(layout.exchange)),
         "nbgrader_config.py"),
        (layout.instructor_config_dir, INSTRUCTOR_SERVER_CONFIG, "jupyter_server_config.json"),
        (layout.instructor_config_dir, INSTRUCTOR_COURSE_POINTER.format(course=str(layout.course_dir)),
         "nbgrader_config.py"),
    ):
        d.mkdir(parents=True, exist_ok=True)
        (d / name).write_text(text, encoding="utf-8")
        for p in (d, d.parent):
            p.chmod(0o755)
        (d / name).chmod(0o644)

    for user in layout.users:
        entry = accounts.ensure_user(user, layout.home(user))
        if user == layout.instructor:
            _instructor_course(layout, entry.pw_uid, entry.pw_gid)
        else:
            _learner_home(layout, user, entry.pw_uid, entry.pw_gid)
    layout.save()
    return layout


def _instructor_course(layout: ClassLayout, uid: int, gid: int) -> None:
    course = layout.course_dir
    if not (course / "source").exists():
        shutil.copytree(layout.repo / "labs" / "source", course / "source",
                        ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__"))
    (course / "nbgrader_config.py").write_text(INSTRUCTOR_NBGRADER_CONFIG.format(
        labs_config=str(layout.repo / "labs" / "nbgrader_config.py"),
        class_config=str(layout.config_dir / "nbgrader_config.py")), encoding="utf-8")
    enrol(layout)
    _chown_tree(layout.home(layout.instructor), uid, gid)


def demo_name(index: int) -> tuple[str, str]:
    """(first, last) for the demo class's learner `index` (1-based)."""
    return f"Learner {index}", "Demo"


def enrol(layout: ClassLayout) -> None:
    """Put the class's learners in the instructor's gradebook with names. nbgrader adds a
    student it first meets at `collect` with none, and formgrader then lists "None, None";
    a real class fills the same roster from its LMS or `nbgrader db student import`."""
    from nbgrader.api import Gradebook

    # A new gradebook asks the `alembic` command (installed beside this Python) for its schema
    # version; `make class` runs this Python without its environment's bin/ on PATH.
    bin_dir = str(Path(sys.executable).parent)
    if bin_dir not in os.environ.get("PATH", "").split(os.pathsep):
        os.environ["PATH"] = os.pathsep.join([bin_dir, os.environ.get("PATH", "")])
    with Gradebook(f"sqlite:///{layout.course_dir / 'gradebook.db'}", course_id=COURSE_ID) as gradebook:
        for index, learner in enumerate(layout.learners, start=1):
            first, last = demo_name(index)
            gradebook.update_or_create_student(learner, first_name=first, last_name=last)


def _learner_home(layout: ClassLayout, user: str, uid: int, gid: int) -> None:
    """The course notebooks, the learner's own copy (kept if already there)."""
    notebooks = layout.home(user) / "course"
    if not notebooks.exists():
        shutil.copytree(layout.repo / "course", notebooks,
                        ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__"))
    _chown_tree(layout.home(user), uid, gid)


def remove(root: Path) -> list[str]:
    """Remove the class's users and its folder (homes, exchange, hub state). Returns what it did."""
    root = root.resolve()
    done = []
    try:
        layout = ClassLayout.load(root)
        users = layout.users
    except FileNotFoundError:
        users = ()
    for user in users:
        if accounts.remove_user(user):
            done.append(f"removed user {user}")
    if root.exists():
        shutil.rmtree(root)
        done.append(f"removed {root}")
    return done
