"""Live kubectl at the subprocess boundary: the exact argv and environment handed to the
real binary, stdin for `apply -f -`, the version-skew check. The `live` tests at the end
run the real kubectl against a real cluster (skipped without one)."""
from __future__ import annotations

import json
import subprocess
from types import SimpleNamespace

import pytest

import grader.kubectl as kubectl
from grader.kind.images import AGNHOST_IMAGE
from grader.kubectl import live


class FakeRunner:
    def __init__(self, stdout: str = "", stderr: str = "", code: int = 0) -> None:
        self.calls: list[dict] = []
        self.answer = (stdout, stderr, code)

    def __call__(self, argv, **kw):
        self.calls.append({"argv": argv, **kw})
        out, err, code = self.answer
        return subprocess.CompletedProcess(argv, code, out, err)


def live_ns(name="lab1", context="kind-svclab", kubeconfig=None):
    cluster = SimpleNamespace(mode="live", context=context, kubeconfig=kubeconfig)
    return SimpleNamespace(cluster=cluster, name=name)


def test_argv_puts_context_and_namespace_before_the_learners_words():
    fake = FakeRunner(stdout="NAME ...\n")
    r = live.run(live_ns(), "get svc -o wide", runner=fake, base_env={"SVCLAB_KUBECTL": "/opt/kubectl", "HOME": "/h"})
    call = fake.calls[0]
    assert call["argv"] == ["/opt/kubectl", "--context", "kind-svclab", "--namespace", "lab1", "get", "svc", "-o", "wide"]
    assert call["env"] == {"SVCLAB_KUBECTL": "/opt/kubectl", "HOME": "/h"}
    assert call["input"] == "" and call["capture_output"] and call["text"] and call["check"] is False
    assert r.stdout == "NAME ...\n" and r.code == 0


def test_quoted_words_reach_kubectl_unsplit_and_stdin_is_passed():
    fake = FakeRunner()
    live.run(live_ns(), """patch svc web -p '{"spec": {"type": "NodePort"}}'""", runner=fake,
             base_env={"SVCLAB_KUBECTL": "k"})
    assert fake.calls[0]["argv"][-2:] == ["-p", '{"spec": {"type": "NodePort"}}']
    live.run(live_ns(), "apply -f -", stdin="kind: Service\n", runner=fake, base_env={"SVCLAB_KUBECTL": "k"})
    assert fake.calls[1]["input"] == "kind: Service\n" and fake.calls[1]["argv"][-2:] == ["-f", "-"]


def test_kubeconfig_of_the_cluster_is_exported():
    fake = FakeRunner()
    live.run(live_ns(kubeconfig="/tmp/kc", context=None), "get pods", runner=fake, base_env={"SVCLAB_KUBECTL": "k"})
    call = fake.calls[0]
    assert call["argv"] == ["k", "--namespace", "lab1", "get", "pods"]          # no context: kubeconfig's current
    assert call["env"]["KUBECONFIG"] == "/tmp/kc"


def test_failures_come_back_as_kubectls_own_streams():
    fake = FakeRunner(stderr='Error from server (NotFound): services "x" not found\n', code=1)
    r = live.run(live_ns(), "get svc x", runner=fake, base_env={"SVCLAB_KUBECTL": "k"})
    assert (r.code, r.stdout, r.stderr) == (1, "", 'Error from server (NotFound): services "x" not found\n')


class Told:
    """A live cluster that records what the kubectl runner tells it changed."""
    mode, context, kubeconfig = "live", "kind-svclab", None

    def __init__(self) -> None:
        self.told: list[set[str] | None] = []

    def objects_changed(self, kinds):
        self.told.append(kinds)


@pytest.mark.parametrize(("line", "printed", "told"), [
    ("create ingress shop --rule=shop.example/*=web:80", "ingress.networking.k8s.io/shop created\n", [{"Ingress"}]),
    ("expose deployment shop --port=80", "service/shop exposed\n", [{"Service"}]),
    ("apply -f -", "networkpolicy.networking.k8s.io/deny created\ndeployment.apps/web unchanged\n",
     [{"NetworkPolicy", "deployment"}]),
    ("delete svc web", 'service "web" deleted from lab1 namespace\n', [{"Service"}]),
    ("apply -f - -o yaml", "apiVersion: v1\nkind: Service\n", [None]),    # changed, but what: wait for all
    ("get svc -o wide", "NAME   TYPE\nweb    ClusterIP\n", []),
    ("patch svc web -p {}", "", []),                                     # failed: said nothing on stdout
])
def test_the_cluster_is_told_which_kinds_a_command_changed(line, printed, told):
    """The live cluster waits for the agents that read a change before its next probe; a
    change made by the real kubectl must count as one made through its own API."""
    cluster = Told()
    live.run(SimpleNamespace(cluster=cluster, name="lab1"), line, runner=FakeRunner(stdout=printed),
             base_env={"SVCLAB_KUBECTL": "k"})
    assert cluster.told == told


