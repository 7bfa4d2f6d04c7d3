"""JupyterHub configuration for `make class` (everything lives in grader/classroom/hubconfig.py)."""
import os
from pathlib import Path

from grader.classroom.hubconfig import configure
from grader.classroom.layout import ClassLayout

c = get_config()  # noqa: F821  (injected by JupyterHub)
configure(c, ClassLayout.load(Path(os.environ["SVCLAB_CLASS_DIR"])))
