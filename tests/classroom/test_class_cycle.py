"""The class end to end, in a real browser: `make class`'s hub with one instructor and two
learners, driven by headless Chromium (tests/classroom/cycle.mjs) through nbgrader's
exchange: release -> fetch, answer, validate, submit -> collect, autograde, feedback ->
learners fetch their feedback. Then what a learner must never reach, through the browser
and through the exchange's files.

Needs root (the class's learners are system users), Debian's chromium and the npm packages
in classroom/ (make test-classroom installs them); skipped with the reason otherwise.
Screenshots: tests/classroom/output/ (gitignored)."""
from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import pytest

from grader.classroom import setup as class_setup
from grader.classroom.layout import COURSE_ID, ClassLayout
from grader.classroom.setup import demo_name

REPO = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.classroom

CHROMIUM = Path("/usr/bin/chromium")
NODE_MODULES = REPO / "classroom" / "node_modules"
CYCLE = Path(__file__).with_name("cycle.mjs")
OUT = Path(__file__).with_name("output")
LAB = "lab1-clusterip"
SOLUTIONS = REPO / "solutions" / LAB
PREFIX = "svclab-t-"      # not make class's names: a class running beside the test is left alone


def _missing() -> str | None:
    if os.geteuid() != 0:
        return "needs root: the class's instructor and learners are system users"
    if not CHROMIUM.exists():
        return f"needs Debian's chromium at {CHROMIUM} (apt-get install chromium)"
    if not shutil.which("node") or not (NODE_MODULES / "playwright-core").exists():
        return "needs node and classroom/node_modules (make test-classroom runs npm ci)"
    if not shutil.which("useradd"):
        return "needs useradd to create the class's users"
    closed = class_setup.closed_ancestors(Path(sys.executable).resolve())
    if closed:
        return (f"this Python is under {closed[0]}, which the class's users cannot enter: "
                "run it with make test-classroom (the class's own environment)")
    closed = class_setup.closed_ancestors(REPO)
    if closed:
        return (f"the repository is under {closed[0]}, which the class's users cannot enter "
                "(clone it somewhere shared, e.g. /srv/svclab)")
    return None


def _free_ports(n: int) -> list[int]:
    socks = [socket.socket() for _ in range(n)]
    try:
        for s in socks:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def _wait_healthy(url: str, proc: subprocess.Popen, log: Path, timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"the hub exited ({proc.returncode}):\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(f"{url}/hub/health", timeout=2) as resp:
                if resp.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.5)
    raise AssertionError(f"the hub did not answer in {timeout:.0f} s:\n{log.read_text()[-3000:]}")


@pytest.fixture(scope="module")
def hub():
    reason = _missing()
    if reason:
        pytest.skip(reason)
    if OUT.exists():
        shutil.rmtree(OUT)
    OUT.mkdir(parents=True)
    # Not under pytest's tmp_path: that is private to root, and the class's users must
    # reach their homes and the exchange through it.
    root = Path(tempfile.mkdtemp(prefix="svclab-class-test-"))
    root.chmod(0o755)
    port, hub_port, api_port = _free_ports(3)
    layout = class_setup.create(root / "class", port=port, hub_port=hub_port, proxy_api_port=api_port,
                                prefix=PREFIX)
    log = OUT / "hub.log"
    with log.open("w") as fh:
        proc = subprocess.Popen([sys.executable, "-m", "grader.classroom", "--dir", str(layout.root),
                                 "serve"],
                                stdout=fh, stderr=subprocess.STDOUT, cwd=REPO, start_new_session=True)
    try:
        _wait_healthy(layout.url, proc, log)
        yield layout
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        class_setup.remove(layout.root)
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="module")
def plan(hub: ClassLayout) -> Path:
    learner1, learner2 = hub.learners
    answers = {
        # learner 1 answers every part with the worked solution; learner 2 only part 1
        learner1: {p.name.split(".")[0]: p.read_text() for p in sorted(SOLUTIONS.glob("part*.yaml"))},
        learner2: {"part1": (SOLUTIONS / "part1.yaml").read_text()},
    }
    data = {
        "url": hub.url, "password": hub.user_password, "instructor": hub.instructor,
        "learners": list(hub.learners), "lab": LAB, "out": str(OUT), "chromium": str(CHROMIUM),
        "answers": answers,
        "forbidden": {learner2: {
            "other-learners-server": f"/user/{learner1}/lab",
            "other-learners-files": f"/user/{learner1}/files/{COURSE_ID}/{LAB}/{LAB}.ipynb",
            "instructors-formgrader": f"/user/{hub.instructor}/formgrader",
            "instructors-gradebook": f"/user/{hub.instructor}/files/{COURSE_ID}/gradebook.db",
            "outside-own-home": f"/user/{learner2}/api/contents/..%2F{learner1}",
        }},
    }
    path = OUT / "plan.json"
    path.write_text(json.dumps(data))
    path.chmod(0o600)
    return path


