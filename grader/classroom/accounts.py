"""Local system users for the class. A multi-user hub runs each learner's server as that
learner, so nbgrader's exchange and private homes keep learners apart by file permissions.
Only names under layout.PREFIX are ever created or removed."""
from __future__ import annotations

import os
import pwd
import subprocess
from pathlib import Path

from grader.classroom.layout import PREFIX


class AccountError(RuntimeError):
    """useradd/userdel failed, or a name outside the class's prefix was asked for."""


def _guard(name: str) -> None:
    if not name.startswith(PREFIX):
        raise AccountError(f"{name!r} is not a class account (they all start with {PREFIX!r}); "
                           "not touching it")


def exists(name: str) -> bool:
    try:
        pwd.getpwnam(name)
    except KeyError:
        return False
    return True


def ensure_user(name: str, home: Path) -> pwd.struct_passwd:
    """A system user with a private home (mode 700) and its own group; no password (the
    hub authenticates, the user never logs in to the machine)."""
    _guard(name)
    if not exists(name):
        home.parent.mkdir(parents=True, exist_ok=True)
        run = subprocess.run(["useradd", "--home-dir", str(home), "--create-home", "--user-group",
                              "--shell", "/bin/bash", "--comment", "svclab class (make class)", name],
                             capture_output=True, text=True)
        if run.returncode != 0:
            raise AccountError(f"useradd {name}: {run.stderr.strip()}")
    entry = pwd.getpwnam(name)
    home.mkdir(parents=True, exist_ok=True)
    os.chown(home, entry.pw_uid, entry.pw_gid)
    home.chmod(0o700)
    return entry


def remove_user(name: str) -> bool:
    """Delete a class user (not its home: the class folder goes as a whole). True if it existed."""
    _guard(name)
    if not exists(name):
        return False
    run = subprocess.run(["userdel", name], capture_output=True, text=True)
    if run.returncode != 0:
        raise AccountError(f"userdel {name}: {run.stderr.strip()}")
    return True
