"""What a lab *is*, as data: its fixed workloads, its parts (which answer cell, which checks,
how many points, which checks are hidden) and its reference answers.

One spec serves three readers, so they can never disagree:
- the learner's kernel (`lab.self_check("part1")`): visible checks only, and an honest
  count of the hidden ones still to come;
- the autograder's clean process (grader.grading.clean): visible and hidden checks, on a
  fresh cluster, from the submitted YAML alone;
- the solutions generator and the tests: the reference answers must score full marks.

A part is graded in a namespace of its own: the lab's workloads, the part's own fixtures,
the *reference* answers of the parts it builds on (so one early mistake is not charged
twice), then the learner's answer.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Sequence, Union

from grader.checks.core import Check, Report, Result, apply_answer, empty_answer, is_blank, run
from grader.labs.canary import enforcement_problem
from grader.labs.facts import facts_problem

#: A part's checks: a list, or a function of the learner's answer text (for parts whose
#: checks depend on what the learner wrote, e.g. "the name you chose resolves").
ChecksSpec = Union[Sequence[Check], Callable[[str], Sequence[Check]]]

MANIFESTS, FACTS = "manifests", "facts"
#: An answer made of kubectl command lines (the mock exam), replayed by grader.labs.replay.
COMMANDS = "commands"
#: An answer that is a whole CoreDNS Corefile, applied and undone by grader.labs.corefile_answer.
COREFILE = "corefile"
#: What a blank answer cell is told to hold, by the kind of answer.
_BLANK_ASKS = {MANIFESTS: "your manifests", FACTS: "your answer", COMMANDS: "your kubectl commands",
               COREFILE: "the whole Corefile"}


@dataclass(frozen=True)
class WrongAnswer:
    """A common wrong answer: what it does, in words (`text`, for solutions/), and as an
    answer cell would hold it (`answer`), with the most it may earn (`max_score`). CI grades
    every one, so a wrong answer the checks let through is caught before a class is."""

    text: str
    answer: str
    max_score: float = 0.0

    def __str__(self) -> str:
        return self.text


@dataclass(frozen=True)
class Part:
    """One graded task: an answer cell (`answer_<id>`) and a test cell (`test_<id>`)."""

    id: str
    title: str
    points: float
    visible: ChecksSpec
    reference: str
    hidden: ChecksSpec = ()
    kind: str = MANIFESTS            # MANIFESTS: applied; FACTS: a YAML mapping; COMMANDS: kubectl lines;
    #                                  COREFILE: the cluster's Corefile, applied and restored
    setup: str = ""                  # YAML applied in the part's namespace before the answer
    builds_on: tuple[str, ...] = ()  # parts whose reference answers are applied first
    needs_policy_enforcement: bool = False
    task: str = ""                   # the task, in Markdown, as the notebook shows it
    explanation: str = ""            # why the reference is right (solutions/)
    wrong_answers: tuple[WrongAnswer, ...] = ()   # common wrong answers, graded by the tests
    #: a label selector of pods a correct answer keeps NotReady on purpose (a failing
    #: readiness probe), or that the lab's broken app starts NotReady: grading waits for
    #: them to run, not to be Ready
    may_stay_unready: str = ""
    namespace: str = ""              # the part's own namespace (the mock exam's tasks); else the lab's
    #: the part admits hand-written EndpointSlices of its own pods (grader.sandbox.SliceScope)
    #: and reads `${<POD>_IP}` in the answer as that pod's IP now (grader.labs.pod_ips)
    endpoint_slices: bool = False

    @property
    def answer_cell(self) -> str:
        return f"answer_{self.id}"

    @property
    def test_cell(self) -> str:
        return f"test_{self.id}"

    @property
    def hidden_cell(self) -> str:
        """The grade cell holding the hidden checks' points (`test_<id>_hidden`), apart from
        the visible test cell, so that nbgrader's Validate judges the visible cell against
        the visible points only: a correct part validates as passed."""
        return f"test_{self.id}_hidden"

    @property
    def visible_points(self) -> float:
        """The points the visible checks are worth (what the self-check and the visible test
        cell show), in proportion to their weights against the hidden ones, computed on the
        reference answer. Rounded to 4 digits, as scores are, so that all visible checks
        passed is exactly the cell's maximum."""
        visible = sum(c.points for c in checks_for(self.visible, self.reference))
        hidden = sum(c.points for c in checks_for(self.hidden, self.reference))
        if not hidden:
            return float(self.points)
        return round(self.points * visible / (visible + hidden), 4)

    @property
    def hidden_points(self) -> float:
        """The rest of the part's points: the hidden checks', run only when graded."""
        return round(self.points - self.visible_points, 4)