def browse(plan: Path, step: str, who: str = "") -> dict:
    run = subprocess.run(["node", str(CYCLE), str(plan), step, *([who] if who else [])],
                         capture_output=True, text=True, timeout=900)
    assert run.returncode == 0, f"browser step {step} {who} failed:\n{run.stderr[-4000:]}"
    return json.loads(run.stdout.strip().splitlines()[-1])


def lab_points() -> tuple[int, int]:
    """(the lab's total points, part 1's points), from the lab's spec: what nbgrader sums."""
    from grader.labs import get_lab

    parts = get_lab(LAB).parts
    return sum(p.points for p in parts), next(p.points for p in parts if p.id == "part1")


def as_user(user: str, *argv: str) -> subprocess.CompletedProcess:
    return subprocess.run(["runuser", "-u", user, "--", *argv], capture_output=True, text=True)


def test_assignment_cycle_through_the_exchange(hub: ClassLayout, plan: Path):
    learner1, learner2 = hub.learners

    released = browse(plan, "release")
    assert {"Assignment List", "Formgrader"} <= set(released["menus"]), released["menus"]
    assert released["generate"]["ok"] and released["publish"]["ok"], released
    assert released["status"] == "released"
    assert (hub.exchange / COURSE_ID / "outbound" / LAB / f"{LAB}.ipynb").exists()

    for learner in hub.learners:
        got = browse(plan, "answer", learner)
        assert LAB in got["listed"] and "Fetch" in got["listed"]
        assert "Validation Results" in got["validated"] or "Success" in got["validated"], got["validated"]
        assert "Traceback" not in got["validated"]
        assert LAB in got["submitted"] and "UTC" in got["submitted"]
        assert "Assignment List" in got["menus"] and "Formgrader" not in got["menus"], got["menus"]
    # The learners' notebooks went into the exchange's inbound, never by a copy of ours.
    inbound = sorted(p.name.split("+")[0] for p in (hub.exchange / COURSE_ID / "inbound").iterdir())
    assert inbound == sorted(hub.learners)

    graded = browse(plan, "collect")
    assert graded["collected"]["ok"], graded["collected"]
    # Full marks for the worked solution; part 1's points only for learner 2.
    total, part1 = lab_points()
    assert graded["grades"][learner1]["score"] == f"{total} / {total}", graded["grades"]
    assert graded["grades"][learner2]["score"] == f"{part1} / {total}", graded["grades"]
    assert graded["generated"]["ok"] and graded["released"]["ok"]
    # formgrader lists the learners by name (not "None, None" as nbgrader's collect leaves them)
    for index, learner in enumerate(hub.learners, start=1):
        first, last = demo_name(index)
        name_cell = graded["students"][learner].split("\t")[0]
        assert name_cell == f"{last}, {first}", graded["students"]

    for learner, expected in ((learner1, f"Score: {total:.1f} / {total:.1f}"),
                              (learner2, f"Score: {part1:.1f} / {total:.1f}")):
        feedback = browse(plan, "feedback", learner)
        assert f"{LAB} ({expected})" in feedback["text"], feedback["text"][:500]

    # What learner 2 must never reach, through the browser...
    snooped = browse(plan, "snoop", learner2)
    assert set(snooped) == set(json.loads(plan.read_text())["forbidden"][learner2])
    for label, seen in snooped.items():
        assert seen["status"] in (400, 403, 404), (label, seen)
        assert "answer part1" not in seen["text"] and "SQLite" not in seen["text"], (label, seen)

    # ... and through the files behind the exchange.
    inbound_dir = hub.exchange / COURSE_ID / "inbound"
    assert as_user(learner2, "ls", str(inbound_dir)).returncode != 0, "a learner listed the class's submissions"
    for private in (hub.home(learner1) / COURSE_ID / LAB / f"{LAB}.ipynb",
                    hub.course_dir / "gradebook.db",
                    hub.course_dir / "source" / LAB / f"{LAB}.ipynb",
                    hub.course_dir / "submitted" / learner1 / LAB / f"{LAB}.ipynb"):
        assert private.exists(), private
        run = as_user(learner2, "cat", str(private))
        assert run.returncode != 0 and "Permission denied" in run.stderr, (private, run.stderr)