def test_timeout_stops_kubectl():
    def slow(argv, **kw):
        raise subprocess.TimeoutExpired(argv, kw["timeout"])
    r = live.run(live_ns(), "get pods -w", runner=slow, base_env={"SVCLAB_KUBECTL": "k"}, timeout=3)
    assert r.code == 124 and "did not finish within 3s" in r.stderr


def test_binary_comes_from_the_pinned_wheel():
    path = live.kubectl_binary({})
    out = subprocess.run([path, "version", "--client", "-o", "json"], capture_output=True, text=True, check=True)
    assert json.loads(out.stdout)["clientVersion"]["minor"] == str(live.EXPECTED_MINOR)


def _version_json(client_minor, server_minor):
    return json.dumps({"clientVersion": {"major": "1", "minor": str(client_minor)},
                       "serverVersion": {"major": "1", "minor": f"{server_minor}+"}})


@pytest.mark.parametrize("client,server,warns", [(37, 37, False), (37, 36, False), (37, 38, False),
                                                  (37, 35, True), (37, 39, True)])
def test_version_skew_check(client, server, warns):
    live._checked.clear()
    fake = FakeRunner(stdout=_version_json(client, server))
    msg = live.check_version(live_ns(), runner=fake, base_env={"SVCLAB_KUBECTL": "k"})
    assert fake.calls[0]["argv"][-3:] == ["version", "-o", "json"]
    assert bool(msg) is warns
    if warns:
        assert f"1.{server}" in msg and "skew" in msg
    live.check_version(live_ns(), runner=fake, base_env={"SVCLAB_KUBECTL": "k"})
    assert len(fake.calls) == 1                              # asked once per context


def test_run_dispatches_on_the_namespaces_mode(monkeypatch):
    seen = []
    monkeypatch.setattr(live, "run", lambda ns, line, **kw: seen.append(line) or kubectl.Result("x"))
    assert kubectl.run(live_ns(), "get pods").stdout == "x" and seen == ["get pods"]


# ------------------------------------------------------------------ real cluster
LIVE_OBJECTS = f"""
apiVersion: apps/v1
kind: Deployment
metadata: {{name: web, labels: {{app: web}}}}
spec:
  replicas: 2
  selector: {{matchLabels: {{app: web}}}}
  template:
    metadata: {{labels: {{app: web}}}}
    spec:
      containers:
      - {{name: web, image: {AGNHOST_IMAGE}, args: [netexec, --http-port=8080],
         ports: [{{name: http, containerPort: 8080}}]}}
---
apiVersion: v1
kind: Service
metadata: {{name: web}}
spec: {{selector: {{app: web}}, ports: [{{port: 80, targetPort: http}}]}}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {{name: web}}
spec: {{podSelector: {{matchLabels: {{app: web}}}}, ingress: [{{ports: [{{port: 8080}}]}}]}}
"""
#: What must differ between a real cluster and the model: allocated addresses, generated
#: names, the clock.
VOLATILE = {"AGE", "CLUSTER-IP", "IP", "ENDPOINTS", "NODE"}


def _table(text):
    import re
    lines = text.rstrip("\n").split("\n")
    starts = [m.start() for m in re.finditer(r"(?<!\S)\S", lines[0]) if m.start() == 0 or lines[0][m.start() - 2:m.start()] == "  "]
    def cut(line: str) -> list[str]:
        return [line[a:b].strip() for a, b in zip(starts, starts[1:] + [None], strict=True)]
    header = cut(lines[0])
    return header, [dict(zip(header, cut(line), strict=True)) for line in lines[1:]]


@pytest.mark.live
@pytest.mark.parametrize("command", ["get svc web -o wide", "get deploy web -o wide", "get netpol web",
                                     "get endpoints web"])
def test_offline_tables_match_the_real_kubectl(command):
    import grader
    from grader.cluster.offline import OfflineCluster
    cluster = grader.connect(mode="live", quiet=True)
    real_ns = cluster.namespace("kubectl-parity")
    model_ns = OfflineCluster().namespace("kubectl-parity")
    try:
        for ns in (real_ns, model_ns):
            ns.apply(LIVE_OBJECTS)
            ns.wait_ready(timeout=180)
        real, model = kubectl.run(real_ns, command), kubectl.run(model_ns, command)
        assert (real.code, real.stderr) == (model.code, model.stderr)
        (rh, rrows), (mh, mrows) = _table(real.stdout), _table(model.stdout)
        assert rh == mh
        for r, m in zip(rrows, mrows, strict=True):
            assert {k: v for k, v in r.items() if k not in VOLATILE} == {k: v for k, v in m.items() if k not in VOLATILE}
    finally:
        real_ns.delete()


