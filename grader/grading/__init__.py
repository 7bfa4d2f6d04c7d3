"""The instructor's grading pipeline over nbgrader, as small steps:

- extract.py       answer-cell bodies straight from a submitted .ipynb (nothing executed)
- limits.py        run a grading job in a child process with memory, CPU and wall limits
- clean.py         `python -I -m grader.grading.clean`: grade jobs from YAML alone, on fresh clusters
- preprocessors.py nbgrader preprocessors: restore deleted test cells; score test cells from
                   the clean result instead of running the learner's kernel
- intake.py        what a submission may bring in: its own regular files; refusals in one line
- steps.py         release, autograde (parallel), feedback, grades CSV
- gradesheet.py    grades.csv cells: per-lab maxima, "not gradable" apart from 0, no formulas
- report.py        item analysis: the pass rate of every check across the class
"""
