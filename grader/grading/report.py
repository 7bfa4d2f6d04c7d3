"""Item analysis: the pass rate of every check across the class, so an instructor sees
which concept the class missed (HTML to read, CSV to sort).

Reads the per-student results CleanGrade writes (course/svclab-results/<lab>/<student>.json):
the same structured results the feedback was built from, hidden checks included."""
from __future__ import annotations

import csv
import html
import json
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from grader.checks.core import EMPTY_ANSWER
from grader.grading.steps import StepResult
from grader.labs.root import course_dir

FIELDS = ["lab", "part", "check", "hidden", "students", "passed", "pass_rate", "mean_share", "blank",
          "not_gradable", "top_feedback"]


@dataclass
class Item:
    """One check across the class. `students` counts the gradable answers only (the rates are
    over them); blank answers and answers that could not be graded are counted apart, so
    they neither lower the pass rate nor crowd out the class's real mistakes."""

    lab: str
    part: str
    check: str
    hidden: bool
    students: int = 0
    passed: int = 0
    share: float = 0.0
    blank: int = 0
    not_gradable: int = 0
    feedback: Counter[str] = field(default_factory=Counter)

    def row(self) -> dict[str, Any]:
        top = self.feedback.most_common(1)[0][0] if self.feedback else ""
        return {"lab": self.lab, "part": self.part, "check": self.check, "hidden": self.hidden,
                "students": self.students, "passed": self.passed,
                "pass_rate": round(self.passed / self.students, 4) if self.students else 0.0,
                "mean_share": round(self.share / self.students, 4) if self.students else 0.0,
                "blank": self.blank, "not_gradable": self.not_gradable, "top_feedback": top}


def _part_state(report: dict[str, Any]) -> str:
    """'gradable', 'blank' or 'not gradable', from a part's results (older results carry no
    not_gradable field: their feedback says it)."""
    reason = report.get("not_gradable")
    if reason is None:
        feedback = [str(r.get("feedback", "")) for r in report.get("results", [])]
        if feedback and all(f.startswith("not gradable: ") for f in feedback):
            reason = feedback[0][len("not gradable: "):]
    if not reason:
        return "gradable"
    return "blank" if str(reason).startswith(EMPTY_ANSWER) else "not gradable"


def collect(results_dir: Path) -> list[Item]:
    items: dict[tuple[str, str, str], Item] = {}
    order: list[tuple[str, str, str]] = []
    unread: Counter[str] = Counter()        # lab -> submissions not graded at all
    for path in sorted(results_dir.glob("*/*.json")):
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        lab = str(data.get("lab") or path.parent.name)
        if not data.get("parts") and data.get("not_gradable"):
            unread[lab] += 1
        for part, report in (data.get("parts") or {}).items():
            state = "not gradable" if data.get("not_gradable") else _part_state(report)
            for r in report.get("results", []):
                key = (lab, part, r["name"])
                if key not in items:
                    items[key] = Item(lab, part, r["name"], bool(r.get("hidden")))
                    order.append(key)
                item = items[key]
                if state == "blank":
                    item.blank += 1
                elif state == "not gradable":
                    item.not_gradable += 1
                else:
                    item.students += 1
                    item.passed += 1 if r.get("passed") else 0
                    item.share += (r["earned"] / r["points"]) if r.get("points") else 0.0
                    if not r.get("passed"):
                        item.feedback[str(r.get("feedback", ""))[:300]] += 1
    for (lab, _, _), item in items.items():
        item.not_gradable += unread[lab]
    return [items[k] for k in order]


FAULT_FIELDS = ["lab", "fault_class", "title", "drawn", "fixed", "failed", "fail_rate", "top_feedback"]


def _fault_classes(lab: str) -> dict[str, Any]:
    """Check name -> fault class, for a lab drawn per learner (its module's FAULT_CLASSES)."""
    import importlib

    from grader.labs import LAB_MODULES
    if lab not in LAB_MODULES:
        return {}
    return dict(getattr(importlib.import_module(LAB_MODULES[lab]), "FAULT_CLASSES", {}))


def collect_faults(results_dir: Path) -> list[dict[str, Any]]:
    """For labs whose faults are drawn per learner: per fault class, how many gradable
    submissions drew it, fixed it and failed it (each class has its own outcome check, so
    a check's result is that class's), most failed first."""
    rows: dict[tuple[str, str], dict[str, Any]] = {}
    for path in sorted(results_dir.glob("*/*.json")):
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        lab = str(data.get("lab") or path.parent.name)
        classes = _fault_classes(lab)
        if not classes or data.get("not_gradable"):
            continue
        for report in (data.get("parts") or {}).values():
            if _part_state(report) != "gradable":
                continue
            for r in report.get("results", []):
                fault = classes.get(r.get("name"))
                if fault is None or r.get("hidden"):
                    continue
                fresh = {"lab": lab, "fault_class": fault.key, "title": fault.title, "drawn": 0, "fixed": 0,
                         "feedback": Counter()}
                row = rows.setdefault((lab, fault.key), fresh)
                row["drawn"] += 1
                if r.get("passed"):
                    row["fixed"] += 1
                else:
                    row["feedback"][str(r.get("feedback", ""))[:300]] += 1
    out = []
    for row in rows.values():
        failed = row["drawn"] - row["fixed"]
        top = row.pop("feedback").most_common(1)
        out.append({**row, "failed": failed, "fail_rate": round(failed / row["drawn"], 4),
                    "top_feedback": top[0][0] if top else ""})
    return sorted(out, key=lambda r: (r["lab"], -r["fail_rate"], r["fault_class"]))