@dataclass(frozen=True)
class ManualQuestion:
    """A free-text answer graded by the instructor (reasoning a check cannot judge)."""

    id: str                 # the answer cell's grade_id
    points: float
    prompt: str             # Markdown
    model_answer: str       # Markdown, for solutions/ and the source notebook
    after: str              # the part it follows in the notebook


@dataclass(frozen=True)
class Lab:
    """A lab: `name` is the nbgrader assignment id and notebook name."""

    name: str
    title: str
    namespace: str
    workloads: str
    parts: tuple[Part, ...]
    other_namespaces: Mapping[str, str] = field(default_factory=dict)   # name -> YAML
    manual: tuple[ManualQuestion, ...] = ()
    goals: str = ""          # Markdown bullets
    concept: str = ""        # Markdown, with a ```mermaid diagram
    whats_next: str = ""     # Markdown
    how_to: str = ""         # Markdown "## Try it" section replacing the default one (the mock exam's)
    setup_extra: str = ""    # Python lines the setup cell runs after opening the lab (the exam's clock)
    #: how many nodes the offline model must have for this lab (None: the course's kind
    #: config); a lab that grades traffic node by node asks for two, as the local cluster has.
    #: Live clusters have the nodes they have.
    offline_nodes: int | None = None

    def part(self, part_id: str) -> Part:
        for p in self.parts:
            if p.id == part_id:
                return p
        raise KeyError(f"{self.name} has no part {part_id!r}; parts: "
                       + ", ".join(p.id for p in self.parts))

    def by_test_cell(self, grade_id: str) -> Part | None:
        """The part whose visible or hidden test cell is `grade_id`."""
        return next((p for p in self.parts if grade_id in (p.test_cell, p.hidden_cell)), None)

    @property
    def points(self) -> float:
        return sum(p.points for p in self.parts)

    def references(self) -> dict[str, str]:
        return {p.id: p.reference for p in self.parts}


def checks_for(spec: ChecksSpec, answer: str) -> list[Check]:
    return list(spec(answer) if callable(spec) else spec)


def scaled(part: Part, answer: str, *, include_hidden: bool) -> tuple[list[Check], int]:
    """The part's checks with weights scaled so that the visible ones add up to the part's
    visible points and the hidden ones to its hidden points (together, the part's points);
    returns (the checks to run, hidden checks not run)."""
    visible = checks_for(part.visible, answer)
    hidden = [c.as_hidden() for c in checks_for(part.hidden, answer)]
    if not hidden:
        return _scale(visible, part.points), 0
    if not visible:
        return (_scale(hidden, part.points), 0) if include_hidden else ([], len(hidden))
    chosen = _scale(visible, part.visible_points)
    if include_hidden:
        chosen += _scale(hidden, part.hidden_points)
    return chosen, (0 if include_hidden else len(hidden))


def _scale(checks: list[Check], points: float) -> list[Check]:
    total = sum(c.points for c in checks) or 1.0
    return [c.worth(c.points * points / total) for c in checks]


def prepare(lab: Lab, part: Part, cluster: Any) -> Any:
    """A fresh namespace holding the lab's workloads, the part's fixtures and the reference
    answers of the parts it builds on. Raises if the lab's own YAML is broken (a lab
    author's defect, caught by the tests, never a learner's)."""
    if lab.offline_nodes and getattr(cluster, "mode", "") == "offline":
        cluster.use_nodes(lab.offline_nodes)
    for name, text in lab.other_namespaces.items():
        cluster.namespace(name).apply(text, source=f"{lab.name} namespace {name}")
    ns = cluster.namespace(part.namespace or lab.namespace)
    if lab.workloads.strip():
        ns.apply(lab.workloads, source=f"{lab.name} workloads")
    if part.setup:
        ns.apply(part.setup, source=f"{lab.name} {part.id} fixtures")
    for dep in part.builds_on:
        ns.apply(lab.part(dep).reference, source=f"{lab.name} {dep} reference")
    # instant offline; live, the lab's pods must run before any probe. A lab whose broken
    # app keeps pods NotReady on purpose (lab 7's readiness fault) waits for them to run only.
    if part.may_stay_unready:
        ns.wait_ready(unready=part.may_stay_unready)
    else:
        ns.wait_ready()
    if part.endpoint_slices:
        ns.admits_endpoint_slices = True   # only now: the lab's own YAML never needs one
    return ns


