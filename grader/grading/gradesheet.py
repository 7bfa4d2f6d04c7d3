"""grades.csv as a table: what each cell says, and why it is safe to open in a spreadsheet.

- a column per released lab and one for its maximum, so the sheet reads without the course;
- an empty score means "not submitted"; "not gradable: <why>" means submitted but not
  graded (refused, unreadable, stopped): never a 0 that reads like a wrong answer;
- totals add up released labs only, so a lab not handed out yet costs nobody points;
- numbers rounded to 2 decimals;
- every text cell that a spreadsheet would read as a formula (it starts with =, +, -, @, a
  tab or a carriage return: a student id such as `=1+2` or `=HYPERLINK(...)`) is prefixed
  with a quote, as OWASP's CSV-injection advice says.
"""
from __future__ import annotations

import csv
from pathlib import Path
from typing import Any, Mapping, Sequence

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(value: Any) -> str:
    """The cell's text, quoted with a leading ' when a spreadsheet would run it as a formula."""
    if isinstance(value, float):
        value = points(value)
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def points(value: float) -> str:
    """2 decimals, no trailing zeros: 11, 8.5, 1.78."""
    text = f"{round(value, 2):.2f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def grade_table(students: Sequence[str], maxima: Mapping[str, float],
                scores: Mapping[str, Mapping[str, float]], not_gradable: Mapping[tuple[str, str], str],
                pending: Mapping[str, Sequence[str]]) -> tuple[list[str], list[dict[str, Any]]]:
    """(header, rows) of grades.csv; `maxima` holds the released labs, in column order."""
    labs = list(maxima)
    header = ["student"]
    for lab in labs:
        header += [lab, f"{lab} max"]
    header += ["total", "max", "not_gradable", "needs_manual_grade"]
    rows = []
    for student in students:
        row: dict[str, Any] = {"student": student}
        total = 0.0
        unscored = []
        for lab in labs:
            row[f"{lab} max"] = maxima[lab]
            reason = not_gradable.get((student, lab))
            if reason:
                row[lab] = reason if reason.startswith("not gradable") else f"not gradable: {reason}"
                unscored.append(lab)
            elif lab in scores.get(student, {}):
                row[lab] = scores[student][lab]
                total += scores[student][lab]
            else:
                row[lab] = ""
        row["total"] = total
        row["max"] = sum(maxima.values())
        row["not_gradable"] = " ".join(unscored)
        row["needs_manual_grade"] = " ".join(pending.get(student, ()))
        rows.append(row)
    return header, rows


def write_csv(path: Path, header: Sequence[str], rows: Sequence[Mapping[str, Any]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow([spreadsheet_safe(h) for h in header])
        for row in rows:
            writer.writerow([spreadsheet_safe(row.get(h, "")) for h in header])
