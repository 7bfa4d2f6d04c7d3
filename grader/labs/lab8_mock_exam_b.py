"""Lab 8, variant B of the mock exam: the same sixteen competencies as variant A
(grader/labs/lab8_mock_exam.py) with other names, ports, hosts and namespaces, for a retake."""
from __future__ import annotations

from grader.labs.lab8_mock_exam import VARIANT_B, build

LAB = build(VARIANT_B)
