"""Benchmark: what one learner costs a class hub (README "For instructors", sizing table).

    sudo .venv-class/bin/python bench/class_sizing.py [NOTEBOOK]   (default 09-networkpolicy-basics.ipynb)

Creates a throw-away class (grader.classroom, accounts `svclab-b-*`), starts its hub, lets
headless Chromium log a learner in and Run All on one course notebook, then reads the
resident memory (RSS, /proc) of the learner's single-user server (after JupyterLab loaded
and opened a notebook), of a kernel after running a whole course notebook (nbclient, as
the learner, in the class's environment), and of the hub and proxy. Removes the class
afterwards. Needs root, Debian's chromium and npm's packages in classroom/ (make class-env)."""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from grader.classroom import setup as class_setup  # noqa: E402

# Run the notebook in a fresh kernel, then ask that kernel for its own resident memory.
KERNEL_RSS = """
import sys, time, nbformat
from nbclient import NotebookClient
nb = nbformat.read(sys.argv[1], as_version=4)
nb.cells.append(nbformat.v4.new_code_cell(
    "print([l for l in open('/proc/self/status') if l.startswith('VmRSS')][0].split()[1])"))
started = time.perf_counter()
NotebookClient(nb, timeout=600, kernel_name="python3", allow_errors=True).execute()
kib = int(nb.cells[-1].outputs[0]["text"])
print(f"{kib / 1024:.1f} MiB RSS ({time.perf_counter() - started:.0f} s to run)")
"""


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def processes(user_uid: int | None = None) -> list[tuple[int, str]]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if user_uid is not None and entry.stat().st_uid != user_uid:
                continue
            cmd = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        found.append((int(entry.name), cmd))
    return found


def main(notebook: str = "09-networkpolicy-basics.ipynb") -> None:
    import pwd

    socks = [socket.socket() for _ in range(3)]
    for s in socks:
        s.bind(("127.0.0.1", 0))
    port, hub_port, api_port = (s.getsockname()[1] for s in socks)
    for s in socks:
        s.close()
    root = Path(tempfile.mkdtemp(prefix="svclab-class-bench-"))
    root.chmod(0o755)
    layout = class_setup.create(root / "class", learners=1, port=port, hub_port=hub_port,
                                proxy_api_port=api_port, prefix="svclab-b-")
    log = open(root / "hub.log", "w")
    hub = subprocess.Popen([sys.executable, "-m", "grader.classroom", "--dir", str(layout.root), "serve"],
                           stdout=log, stderr=subprocess.STDOUT, cwd=ROOT, start_new_session=True)
    try:
        for _ in range(360):
            try:
                urllib.request.urlopen(f"{layout.url}/hub/health", timeout=2)
                break
            except OSError:
                time.sleep(0.5)
        learner = layout.learners[0]
        started = time.perf_counter()
        run = subprocess.run(["node", str(ROOT / "bench" / "class_sizing.mjs"), layout.url, learner,
                              layout.user_password, notebook, str(root / "profile")],
                             capture_output=True, text=True, timeout=1200)
        if run.returncode:
            subprocess.run(["cp", f"{root / 'profile'}-failed.png", "/tmp/class-sizing-failed.png"])
            sys.exit(f"browser: {run.stderr[-2000:]} (screenshot /tmp/class-sizing-failed.png)")
        took = time.perf_counter() - started
        print(f"login to notebook done: {took:.0f} s (server start, JupyterLab, a notebook open); "
              f"{run.stdout.strip().splitlines()[-1]}")
        uid = pwd.getpwnam(learner).pw_uid
        kernel = subprocess.run(["runuser", "-u", learner, "--", sys.executable, "-c", KERNEL_RSS,
                                 str(layout.home(learner) / "course" / notebook)],
                                capture_output=True, text=True, timeout=900, cwd=layout.home(learner))
        print(f"  kernel after {notebook}: {kernel.stdout.strip() or kernel.stderr[-500:]}")
        for pid, cmd in processes(uid):
            kind = ("kernel" if "ipykernel" in cmd
                    else "single-user server" if "singleuser" in cmd else cmd[:60])
            print(f"  {kind:<22} {rss_mib(pid):7.1f} MiB RSS")
        for pid, cmd in processes():
            if "jupyterhub -f" in cmd or "configurable-http-proxy" in cmd:
                kind = "hub" if "jupyterhub" in cmd else "proxy"
                print(f"  {kind:<22} {rss_mib(pid):7.1f} MiB RSS (shared by the class)")
    finally:
        os.killpg(hub.pid, signal.SIGTERM)
        hub.wait(timeout=60)
        class_setup.remove(layout.root)
        subprocess.run(["rm", "-rf", str(root)])


if __name__ == "__main__":
    main(*sys.argv[1:])
