"""What a lab notebook's cells call: self-check a part, explore a prepared namespace,
show the lab's fixed manifests.

Self-check runs the spec's *visible* checks exactly as the autograder runs them (offline:
on a fresh offline cluster per part, as the clean grading process does, so even the seeded
endpoint choice repeats) and says how many hidden checks are still to come."""
from __future__ import annotations

from typing import Any, Callable

from grader.checks.core import Report, points_text
from grader.labs.spec import COMMANDS, COREFILE, MANIFESTS, Lab, grade_part, prepare, scaled


class LabSession:
    def __init__(self, lab: Lab, cluster: Any = None) -> None:
        if cluster is None:
            from grader.cluster.connect import connect
            cluster = connect()
        self.lab = lab
        self.cluster = cluster
        self.clock: Any = None
        self.task_namespaces: dict[str, Any] = {}
        if any(p.kind == COMMANDS for p in lab.parts):
            from grader.labs import magic
            magic.AFTER_RECORD[:] = [self.run_commands]

    def start_clock(self, minutes: int, *, restart: bool = False) -> None:
        """Start the exam's clock (or go on with the one started before in this folder)."""
        from grader.kubectl import magic as kubectl_magic
        from grader.labs.clock import ExamClock
        self.clock = ExamClock.start(self.lab.name, minutes, restart=restart)
        kubectl_magic.AFTER_RUN[:] = [self.clock.line]     # the time left, after every %kubectl
        print(self.clock.line())

    def run_commands(self, part_id: str, text: str) -> Any:
        """A commands answer cell, run as the grader runs it: a fresh namespace prepared for
        the task, every command replayed in order, the terminal's output shown; `%kubectl`
        then works in that namespace, to look around. Returns the namespace."""
        from grader.checks.core import is_blank
        from grader.kubectl.context import use
        from grader.labs.replay import replay
        part = self.lab.part(part_id) if part_id in {p.id for p in self.lab.parts} else None
        if part is None or part.kind != COMMANDS:
            return None
        ns = prepare(self.lab, part, self._fresh())
        if not is_blank(text):
            done = replay(ns, text)
            print(done.problem or done.transcript())
            print(done.summary() if not done.problem else "nothing was replayed")
        self.task_namespaces[part_id] = use(ns)
        print(f"%kubectl now works in namespace {ns.name}, as this cell left it")
        if self.clock is not None:
            print(self.clock.line())
        return ns

    def _fresh(self) -> Any:
        """A cluster for one part: a new offline one, or the live cluster (fresh namespaces)."""
        if getattr(self.cluster, "mode", "offline") == "offline":
            from grader.cluster.offline import OfflineCluster
            return OfflineCluster()
        return self.cluster

    def answer(self, part_id: str) -> str | None:
        from grader.labs.magic import ANSWERS
        self.lab.part(part_id)      # a typo in a part name is a clear KeyError
        return ANSWERS.get(part_id)

    def self_check(self, part_id: str, *, show: Callable[[Any], None] | None = None) -> Report:
        """Run the visible checks of `part_id` on your last-run answer cell and show the
        report; leave `.score` as the cell's last expression."""
        part = self.lab.part(part_id)
        report = grade_part(self.lab, part, self.answer(part_id), self._fresh(), include_hidden=False)
        (show or _display)(report)
        return report

    def hidden_checks(self, part_id: str) -> None:
        """What a part's hidden-checks cell says while you work: how many there are and their
        points. It shows no score (you cannot run them), so nbgrader's Validate does not count
        them as failed; when your work is graded, their results replace this text."""
        part = self.lab.part(part_id)
        _, pending = scaled(part, self.answer(part_id) or "", include_hidden=False)
        print(f"{part_id}: {pending} hidden check{'s' if pending != 1 else ''} worth "
              f"{points_text(part.hidden_points)} points will run when your work is graded; "
              "their results will appear here in your feedback")

    def check_all(self) -> None:
        """Self-check every part (visible checks) and print one summary line each."""
        reports = [self.self_check(p.id, show=lambda r: None) for p in self.lab.parts]
        for r in reports:
            print(r.summary())
        visible = sum(r.score for r in reports)
        shown = sum(p.visible_points for p in self.lab.parts)
        hidden = sum(p.hidden_points for p in self.lab.parts)
        line = f"visible checks: {points_text(visible)} of {points_text(shown)} points"
        if hidden:
            line += f"; hidden checks ({points_text(hidden)} points) run when your work is graded"
        print(line)

    def explore(self, part_id: str, *, with_answer: bool = True) -> Any:
        """A namespace prepared as the grader prepares it for `part_id` (and, for manifest
        answers, with your answer applied), for probing by hand: ns.probe(...), ns.lookup(...)."""
        part = self.lab.part(part_id)
        ns = prepare(self.lab, part, self._fresh())
        text = self.answer(part_id)
        if with_answer and part.kind == MANIFESTS and text:
            from grader.labs.spec import apply_manifests_answer
            problem = apply_manifests_answer(part, ns, text)
            if problem:
                print(f"your answer was not applied: {problem}")
        elif with_answer and part.kind == COMMANDS and text:
            from grader.labs.replay import replay
            replay(ns, text)
        elif with_answer and part.kind == COREFILE and text:
            _explore_corefile(ns, text)
        return ns

    def show(self, part_id: str | None = None, *, namespace: str | None = None) -> None:
        """Print the lab's fixed workloads (or a part's fixtures, or what the lab puts in
        another namespace)."""
        if namespace is not None and namespace != self.lab.namespace:
            if namespace not in self.lab.other_namespaces:
                raise KeyError(f"{self.lab.name} puts nothing in namespace {namespace!r}; namespaces: "
                               + ", ".join([self.lab.namespace, *self.lab.other_namespaces]))
            print(self.lab.other_namespaces[namespace].strip())
            return
        print(self.lab.part(part_id).setup.strip() if part_id else self.lab.workloads.strip())

    def __repr__(self) -> str:
        parts = ", ".join(f"{p.id} ({points_text(p.points)} points)" for p in self.lab.parts)
        return f"{self.lab.title}: {parts}"


def _explore_corefile(ns: Any, text: str) -> None:
    """Offline, put a Corefile answer into the explored cluster (what the grader would accept);
    live, leave CoreDNS alone: only the check cell edits it, and it restores the original."""
    if getattr(ns.cluster, "mode", "offline") == "live":
        print("explore leaves a live cluster's Corefile alone; the check cell applies your file, then puts "
              "the original back")
        return
    from grader.labs.corefile_answer import policy_problem
    problem = policy_problem(text, ns.name)
    if problem:
        print(f"your Corefile was not applied: {problem}")
        return
    ns.cluster.edit_corefile(text)


def _display(report: Report) -> None:
    try:
        from IPython import get_ipython
        from IPython.display import display
    except ImportError:   # plain Python: the caller prints the report if it wants
        return
    if get_ipython() is not None:
        display(report)