def write_report(course: Path | None = None, out_dir: Path | None = None) -> StepResult:
    """course/reports/item-analysis.{csv,html}."""
    course = course if course is not None else course_dir()
    out = StepResult()
    out_dir = out_dir or course / "reports"
    rows = [i.row() for i in collect(course / "svclab-results")]
    out_dir.mkdir(parents=True, exist_ok=True)
    with (out_dir / "item-analysis.csv").open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=FIELDS)
        writer.writeheader()
        writer.writerows(rows)
    faults = collect_faults(course / "svclab-results")
    (out_dir / "item-analysis.html").write_text(render_html(rows, faults), encoding="utf-8")
    out.say(f"item analysis of {len(rows)} checks -> {out_dir / 'item-analysis.html'} and .csv")
    if faults:
        with (out_dir / "fault-classes.csv").open("w", newline="", encoding="utf-8") as fh:
            writer = csv.DictWriter(fh, fieldnames=FAULT_FIELDS)
            writer.writeheader()
            writer.writerows(faults)
        out.say(f"fault classes of the labs drawn per learner ({len(faults)}) -> "
                f"{out_dir / 'fault-classes.csv'}")
    return out


def render_faults_html(faults: list[dict[str, Any]]) -> list[str]:
    """The section on fault classes: which ones the class failed, most failed first."""
    if not faults:
        return []
    parts = ["<h2>Fault classes the class failed (labs drawn per learner)</h2>",
             "<p>Each learner fixes the faults drawn for them; a class is counted for those who drew it.</p>"
             "<table><tr><th>lab</th><th>fault class</th><th>drawn</th><th>fixed</th><th>failed</th>"
             "<th>fail rate</th><th>most common feedback when failed</th></tr>"]
    for f in faults:
        row_class = "low" if f["fail_rate"] >= 0.5 else ""
        parts.append(f"<tr class='{row_class}'><td>{html.escape(f['lab'])}</td>"
                     f"<td>{html.escape(f['title'])} <i>({html.escape(f['fault_class'])})</i></td>"
                     f"<td>{f['drawn']}</td><td>{f['fixed']}</td><td>{f['failed']}</td>"
                     f"<td>{float(f['fail_rate']):.0%}</td><td>{html.escape(f['top_feedback'])}</td></tr>")
    parts.append("</table>")
    return parts


def render_html(rows: list[dict[str, Any]], faults: list[dict[str, Any]] | None = None) -> str:
    by_lab: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in rows:
        by_lab[r["lab"]].append(r)
    parts = ["<!doctype html><html><head><meta charset='utf-8'><title>svclab item analysis</title>",
             "<style>body{font-family:sans-serif}table{border-collapse:collapse;margin-bottom:2em}"
             "td,th{border:1px solid #ccc;padding:4px 8px;text-align:left}"
             ".bar{background:#4a90d9;height:10px}.low{background:#fbe3e3}</style></head><body>",
             "<h1>Item analysis: pass rate of every check</h1>",
             "<p>Checks passed by fewer than half of the class are highlighted: the concept to revisit. "
             "Rates are over the answers that could be graded; blank answers and answers that could "
             "not be graded (invalid YAML, an unreadable notebook) are counted apart. "
             "The last column is the most common feedback among those who missed it.</p>"]
    if not rows:
        parts.append("<p>No graded submissions yet: run <code>make autograde</code> first.</p>")
    for lab, items in by_lab.items():
        parts.append(f"<h2>{html.escape(lab)}</h2><table><tr><th>part</th><th>check</th><th>students</th>"
                     "<th>pass rate</th><th></th><th>blank</th><th>not gradable</th>"
                     "<th>most common feedback when missed</th></tr>")
        for r in items:
            rate = float(r["pass_rate"])
            name = html.escape(r["check"]) + (" <i>(hidden)</i>" if r["hidden"] else "")
            row_class = 'low' if rate < 0.5 else ''
            parts.append(f"<tr class='{row_class}'><td>{html.escape(r['part'])}</td><td>{name}</td>"
                         f"<td>{r['students']}</td><td>{rate:.0%}</td>"
                         f"<td><div class='bar' style='width:{int(rate * 100)}px'></div></td>"
                         f"<td>{r['blank']}</td><td>{r['not_gradable']}</td>"
                         f"<td>{html.escape(r['top_feedback'])}</td></tr>")
        parts.append("</table>")
    parts += render_faults_html(faults or [])
    parts.append("</body></html>")
    return "\n".join(parts)
