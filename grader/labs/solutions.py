"""Write solutions/<lab>/ from the lab specs: `python -m grader.labs.solutions`.

The reference answers in the spec are what the autograder's tests prove score full marks,
so generating the worked solutions from them keeps one source of truth (tests/labs checks
the committed files are up to date)."""
from __future__ import annotations

import sys

from grader.labs.root import project_root
from grader.labs.spec import COMMANDS, COREFILE, FACTS, Lab


def answer_file(part_id: str, kind: str) -> str:
    if kind == COMMANDS:
        return f"{part_id}.sh"
    if kind == COREFILE:
        return f"{part_id}.Corefile"
    return f"{part_id}.yaml" if kind != FACTS else f"{part_id}.facts.yaml"


def fence(kind: str) -> str:
    """A code fence in the answer's language: shell commands (the mock exam, lab 6's
    imperative part), a Corefile (no highlighter knows its syntax), else YAML."""
    return {COMMANDS: "```bash", COREFILE: "```"}.get(kind, "```yaml")


def render_readme(lab: Lab) -> str:
    lines = [f"# {lab.title}: worked solution", "",
             "Generated from `grader/labs/` (the lab's spec) by `python -m grader.labs.solutions`; "
             "do not edit by hand. Each answer is also a file beside this one, ready to paste into "
             "its answer cell.", ""]
    for n, part in enumerate(lab.parts, 1):
        lines += [f"## Part {n}: {part.title} ({part.points:g} points)", "",
                  f"Answer cell `%%answer {part.id}` ([{answer_file(part.id, part.kind)}]"
                  f"({answer_file(part.id, part.kind)})):", "",
                  fence(part.kind), part.reference.rstrip(), "```", "",
                  "**Why it is right.** " + part.explanation, ""]
        if part.builds_on:
            lines += [f"Graded on top of the reference answers of {', '.join(part.builds_on)}, so an earlier "
                      "mistake is not charged twice.", ""]
        if part.wrong_answers:
            lines += ["**Common wrong answers.**", ""] + [f"- {w.text}" for w in part.wrong_answers] + [""]
        for q in (q for q in lab.manual if q.after == part.id):
            lines += [f"## Explain ({q.points:g} points, graded by hand)", "", q.prompt.strip(), "",
                      "**A full-marks answer.** " + " ".join(q.model_answer.split()), ""]
    return "\n".join(lines).rstrip() + "\n"


def files(lab: Lab) -> dict[str, str]:
    out = {"README.md": render_readme(lab)}
    for part in lab.parts:
        out[answer_file(part.id, part.kind)] = part.reference
    return out


def main(argv: list[str] | None = None) -> int:
    """Write every lab's solutions/<lab>/ under the repository root (first argument, else
    found as grader.labs.root says)."""
    from grader.labs import all_labs
    args = sys.argv[1:] if argv is None else argv
    root = project_root(args[0] if args else None)
    for lab in all_labs():
        folder = root / "solutions" / lab.name
        folder.mkdir(parents=True, exist_ok=True)
        for name, text in files(lab).items():
            (folder / name).write_text(text, encoding="utf-8")
        print(f"wrote solutions/{lab.name}/ ({len(files(lab))} files)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
