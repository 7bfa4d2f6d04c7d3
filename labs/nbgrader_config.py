"""nbgrader course root for the svclab labs. Instructors run nbgrader from this folder
(`cd labs && nbgrader ...`), or `svclab grade ...` / `make release|autograde|...` from the
repository root, which drive the same settings through nbgrader's Python API."""
import os

from nbconvert.preprocessors import ClearMetadataPreprocessor, CSSHTMLHeaderPreprocessor
from nbgrader.preprocessors import (
    AssignLatePenalties, CheckCellMetadata, ClearOutput, DeduplicateIds, GetGrades, IgnorePattern, LimitOutput,
    OverwriteCells, OverwriteKernelspec, SaveAutoGrades,
)

from grader.grading.preprocessors import CleanGrade, RestoreTestCells, TrimLongCells

c = get_config()  # noqa: F821  (injected by nbgrader)
HERE = os.path.dirname(os.path.abspath(__file__))

c.CourseDirectory.course_id = "svclab"
c.CourseDirectory.source_directory = "source"
# Learners' "Validate" runs the notebook; offline it is instant, live it waits for pods.
c.ExecutePreprocessor.timeout = 180

# Answer cells hold YAML: the released stub is a YAML comment, which the grader reads as
# "the answer is empty" (nbgrader's default stub is Python, `raise NotImplementedError()`).
c.ClearSolutions.code_stub = {"python": "# YOUR ANSWER HERE"}

# Autograding never starts the learner's kernel. CleanGrade takes the place of Execute: it
# extracts the answer cells' YAML, grades it in a clean, resource-limited process and writes
# every test cell's outputs (feedback and score) from that result. RestoreTestCells brings
# back deleted test cells so every part is scored. (grader/grading/preprocessors.py)
c.Autograde.sanitize_preprocessors = [
    ClearOutput, DeduplicateIds, OverwriteKernelspec, RestoreTestCells, OverwriteCells, CheckCellMetadata,
]
c.Autograde.autograde_preprocessors = [
    CleanGrade, IgnorePattern, ClearMetadataPreprocessor, LimitOutput, SaveAutoGrades,
    AssignLatePenalties, CheckCellMetadata,
]
# Per-check results for the item-analysis report (svclab grade report).
c.CleanGrade.results_dir = os.path.join(HERE, "svclab-results")

# Feedback quotes at most an excerpt of each cell (a 50 MB answer stays in autograded/ only).
c.GenerateFeedback.preprocessors = [GetGrades, CSSHTMLHeaderPreprocessor, TrimLongCells]

# Feedback pages render the notebooks' mermaid diagrams offline (grader/export).
from grader.export import configure_feedback  # noqa: E402

configure_feedback(c)
