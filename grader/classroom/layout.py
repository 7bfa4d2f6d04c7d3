"""Where the class lives and who is in it: one value object every other module reads."""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

from grader.labs.root import project_root

PREFIX = "svclab-"
COURSE_ID = "svclab"
STUDENT_GROUP = f"nbgrader-{COURSE_ID}"
INSTRUCTOR_GROUP = f"formgrade-{COURSE_ID}"


def repo_root() -> Path:
    """The course repository the class runs from: $SVCLAB_ROOT, else the working directory
    or a folder above it (grader.labs.root), never this file's own location."""
    return project_root()


@dataclass(frozen=True)
class ClassLayout:
    """A demo class: its state folder, its hub's address and its people.

    Every account name starts with PREFIX, so `make class-down` removes exactly what
    `make class` created and never touches another user of the machine."""

    root: Path
    learners: tuple[str, ...] = ("svclab-learner1", "svclab-learner2")
    instructor: str = "svclab-instructor"
    ip: str = "127.0.0.1"
    port: int = 8765
    hub_port: int = 8766
    proxy_api_port: int = 8767
    user_password: str = ""
    repo: Path = field(default_factory=repo_root)

    def __post_init__(self) -> None:
        for name in (self.instructor, *self.learners):
            if not name.startswith(PREFIX) or not name[len(PREFIX):].replace("-", "").isalnum():
                raise ValueError(f"class account {name!r}: names must start with {PREFIX!r} and hold "
                                 "only letters, digits and '-' (they become system users)")

    @property
    def users(self) -> tuple[str, ...]:
        return (self.instructor, *self.learners)

    @property
    def homes(self) -> Path:
        return self.root / "home"

    def home(self, user: str) -> Path:
        return self.homes / user

    @property
    def exchange(self) -> Path:
        return self.root / "exchange"

    @property
    def hub_dir(self) -> Path:
        return self.root / "hub"

    @property
    def config_dir(self) -> Path:
        """Jupyter configuration every class server reads (nbgrader: course id, exchange)."""
        return self.root / "etc" / "jupyter"

    @property
    def instructor_config_dir(self) -> Path:
        """Read by the instructor's server only: the formgrader may be framed by JupyterLab."""
        return self.root / "etc" / "instructor"

    @property
    def course_dir(self) -> Path:
        """The instructor's nbgrader course root (source, release, submitted, gradebook)."""
        return self.home(self.instructor) / COURSE_ID

    @property
    def url(self) -> str:
        return f"http://{self.ip}:{self.port}"

    @property
    def state_file(self) -> Path:
        return self.root / "class.json"

    def save(self) -> None:
        data = {k: str(v) if isinstance(v, Path) else v for k, v in asdict(self).items()}
        self.state_file.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
        self.state_file.chmod(0o600)

    @classmethod
    def load(cls, root: Path) -> "ClassLayout":
        path = root / "class.json"
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise FileNotFoundError(f"{path}: no class here (make class creates it)") from None
        data["root"], data["repo"] = Path(data["root"]), Path(data["repo"])
        data["learners"] = tuple(data["learners"])
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})
