"""Notebook 00 has a predict-then-observe exercise like every other notebook (README: the
five parts): as shipped it asks for the prediction (it does not pass by itself), a right
prediction scores, a wrong one is told what the cluster shows and why."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.course.test_course_05_08_exercises import feedback

NB = Path(__file__).resolve().parents[2] / "course" / "00-start-here.ipynb"
OLD_IP = "Prediction: the deleted pod's IP is still an endpoint"


def run_notebook(edits: dict[str, str] | None = None) -> dict[str, object]:
    """Run notebook 00's code cells in a real IPython shell (its %%kubectl cells create the
    workloads), a learner's edits applied; {title: Report} of every cell showing a Report."""
    from IPython.core.interactiveshell import InteractiveShell

    from grader.kubectl import context

    shell = InteractiveShell.instance()
    reports: dict[str, object] = {}
    try:
        for cell in json.loads(NB.read_text(encoding="utf-8"))["cells"]:
            if cell["cell_type"] != "code":
                continue
            src = "".join(cell["source"])
            for old, new in (edits or {}).items():
                src = src.replace(old, new)
            result = shell.run_cell(src, silent=False, store_history=False)
            if result.error_in_exec or result.error_before_exec:
                pytest.fail(f"cell failed: {src[:200]}\n{result.error_in_exec or result.error_before_exec}")
            if type(result.result).__name__ == "Report":
                reports[result.result.title] = result.result
    finally:
        context.reset()
    return reports


def test_shipped_notebook_asks_for_a_prediction() -> None:
    report = run_notebook()[OLD_IP]
    assert report.score == 0 and "write your prediction first" in feedback(report)


def test_right_predictions_pass_and_say_why() -> None:
    reports = run_notebook({"endpoints_after = ...": "endpoints_after = 3",
                                "old_ip_still_endpoint = ...": "old_ip_still_endpoint = False"})
    assert reports[OLD_IP].passed and reports[OLD_IP].score == reports[OLD_IP].points
    assert "new IP" in feedback(reports[OLD_IP])


def test_a_wrong_prediction_is_shown_what_the_cluster_says() -> None:
    reports = run_notebook({"old_ip_still_endpoint = ...": "old_ip_still_endpoint = True"})
    assert reports[OLD_IP].score == 0
    assert "you predicted True, the cluster says False" in feedback(reports[OLD_IP])
