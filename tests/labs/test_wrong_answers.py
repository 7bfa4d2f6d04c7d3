"""Every wrong answer a lab spec lists is graded, through the clean grading path (offline):
it must score below full marks and no more than the most its entry says it may earn, and,
where the part has a semantic judge, the judge must agree that it behaves differently from
the reference (so the entry is a wrong answer, not a misunderstanding of one)."""
from __future__ import annotations

import pytest

from grader.grading.clean import grade_job
from grader.labs import all_labs
from grader.labs.judges import judge, judge_for
from grader.labs.spec import WrongAnswer

WRONG = [(lab, part, w) for lab in all_labs() for part in lab.parts for w in part.wrong_answers]


def _id(item: tuple) -> str:
    lab, part, w = item
    return f"{lab.name}/{part.id}/{part.wrong_answers.index(w)}"


def test_every_listed_wrong_answer_is_executable_with_a_maximum_below_full_marks() -> None:
    for lab, part, w in WRONG:
        assert isinstance(w, WrongAnswer) and w.text.strip() and w.answer.strip(), _id((lab, part, w))
        assert 0 <= w.max_score < part.points, _id((lab, part, w))


@pytest.mark.parametrize("item", WRONG, ids=_id)
def test_a_listed_wrong_answer_scores_below_full_marks_and_at_most_its_maximum(item: tuple) -> None:
    lab, part, wrong = item
    graded = grade_job({"id": "wrong", "lab": lab.name, "answers": {**lab.references(), part.id: wrong.answer}})
    report = graded["parts"][part.id]
    score = round(sum(r["earned"] for r in report["results"]), 4)
    feedback = "\n".join(r["feedback"] for r in report["results"])
    assert score < part.points, feedback
    assert score <= wrong.max_score + 1e-6, f"{score} > {wrong.max_score}:\n{feedback}"
    if judge_for(lab.name, part.id) is not None:
        assert not judge(lab, part, wrong.answer).same, "the judge finds it behaves like the reference"
