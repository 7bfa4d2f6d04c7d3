"""grader.regex_cache: regular expressions built from kept programs behave as compiled ones."""
from __future__ import annotations

import marshal
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

#: Patterns of several shapes (named groups, flags, verbose, bytes, Unicode classes),
#: compiled after the cache is enabled, each asked the same questions.
SCRIPT = r"""
import re, sys
from pathlib import Path
enabled = None
if sys.argv[1] != "-":
    from grader.regex_cache import enable
    enabled = enable(Path(sys.argv[1]))
cases = [
    (r"^(?P<year>[0-9]{4})-(?P<month>[0-9]{2})$", 0, "2024-05"),
    (r"web (\d+)\s+OK", re.I, "WEB 80   ok"),
    (r'''^(?: [-+]?0b[0-1_]+   # binary
          | [-+]?(?:0|[1-9][0-9_]*) )$''', re.X, "-1_000"),
    (rb"\x00(ab)+", 0, b"\x00abab"),
    (r"[^\x09\x0A\x20-\x7E\u00A0-\uD7FF]", 0, "tab\tok\x07"),
]
for pattern, flags, text in cases:
    rx = re.compile(pattern, flags)
    m = rx.search(text)
    print(rx.pattern == pattern, rx.flags, rx.groups, sorted(rx.groupindex.items()),
          m and (m.span(), m.groups()), rx.findall(text), rx.split(text))
print(enabled)
"""


def run(cache: str) -> list[str]:
    out = subprocess.run([sys.executable, "-c", SCRIPT, cache], capture_output=True, text=True,
                         check=True, cwd=ROOT)
    return out.stdout.splitlines()


def test_patterns_from_kept_programs_answer_as_compiled_ones(tmp_path) -> None:
    cache = tmp_path / "sub" / "rx.marshal"
    plain = run("-")
    first, second = run(str(cache)), run(str(cache))    # programs parsed, then read back
    assert plain[-1] == "None" and first[-1] == second[-1] == "True"
    assert first[:-1] == second[:-1] == plain[:-1]
    assert all(line.startswith("True ") for line in plain[:-1])
    held = marshal.loads(cache.read_bytes())["programs"]
    assert len(held) >= 5


def test_a_damaged_or_foreign_file_is_ignored(tmp_path) -> None:
    plain = run("-")[:-1]
    damaged = tmp_path / "damaged.marshal"
    damaged.write_bytes(b"not marshal data")
    assert run(str(damaged))[:-1] == plain
    import re

    from grader.regex_cache import _program

    # Another Python's programs are never used: here a valid program, but of another
    # pattern, which would change the answers if it were.
    foreign = tmp_path / "foreign.marshal"
    other = {(r"web (\d+)\s+OK", 2): _program(re._compiler, "zzz", 2)}  # type: ignore[attr-defined]
    foreign.write_bytes(marshal.dumps({"build": "Python 0.1", "programs": other}))
    assert run(str(foreign))[:-1] == plain


def test_a_program_the_engine_refuses_is_parsed_again(tmp_path) -> None:
    from grader.regex_cache import _build

    cache = tmp_path / "bad.marshal"
    bogus = {(r"web (\d+)\s+OK", 2): (2, [999999], 1, {}, (None, None))}
    cache.write_bytes(marshal.dumps({"build": _build(), "programs": bogus}))
    assert run(str(cache))[:-1] == run("-")[:-1]


def test_the_console_script_keeps_a_file_per_command(tmp_path) -> None:
    env = dict(os.environ, SVCLAB_STARTUP_CACHE=str(tmp_path))
    fixture = str(ROOT / "tests" / "fixtures" / "check" / "mixed")
    outs = [subprocess.run([sys.executable, "-m", "grader.cli", "check", fixture],
                           capture_output=True, text=True, env=env, cwd=ROOT) for _ in range(2)]
    assert [p.name.split("-")[1] for p in tmp_path.glob("regex-*.marshal")] == ["check"]
    assert outs[0].returncode == outs[1].returncode == 1
    assert outs[0].stdout == outs[1].stdout and "nodePort" in outs[0].stdout