def apply_manifests_answer(part: Part, ns: Any, text: str) -> str | None:
    """Apply a manifests answer in the part's namespace (apply_answer), after reading its
    `${<POD>_IP}` variables where the part admits hand-written EndpointSlices; None when it
    applied, else why not."""
    if part.endpoint_slices:
        from grader.labs.pod_ips import substitute
        text, problem = substitute(text, ns.pods())
        if problem:
            return problem
    return apply_answer(ns, text)


def add_pods(ns: Any, manifests: Any, *, source: str) -> None:
    """Apply what a check adds to the cluster (new pods, a rollout) and wait until its pods
    are Ready: instant offline; live, a pod has no IP, and counts as no endpoint, until it
    runs."""
    ns.apply(manifests, source=source)
    ns.wait_ready()


def grade_part(lab: Lab, part: Part, answer: str | None, cluster: Any, *, include_hidden: bool,
               not_gradable: str | None = None) -> Report:
    """Grade one part: every check runs and is reported; a missing or broken answer is
    "not gradable: <why>" for every check of the part, never an exception."""
    text = answer or ""
    checks, pending = scaled(part, text, include_hidden=include_hidden)
    title = f"{lab.name} {part.id}: {part.title}"
    reason = not_gradable
    if reason is None and answer is None:
        reason = "the answer cell has not been run (run it, then this cell)"
    if reason is None and is_blank(text):
        # Said before `prepare`: live, building the part's namespace, its workloads and (for
        # a NetworkPolicy part) the enforcement canary costs half a minute for nothing.
        reason = empty_answer(_BLANK_ASKS[part.kind])
    if reason is not None:
        return run(None, checks, title=title, hidden_pending=pending, not_gradable=reason)
    ns = prepare(lab, part, cluster)
    if part.kind == COREFILE:
        from grader.labs.corefile_answer import graded_with
        return graded_with(ns, text, lambda why: run(ns, checks, title=title, hidden_pending=pending,
                                                     not_gradable=why))
    if part.needs_policy_enforcement:
        reason = enforcement_problem(cluster)
    if reason is None and part.kind == COMMANDS:
        reason, title = _replayed(ns, text, title)
    elif reason is None:
        reason = facts_problem(text) if part.kind == FACTS else apply_manifests_answer(part, ns, text)
    if reason is None and part.kind != FACTS:
        reason = _ready_problem(ns, part.may_stay_unready)
    return run(ns, checks, title=title, hidden_pending=pending, not_gradable=reason)


def _replayed(ns: Any, text: str, title: str) -> tuple[str | None, str]:
    """Replay a commands answer in `ns`: (why it cannot be graded, or None; the report's title
    with what the replay did, so the feedback says which command failed and why)."""
    from grader.labs.replay import replay
    done = replay(ns, text)
    if done.problem:
        return done.problem, title
    return None, f"{title} ({done.summary()})"


def _ready_problem(ns: Any, may_stay_unready: str = "") -> str | None:
    """None when every pod runs; else why not (e.g. an answer asking for more replicas than
    the namespace's quota or the node allows), as "not gradable" rather than checks failing
    one by one. Pods matching `may_stay_unready` need only run."""
    try:
        ns.wait_ready(unready=may_stay_unready) if may_stay_unready else ns.wait_ready()
    except TimeoutError as exc:
        lines = [ln.strip().lstrip("- ") for ln in str(exc).splitlines() if ln.strip()]
        return "your answer's pods did not all start: " + "; ".join(ln.rstrip(":") for ln in lines[:2])
    return None


def grade_lab(lab: Lab, answers: Mapping[str, str | None], cluster_factory: Callable[[], Any], *,
              include_hidden: bool = True, missing: Mapping[str, str] | None = None) -> dict[str, Report]:
    """Grade every part, each on a cluster of its own (`cluster_factory()`)."""
    missing = missing or {}
    return {p.id: grade_part(lab, p, answers.get(p.id), cluster_factory(), include_hidden=include_hidden,
                             not_gradable=missing.get(p.id))
            for p in lab.parts}


def report_from_dict(data: Mapping[str, Any]) -> Report:
    """The inverse of Report.to_dict, for results that crossed a process boundary."""
    return Report(str(data["title"]),
                  [Result(str(r["name"]), float(r["earned"]), float(r["points"]), str(r["feedback"]),
                          bool(r.get("hidden", False))) for r in data["results"]],
                  int(data.get("hidden_pending", 0)), data.get("not_gradable"))
