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
    "lab8-mock-exam": "grader.labs.lab8_mock_exam",
    "lab8-mock-exam-b": "grader.labs.lab8_mock_exam_b",
}


def get_lab(name: str) -> Lab:
    """The spec of lab `name` (its nbgrader assignment id)."""
    if name not in LAB_MODULES:
        raise KeyError(f"no lab named {name!r}; labs: " + ", ".join(LAB_MODULES))
    return importlib.import_module(LAB_MODULES[name]).LAB


def all_labs() -> list[Lab]:
    return [get_lab(n) for n in LAB_MODULES]


def open_lab(name: str, cluster=None):  # type: ignore[no-untyped-def]
    """The notebook's handle on a lab: connects to a cluster (one line on stdout) unless
    one is given, and offers self_check / explore / show."""
    from grader.labs.session import LabSession
    return LabSession(get_lab(name), cluster)


__all__ = ["LAB_MODULES", "Lab", "Part", "all_labs", "get_lab", "open_lab"]
