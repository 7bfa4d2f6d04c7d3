"""The course's auto-graded labs: one spec module per lab (its workloads, parts, checks and
reference answers) and the session a lab notebook opens.

    %load_ext grader.labs.magic
    from grader.labs import open_lab
    lab = open_lab("lab1-clusterip")
    ...
    report = lab.self_check("part1")
    report.score
"""
from __future__ import annotations

import importlib

from grader.labs.spec import Lab, Part

#: assignment name -> module defining LAB
LAB_MODULES = {
    "lab1-clusterip": "grader.labs.lab1_clusterip",
    "lab2-external-access": "grader.labs.lab2_external_access",
    "lab3-discovery": "grader.labs.lab3_discovery",
    "lab4-network-policy": "grader.labs.lab4_network_policy",
    "lab5-troubleshooting": "grader.labs.lab5_troubleshooting",
    "lab6-ingress": "grader.labs.lab6_ingress",
    "lab7-troubleshooting-drawn": "grader.labs.lab7_troubleshooting_drawn",
    "lab8-mock-exam": "grader.labs.lab8_mock_exam",
    "lab8-mock-exam-b": "grader.labs.lab8_mock_exam_b",
    "lab9-capstone": "grader.labs.lab9_capstone",
}


def get_lab(name: str, learner: str | None = None) -> Lab:
    """The spec of lab `name` (its nbgrader assignment id); for a lab whose faults are drawn
    per learner (its module has `lab_for`), the one `learner` gets (grader.labs.drawn)."""
    if name not in LAB_MODULES:
        raise KeyError(f"no lab named {name!r}; labs: " + ", ".join(LAB_MODULES))
    module = importlib.import_module(LAB_MODULES[name])
    if learner is not None and is_drawn(name):
        return module.lab_for(learner)
    return module.LAB


def is_drawn(name: str) -> bool:
    """Whether lab `name` draws its faults per learner (grader.labs.drawn)."""
    return name in LAB_MODULES and hasattr(importlib.import_module(LAB_MODULES[name]), "lab_for")


def all_labs() -> list[Lab]:
    return [get_lab(n) for n in LAB_MODULES]


def open_lab(name: str, cluster=None, learner: str | None = None):  # type: ignore[no-untyped-def]
    """The notebook's handle on a lab: connects to a cluster (one line on stdout) unless
    one is given, and offers self_check / explore / show. A lab drawn per learner draws for
    `learner`, else for the id the environment gives (grader.labs.drawn.learner_id), and
    says which."""
    from grader.labs.session import LabSession
    if is_drawn(name):
        from grader.labs.drawn import learner_id
        source = "given to open_lab"
        if learner is None:
            learner, source = learner_id()
        lab = get_lab(name, learner)
        count = len(lab.parts[0].visible) if not callable(lab.parts[0].visible) else 0
        print(f"{lab.name}: faults drawn for learner {learner!r} ({source}): {count} paths are broken")
        return LabSession(lab, cluster)
    return LabSession(get_lab(name), cluster)


__all__ = ["LAB_MODULES", "Lab", "Part", "all_labs", "get_lab", "is_drawn", "open_lab"]