@pytest.mark.live
def test_live_describe_svc_has_the_offline_layout():
    import grader
    from grader.cluster.offline import OfflineCluster
    cluster = grader.connect(mode="live", quiet=True)
    real_ns = cluster.namespace("kubectl-parity")
    model_ns = OfflineCluster().namespace("kubectl-parity")
    try:
        for ns in (real_ns, model_ns):
            ns.apply(LIVE_OBJECTS)
            ns.wait_ready(timeout=180)
        real = kubectl.run(real_ns, "describe svc web").stdout.splitlines()
        model = kubectl.run(model_ns, "describe svc web").stdout.splitlines()
        assert [ln[:26] for ln in real] == [ln[:26] for ln in model]          # labels and alignment
        same = ("Name:", "Selector:", "Type:", "Port:", "TargetPort:", "Session Affinity:", "Events:")
        assert [ln for ln in real if ln.startswith(same)] == [ln for ln in model if ln.startswith(same)]
        assert live.check_version(real_ns) == ""
    finally:
        real_ns.delete()


class FakePopen:
    """A kubectl port-forward that prints its two lines and keeps running."""

    instances: list["FakePopen"] = []

    def __init__(self, argv, **kw):
        import io
        self.argv, self.kw = argv, kw
        self.stdout = io.StringIO("Forwarding from 127.0.0.1:8080 -> 8080\nForwarding from [::1]:8080 -> 8080\n")
        self.stderr = io.StringIO("")
        self.returncode = None
        FakePopen.instances.append(self)

    def poll(self):
        return self.returncode

    def terminate(self):
        self.returncode = -15

    def wait(self, timeout=None):
        return self.returncode


def test_live_port_forward_runs_in_the_background_until_stopped():
    from grader.kubectl import portforward
    FakePopen.instances.clear()
    r = live.run(live_ns(), "port-forward svc/web 8080:80", popen=FakePopen, base_env={"SVCLAB_KUBECTL": "k"})
    assert r.ok and r.stdout.splitlines() == ["Forwarding from 127.0.0.1:8080 -> 8080",
                                              "Forwarding from [::1]:8080 -> 8080"]
    proc = FakePopen.instances[0]
    assert proc.argv == ["k", "--context", "kind-svclab", "--namespace", "lab1", "port-forward", "svc/web", "8080:80"]
    assert proc.kw["stdin"] == subprocess.DEVNULL and proc.returncode is None
    assert portforward.stop_all() == 1 and proc.returncode == -15


@pytest.mark.parametrize("line", ["-nlab1 port-forward svc/web 8080:80", "--namespace=lab1 port-forward svc/web 8080:80",
                                  "-v=6 port-forward svc/web 8080:80"])
def test_live_port_forward_after_global_flags_runs_in_the_background_too(line):
    """`%kubectl -n lab6 port-forward ...` is the same command: it must not block the cell
    (the runner would wait out its timeout and kill the forward)."""
    from grader.kubectl import portforward

    def blocking(argv, **kw):
        raise AssertionError(f"ran in the foreground: {argv}")
    FakePopen.instances.clear()
    r = live.run(live_ns(), line, runner=blocking, popen=FakePopen, base_env={"SVCLAB_KUBECTL": "k"})
    assert r.ok and FakePopen.instances[0].argv[-2:] == ["svc/web", "8080:80"]
    assert portforward.stop_all() == 1


def test_live_port_forward_that_fails_reports_kubectls_error():
    import io

    class Failing(FakePopen):
        def __init__(self, argv, **kw):
            super().__init__(argv, **kw)
            self.stdout = io.StringIO("")
            self.stderr = io.StringIO('Error from server (NotFound): services "web" not found\n')
            self.returncode = 1
    r = live.run(live_ns(), "port-forward svc/web 8080:80", popen=Failing, base_env={"SVCLAB_KUBECTL": "k"})
    assert (r.code, r.stderr) == (1, 'Error from server (NotFound): services "web" not found\n')
    assert live.stop_forwards() == 0


def test_real_kubectl_against_a_server_that_is_not_there(tmp_path):
    """The pinned binary, through the same code path, against 127.0.0.1:1 (nothing listens):
    the command fails with kubectl's own message, and a port-forward does not hang."""
    kc = tmp_path / "kubeconfig"
    kc.write_text("apiVersion: v1\nkind: Config\nclusters: [{name: c, cluster: {server: 'https://127.0.0.1:1'}}]\n"
                  "contexts: [{name: x, context: {cluster: c, user: u}}]\nusers: [{name: u, user: {token: t}}]\n"
                  "current-context: x\n")
    ns = live_ns(context="x", kubeconfig=str(kc))
    env = {"HOME": str(tmp_path)}
    r = live.run(ns, "get pods", base_env=env, timeout=30)
    assert r.code == 1 and "The connection to the server 127.0.0.1:1 was refused" in r.stderr
    r = live.run(ns, "port-forward svc/web 18080:80", base_env=env)
    assert r.code == 1 and "127.0.0.1:1" in r.stderr
    assert live.stop_forwards() == 0
