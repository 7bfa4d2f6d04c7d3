"""`make lab` is one of the README's two commands: start it as a user would (headless, on a
free port), check the server answers and serves the course with learner tools only, then
stop it. `make instructor-lab` is checked the same way for the instructor tools."""
from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Iterator

import pytest

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "svclab-test-token"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(url: str) -> dict:
    with urllib.request.urlopen(url, timeout=2) as resp:
        return json.loads(resp.read().decode())


INSTRUCTOR_PLUGINS = {"@jupyter/nbgrader:formgrader", "@jupyter/nbgrader:create-assignment",
                      "@jupyter/nbgrader:course-list"}
LEARNER_PLUGINS = {"@jupyter/nbgrader:assignment-list", "@jupyter/nbgrader:validate-assignment"}


def _status(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=5) as resp:
            return resp.status
    except urllib.error.HTTPError as exc:
        return exc.code


@contextlib.contextmanager
def _make_serving(target: str, tmp_path: Path, *, browser_flag: str = "--no-browser") -> Iterator[str]:
    """Start `make TARGET` headless on a free port; yield its base URL once it answers.
    Everything it prints goes to tmp_path/make.log."""
    port = _free_port()
    env = dict(os.environ, JUPYTER_RUNTIME_DIR=str(tmp_path / "runtime"))
    lab_args = f"{browser_flag} --ServerApp.token={TOKEN} --ServerApp.ip=127.0.0.1"
    log = (tmp_path / "make.log").open("w")
    proc = subprocess.Popen(
        ["make", "--no-print-directory", target, f"PORT={port}", f"LAB_ARGS={lab_args}"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
        start_new_session=True, text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        status = None
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                status = _get(f"{base}/api/status?token={TOKEN}")
                break
            except (urllib.error.URLError, ConnectionError, OSError):
                time.sleep(0.5)  # polling a starting server, not waiting for a result to change
        assert proc.poll() is None, f"make {target} exited early:\n{(tmp_path / 'make.log').read_text()}"
        assert status is not None, f"make {target}: JupyterLab did not answer /api/status within 90 s"
        assert "started" in status
        yield base
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        log.close()


def _page_config(base: str) -> dict:
    with urllib.request.urlopen(f"{base}/lab?token={TOKEN}", timeout=5) as resp:
        assert resp.status == 200
        page = resp.read().decode()
    return json.loads(re.search(
        r'<script id="jupyter-config-data" type="application/json">(.*?)</script>', page, re.S).group(1))


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
def test_make_lab_serves_the_course_with_learner_tools_only(tmp_path: Path) -> None:
    with _make_serving("lab", tmp_path) as base:
        listing = _get(f"{base}/api/contents/course?token={TOKEN}")
        names = {item["name"] for item in listing["content"]}
        assert any(n.endswith(".ipynb") for n in names), f"no notebooks served from course/: {names}"

        disabled = set(_page_config(base)["disabledExtensions"])
        # make setup switches off the "Jupyter news?" prompt (and its call home).
        assert "@jupyterlab/apputils-extension:announcements" in disabled
        # nbgrader: the assignment list and Validate, not Create Assignment/formgrader/courses.
        assert INSTRUCTOR_PLUGINS <= disabled
        assert not LEARNER_PLUGINS & disabled
        assert _status(f"{base}/formgrader?token={TOKEN}") == 404
        assert _status(f"{base}/formgraders?token={TOKEN}") == 404       # course list
        # the assignment list's API is there (400: it wants a course_id, not "no such page")
        assert _status(f"{base}/assignments?token={TOKEN}") == 400


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
def test_make_instructor_lab_turns_the_instructor_tools_on(tmp_path: Path) -> None:
    if not (ROOT / "grader" / "export" / "vendor" / "mermaid.min.js").is_file() and shutil.which("npm") is None:
        pytest.skip("make instructor-lab vendors mermaid first, which needs npm")
    with _make_serving("instructor-lab", tmp_path) as base:
        disabled = set(_page_config(base)["disabledExtensions"])
        assert not (INSTRUCTOR_PLUGINS | LEARNER_PLUGINS) & disabled
        assert "@jupyterlab/apputils-extension:announcements" in disabled
        assert _status(f"{base}/formgrader?token={TOKEN}") == 200
        assert _status(f"{base}/formgraders?token={TOKEN}") != 404
        assert _status(f"{base}/assignments?token={TOKEN}") == 400


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
def test_make_lab_starts_kernels_without_warnings_a_learner_cannot_act_on(tmp_path: Path) -> None:
    from jupyter_client import BlockingKernelClient

    # No --no-browser from us: on a machine without a display make lab knows there is none.
    env_display = {k: os.environ.pop(k) for k in ("DISPLAY", "WAYLAND_DISPLAY") if k in os.environ}
    try:
        with _make_serving("lab", tmp_path, browser_flag="") as base:
            req = urllib.request.Request(f"{base}/api/kernels?token={TOKEN}", data=b'{"name": "python3"}',
                                         headers={"Content-Type": "application/json"}, method="POST")
            with urllib.request.urlopen(req, timeout=30) as resp:
                kernel = json.loads(resp.read().decode())
            connection = tmp_path / "runtime" / f"kernel-{kernel['id']}.json"
            client = BlockingKernelClient(connection_file=str(connection))
            client.load_connection_file()
            # the heartbeat calls a kernel dead after 1 s without an answer: on a loaded
            # 2-core machine a starting kernel can be that slow and still be fine
            client.hb_channel.time_to_dead = 30.0
            client.start_channels()
            try:
                # a busy machine may take a while to start a kernel: wait for it, then run code
                client.wait_for_ready(timeout=180)
                reply = client.execute_interactive("print(6 * 7)", timeout=180,
                                                   output_hook=lambda msg: None)
            finally:
                client.stop_channels()
            assert reply["content"]["status"] == "ok"
            # JupyterLab talks to the kernel over a websocket: open one as the browser does
            _open_kernel_websocket(f"{base.replace('http', 'ws', 1)}/api/kernels/{kernel['id']}/channels"
                                   f"?token={TOKEN}")
            log = (tmp_path / "make.log").read_text()
    finally:
        os.environ.update(env_display)
    assert "running over TCP without encryption" not in log
    assert "No web browser found" not in log
    # jupyter_server's millisecond keep-alive defaults, which Tornado reads as seconds
    assert "websocket_ping_timeout" not in log


def _open_kernel_websocket(url: str) -> None:
    """Open a kernel's channels websocket, ask for the kernel's info over it and wait for
    the answer (by then the server has set up the socket's keep-alive), then close it."""
    import asyncio
    import uuid

    from tornado.websocket import websocket_connect

    async def talk() -> None:
        conn = await asyncio.wait_for(websocket_connect(url), timeout=60)
        msg_id = uuid.uuid4().hex
        conn.write_message(json.dumps({
            "channel": "shell", "header": {"msg_id": msg_id, "msg_type": "kernel_info_request",
                                           "username": "test", "session": uuid.uuid4().hex,
                                           "version": "5.3", "date": ""},
            "parent_header": {}, "metadata": {}, "content": {}}))
        while True:
            reply = await asyncio.wait_for(conn.read_message(), timeout=120)
            assert reply is not None, "the kernel websocket closed before answering"
            if isinstance(reply, str) and json.loads(reply).get("parent_header", {}).get("msg_id") == msg_id:
                break
        conn.close()

    asyncio.run(talk())


@pytest.mark.skipif(shutil.which("make") is None or shutil.which("npm") is None,
                    reason="needs make and npm")
def test_setup_vendors_mermaid_so_exports_work_offline(tmp_path: Path) -> None:
    # The README's two commands (make lab, make test) both run setup: with npm there, the
    # exported HTML must not depend on a CDN for its diagrams.
    missing = tmp_path / "vendor" / "mermaid.min.js"
    plan = subprocess.run(["make", "-n", "--no-print-directory", "setup", f"MERMAID_JS={missing}"],
                          cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert plan.returncode == 0, plan.stderr
    assert "npm pack" in plan.stdout and str(missing) in plan.stdout


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
def test_one_ctrl_c_stops_make_lab_and_its_server(tmp_path: Path) -> None:
    """In a terminal, Ctrl-C reaches make and JupyterLab together: both must end, at once."""
    import pty
    import select

    port = _free_port()
    env = dict(os.environ, JUPYTER_RUNTIME_DIR=str(tmp_path / "runtime"))
    pid, fd = pty.fork()
    if pid == 0:  # the child: make lab on a terminal of its own, as a learner runs it
        os.chdir(ROOT)
        os.execvpe("make", ["make", "--no-print-directory", "lab", f"PORT={port}",
                            f"LAB_ARGS=--no-browser --ServerApp.token={TOKEN} --ServerApp.ip=127.0.0.1"], env)
    out = b""
    try:
        deadline = time.monotonic() + 120
        while b"Control-C" not in out and time.monotonic() < deadline:
            if select.select([fd], [], [], 1)[0]:
                out += os.read(fd, 65536)
        assert b"Control-C" in out, f"make lab did not start:\n{out.decode(errors='replace')[-2000:]}"
        text = out.decode(errors="replace")
        served = re.search(r"http://127\.0\.0\.1:(\d+)/", text)
        assert served, text[-2000:]
        base = f"http://127.0.0.1:{served.group(1)}"  # the port asked for, or the next free one
        status = None
        deadline = time.monotonic() + 30
        while status is None and time.monotonic() < deadline:
            try:  # the log line comes a moment before the server accepts connections
                status = _get(f"{base}/api/status?token={TOKEN}")
            except OSError:
                time.sleep(0.5)  # polling a starting server, not waiting for a result to change
        assert status is not None and "started" in status
        os.write(fd, b"\x03")  # the terminal turns this into SIGINT for the foreground group
        ended = None
        deadline = time.monotonic() + 30
        while ended is None and time.monotonic() < deadline:
            if select.select([fd], [], [], 0.5)[0]:
                try:
                    out += os.read(fd, 65536)
                except OSError:  # the terminal closed: make has exited
                    pass
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                ended = status
        text = out.decode(errors="replace")
        assert ended is not None, f"make lab still running 30 s after one Ctrl-C:\n{text[-2000:]}"
        assert "Shut down this Jupyter server" not in text
        with pytest.raises(OSError):  # and nothing answers on its port any more
            _get(f"{base}/api/status?token={TOKEN}")
    finally:
        with contextlib.suppress(ProcessLookupError, ChildProcessError):
            os.killpg(os.getpgid(pid), signal.SIGKILL)
            os.waitpid(pid, 0)
        os.close(fd)
