"""grader.dataclass_cache: dataclasses compiled once, kept across runs, classes unchanged."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

SCRIPT = """
import sys
from pathlib import Path

import pytest
from grader.dataclass_cache import enable
print(enable(Path(sys.argv[1])))
import dataclasses
@dataclasses.dataclass(frozen=True)
class Point:
    x: int
    y: int = 2
p = Point(1)
try:
    p.x = 5
    frozen = False
except dataclasses.FrozenInstanceError:
    frozen = True
print(repr(p), p == Point(1, 2), hash(p) == hash(Point(1, 2)), frozen)
"""


def run(cache: Path) -> list[str]:
    out = subprocess.run([sys.executable, "-c", SCRIPT, str(cache)], capture_output=True, text=True,
                         check=True, cwd=ROOT)
    return out.stdout.split("\n")[:2]


def test_classes_behave_the_same_and_the_code_is_kept(tmp_path) -> None:
    cache = tmp_path / "sub" / "dc.marshal"
    first, second = run(cache), run(cache)
    assert first[0] == "True"
    assert first[1] == "Point(x=1, y=2) True True True"
    assert first == second
    assert cache.exists() and cache.stat().st_size > 0


def test_a_damaged_cache_is_ignored(tmp_path) -> None:
    cache = tmp_path / "dc.marshal"
    cache.write_bytes(b"not marshal data")
    assert run(cache)[1] == "Point(x=1, y=2) True True True"


def test_the_console_script_gives_the_same_answers_with_a_warm_cache(tmp_path) -> None:
    env = dict(os.environ, SVCLAB_STARTUP_CACHE=str(tmp_path))
    fixture = str(ROOT / "tests" / "fixtures" / "netpol" / "service-port-trap")
    outs = [subprocess.run([sys.executable, "-m", "grader.cli", "matrix", "--ports", "80,8080", fixture],
                           capture_output=True, text=True, env=env, cwd=ROOT) for _ in range(2)]
    assert list(tmp_path.glob("dataclasses-*.marshal"))
    assert outs[0].returncode == outs[1].returncode == 0
    assert outs[0].stdout == outs[1].stdout and "8080/TCP: 3/4 allowed" in outs[0].stdout


def test_a_file_of_classes_no_run_defines_is_cut_back_to_what_runs_use(tmp_path) -> None:
    import marshal

    cache = tmp_path / "dc.marshal"
    stale = {f"def old_{i}(): pass": compile("pass", "<string>", "exec") for i in range(300)}
    cache.write_bytes(marshal.dumps(stale))
    first = run(cache)          # Point's code is new: added to what the file held
    held = marshal.loads(cache.read_bytes())
    assert stale.keys() < held.keys()
    second = run(cache)         # nothing new, 300 entries this run did not use: cut back
    held = marshal.loads(cache.read_bytes())
    assert held and not stale.keys() & held.keys()
    assert first == second and first[1] == "Point(x=1, y=2) True True True"
    kept = cache.stat().st_mtime_ns
    assert run(cache) == first and cache.stat().st_mtime_ns == kept   # now left alone


@pytest.mark.parametrize("loaded, used, compiled, kept", [
    (10, 4, 0, None),            # nothing new, file near what runs use: not rewritten
    (10, 12, 2, 12),             # new code: added to the file (10 + 2 new)
    (200, 40, 0, 40),            # far more than this run used: cut back
    (60, 20, 0, None),           # within twice what it used plus a margin: left alone
    (50, 0, 0, None),            # a run that defined no class (usage error, --help)
])
def test_what_is_written_back(loaded, used, compiled, kept) -> None:
    from grader.dataclass_cache import to_keep

    old = {f"s{i}": i for i in range(loaded)}
    now = {f"s{i}": i for i in range(loaded - (used - compiled), loaded + compiled)}
    out = to_keep(old, now, compiled)
    assert (None if out is None else len(out)) == kept


def test_each_command_keeps_its_own_file(tmp_path) -> None:
    """`svclab check` reads only the code of the classes check defines, not matrix's."""
    env = dict(os.environ, SVCLAB_STARTUP_CACHE=str(tmp_path))
    fixture = str(ROOT / "tests" / "fixtures" / "check" / "good")
    out = subprocess.run([sys.executable, "-m", "grader.cli", "check", fixture],
                         capture_output=True, text=True, env=env, cwd=ROOT)
    assert out.returncode == 0, out.stderr
    assert [p.name.split("-")[1] for p in tmp_path.glob("dataclasses-*.marshal")] == ["check"]
