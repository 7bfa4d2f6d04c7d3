"""Labs whose faults are drawn per learner: who the learner is, and the draw.

Why a learner id at all: when every learner gets the same broken app, the answer travels
from one screen to the next. A drawn lab seeds its draw with the learner's id, so
neighbours get different faults and the grader, given the same id, redraws exactly the
same ones (no state is stored anywhere; the id is the whole key).

Where the id comes from, in this order:
- the notebook's kernel: `JUPYTERHUB_USER` (JupyterHub sets it for every single-user
  server, and nbgrader's exchange files a submission under that same name, so the
  self-check and the autograder draw for the same id), else `SVCLAB_LEARNER` (a
  self-paced learner who wants another draw, or an instructor replaying a student's),
  else "self-paced": everyone working alone gets the same, documented draw;
- the autograder: nbgrader's student id (the submitted/<student>/ folder), passed in the
  grading job; nothing from the learner's kernel is trusted.
"""
from __future__ import annotations

import hashlib
import os
import random
from typing import Mapping, Sequence, TypeVar

SELF_PACED = "self-paced"
HUB_VARIABLE, OWN_VARIABLE = "JUPYTERHUB_USER", "SVCLAB_LEARNER"

T = TypeVar("T")


def learner_id(environ: Mapping[str, str] | None = None) -> tuple[str, str]:
    """(the learner's id, where it came from), as the notebook's kernel finds it."""
    env = os.environ if environ is None else environ
    for variable in (HUB_VARIABLE, OWN_VARIABLE):
        value = (env.get(variable) or "").strip()
        if value:
            return value, variable
    return SELF_PACED, f"neither {HUB_VARIABLE} nor {OWN_VARIABLE} is set"


def seed_for(lab_name: str, learner: str) -> int:
    """A stable seed for (lab, learner): the same on every machine and Python version
    (hash() is salted per process; sha256 is not). Case and surrounding blanks do not count:
    JupyterHub lower-cases user names, and an LMS export may not."""
    digest = hashlib.sha256(f"{lab_name}\0{learner.strip().lower()}".encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big")


def draw(lab_name: str, learner: str, catalogue: Sequence[T], *, fewest: int, most: int) -> list[T]:
    """Between `fewest` and `most` distinct entries of `catalogue`, in catalogue order,
    drawn from the (lab, learner) seed."""
    if not 0 < fewest <= most <= len(catalogue):
        raise ValueError(f"cannot draw {fewest}-{most} of {len(catalogue)}")
    rng = random.Random(seed_for(lab_name, learner))
    count = rng.randint(fewest, most)
    chosen = set(rng.sample(range(len(catalogue)), count))
    return [c for i, c in enumerate(catalogue) if i in chosen]


__all__ = ["HUB_VARIABLE", "OWN_VARIABLE", "SELF_PACED", "draw", "learner_id", "seed_for"]
