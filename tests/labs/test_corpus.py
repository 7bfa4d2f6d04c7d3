"""The generated corpus (tests/labs/corpus.py): for every mutant and every equivalence
rewrite of every judged part, the grade agrees with the semantic judge. Behaviour differs
=> below full marks; behaviour equal => full marks; and a rewrite must behave like the
reference (else the rewrite, or the judge, is wrong).

`python tests/labs/corpus.py` prints the corpus size and the results per part."""
from __future__ import annotations

import pytest
from corpus import MUTANT, REWRITE, Variant, corpus, evaluate

from grader.labs import all_labs
from grader.labs.judges import JUDGES, judge_for

CORPUS = corpus()


@pytest.mark.parametrize("variant", CORPUS, ids=lambda v: v.id)
def test_the_grade_agrees_with_the_judge(variant: Variant) -> None:
    outcome = evaluate(variant)
    why = f"judge: {'same' if outcome.same else 'differs'} {list(outcome.differences[:3])}; score {outcome.score}"
    if variant.kind == REWRITE:
        assert outcome.same, "a rewrite must behave like the reference: " + why
    if outcome.same:
        assert outcome.score == outcome.full, why
    else:
        assert outcome.score < outcome.full, why


def test_every_judged_part_has_mutants_and_rewrites() -> None:
    judged = {(lab.name, p.id) for lab in all_labs() for p in lab.parts if (lab.name, p.id) in JUDGES}
    for key in judged:
        mine = [v for v in CORPUS if (v.lab, v.part) == key]
        assert sum(v.kind == MUTANT for v in mine) >= 2 and sum(v.kind == REWRITE for v in mine) >= 2, key
    assert len({v.id for v in CORPUS}) == len(CORPUS)       # every variant named once


#: Parts without a judge (so without a generated corpus) yet, each with why; their listed
#: wrong answers are still graded (test_wrong_answers.py). A new part gets a judge, or a line
#: here that a reviewer can see.
NOT_JUDGED_YET = {
    ("lab2-external-access", "part5"): "facts per node (nested YAML): fact_mutants reads flat facts only",
    ("lab3-discovery", "part5"): "a Corefile answer: no Corefile operators yet",
    ("lab6-ingress", "part6"): "facts of a port-forward run (a command, who answered): no observer yet",
}


def test_every_part_has_a_judge_or_says_why_not_yet() -> None:
    unjudged = {(lab.name, p.id) for lab in all_labs() for p in lab.parts if judge_for(lab.name, p.id) is None}
    assert unjudged == set(NOT_JUDGED_YET)
