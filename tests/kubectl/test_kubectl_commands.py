"""The offline kubectl's commands that change the cluster or run programs in pods: what
they print, what they change in the model, and how they fail."""
from __future__ import annotations

import pytest

import grader.kubectl as kubectl
from grader.kind.images import AGNHOST_IMAGE
from tests.kubectl.kubectl_fixtures import AGNHOST, make_ns


@pytest.fixture
def env():
    return make_ns()


def run(ns, line, **kw):
    return kubectl.run(ns, line, **kw)


WEB = f"""
apiVersion: apps/v1
kind: Deployment
metadata: {{name: web}}
spec:
  replicas: 2
  selector: {{matchLabels: {{app: web}}}}
  template:
    metadata: {{labels: {{app: web}}}}
    spec:
      containers: [{{name: web, image: {AGNHOST}, args: [netexec, --http-port=8080], ports: [{{containerPort: 8080}}]}}]
"""


# ------------------------------------------------------------------ apply / delete
def test_apply_prints_objects_in_file_order(env):
    """Real kubectl visits a file's objects in order and prints them so (checked against
    kubectl 1.37 on the control plane, tests/controlplane); the namespace applies them in
    grader.k8s.apply_order's order, which must not show."""
    ns, _ = env
    cm = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cfg}\ndata: {a: b}\n"
    svc = "apiVersion: v1\nkind: Service\nmetadata: {name: web}\nspec: {selector: {app: web}, ports: [{port: 80}]}\n"
    r = run(ns, "apply -f -", stdin=WEB + "---\n" + svc + "---\n" + cm)
    assert r.stdout == "deployment.apps/web created\nservice/web created\nconfigmap/cfg created\n"
    assert ns.state.get("ConfigMap", "cfg", ns.name) is not None


def test_apply_from_stdin_file_and_dir(env, tmp_path):
    ns, _ = env
    r = run(ns, "apply -f -", stdin=WEB)
    assert (r.code, r.stdout) == (0, "deployment.apps/web created\n")
    assert run(ns, "apply -f -", stdin=WEB).stdout == "deployment.apps/web unchanged\n"
    f = tmp_path / "svc.yaml"
    f.write_text("apiVersion: v1\nkind: Service\nmetadata: {name: web}\nspec: {selector: {app: web}, ports: [{port: 80, targetPort: 8080}]}\n")
    assert run(ns, f"apply -f {f}").stdout == "service/web created\n"
    (tmp_path / "more").mkdir()
    (tmp_path / "more" / "cm.yaml").write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cfg}\ndata: {a: b}\n")
    assert run(ns, f"apply -f {tmp_path / 'more'}").stdout == "configmap/cfg created\n"
    assert len(ns.endpoints("web")) == 2


def test_apply_invalid_names_the_field_and_applies_nothing(env):
    ns, _ = env
    bad = WEB + "---\napiVersion: v1\nkind: Service\nmetadata: {name: broken}\nspec: {ports: [{port: 0}]}\n"
    r = run(ns, "apply -f -", stdin=bad)
    assert r.code == 1 and r.stdout == ""
    assert 'The Service "broken" is invalid: spec.ports[0].port:' in r.stderr
    assert ns.cluster.state.get("Deployment", "web", "demo") is None       # all or nothing


def test_apply_missing_file(env):
    ns, _ = env
    r = run(ns, "apply -f /no/such.yaml")
    assert (r.code, r.stderr) == (1, 'error: the path "/no/such.yaml" does not exist\n')


def test_delete_prints_namespace_and_not_found(env):
    ns, _ = env
    r = run(ns, "delete svc hello")
    assert (r.code, r.stdout) == (0, 'service "hello" deleted from demo namespace\n')
    assert ns.cluster.state.service("demo", "hello") is None
    r = run(ns, "delete svc hello")
    assert (r.code, r.stderr) == (1, 'Error from server (NotFound): services "hello" not found\n')
    assert run(ns, "delete svc hello --ignore-not-found").code == 0


def test_deleting_a_deployment_pod_brings_a_replacement(env):
    ns, _ = env
    victim = ns.pod("app=hello")
    r = run(ns, f"delete pod {victim.name}")
    assert r.stdout == f'pod "{victim.name}" deleted from demo namespace\n'
    names = {p.name for p in ns.pods()}
    assert victim.name not in names and len([n for n in names if n.startswith("hello-")]) == 3


def test_delete_by_label_and_file(env, tmp_path):
    ns, _ = env
    run(ns, "apply -f -", stdin=WEB)
    r = run(ns, "delete deploy -l app!=nothing")
    assert set(r.stdout.splitlines()) == {'deployment.apps "hello" deleted from demo namespace',
                                          'deployment.apps "web" deleted from demo namespace'}
    f = tmp_path / "web.yaml"
    f.write_text(WEB)
    run(ns, f"apply -f {f}")
    assert run(ns, f"delete -f {f}").stdout == 'deployment.apps "web" deleted from demo namespace\n'


# ------------------------------------------------------------------ create / expose
def test_create_deployment_and_expose(env):
    ns, _ = env
    r = run(ns, f"create deployment echo --image={AGNHOST} --replicas=2 --port=8080 -- /agnhost netexec --http-port=8080")
    assert r.stdout == "deployment.apps/echo created\n"
    obj = ns.cluster.state.get("Deployment", "echo", "demo")
    c = obj["spec"]["template"]["spec"]["containers"][0]
    assert c["name"] == "agnhost" and c["command"] == ["/agnhost", "netexec", "--http-port=8080"]
    assert obj["spec"]["selector"] == {"matchLabels": {"app": "echo"}}
    r = run(ns, "expose deployment echo --port=80 --target-port=8080 --type=NodePort")
    assert r.stdout == "service/echo exposed\n"
    svc = ns.cluster.state.service("demo", "echo")
    assert svc.type == "NodePort" and svc.selector == {"app": "echo"} and svc.ports[0].target_port == 8080
    assert 30000 <= svc.ports[0].node_port <= 32767
    r = run(ns, "expose deployment echo --port=80")
    assert r.code == 1 and 'services "echo" already exists' in r.stderr


def test_expose_takes_the_container_port_when_no_port_given(env):
    ns, _ = env
    run(ns, "apply -f -", stdin=WEB)
    assert run(ns, "expose deploy web --name=web2").ok
    assert ns.cluster.state.service("demo", "web2").ports[0].port == 8080
    r = run(ns, "expose pod client")
    assert r.code == 1 and "couldn't find port via --port flag or introspection" in r.stderr


def test_create_service_kinds(env):
    ns, _ = env
    assert run(ns, "create service clusterip hello2 --tcp=80:8080").stdout == "service/hello2 created\n"
    svc = ns.cluster.state.get("Service", "hello2", "demo")
    assert svc["spec"]["ports"] == [{"name": "80-8080", "port": 80, "protocol": "TCP", "targetPort": 8080}]
    assert svc["spec"]["selector"] == {"app": "hello2"}
    assert run(ns, "create service nodeport np --tcp=80:8080 --node-port=30081").ok
    assert ns.cluster.state.service("demo", "np").ports[0].node_port == 30081
    assert run(ns, "create service externalname db --external-name=db.example.com").ok
    assert ns.cluster.state.service("demo", "db").external_name == "db.example.com"


# ------------------------------------------------------------------ patch / label / scale / rollout
def test_patch_merge_strategic_and_json(env):
    ns, _ = env
    r = run(ns, """patch svc hello --type=merge -p '{"spec":{"type":"NodePort"}}'""")
    assert r.stdout == "service/hello patched\n" and ns.cluster.state.service("demo", "hello").type == "NodePort"
    assert run(ns, """patch svc hello --type=merge -p '{"spec":{"type":"NodePort"}}'""").stdout == \
        "service/hello patched (no change)\n"
    # strategic: the ports list merges by port, a new port is added
    run(ns, """patch svc hello -p '{"spec":{"ports":[{"port":81,"targetPort":8080,"name":"alt"},{"port":80,"name":"http"}]}}'""")
    ports = {p["port"]: p for p in ns.cluster.state.get("Service", "hello", "demo")["spec"]["ports"]}
    assert set(ports) == {80, 81} and ports[80]["targetPort"] == "http" and ports[80]["name"] == "http"
    # merge patch replaces the list
    run(ns, """patch svc hello --type=merge -p '{"spec":{"ports":[{"port":90,"targetPort":8080}]}}'""")
    assert [p["port"] for p in ns.cluster.state.get("Service", "hello", "demo")["spec"]["ports"]] == [90]
    r = run(ns, """patch svc hello --type=json -p '[{"op":"replace","path":"/spec/type","value":"ClusterIP"}]'""")
    assert r.ok and ns.cluster.state.service("demo", "hello").type == "ClusterIP"


def test_patch_that_the_api_server_refuses_changes_nothing(env):
    ns, _ = env
    r = run(ns, """patch svc hello --type=merge -p '{"spec":{"type":"Bogus"}}'""")
    assert r.code == 1 and "spec.type" in r.stderr
    assert ns.cluster.state.service("demo", "hello").type == "ClusterIP"


def test_label_fixes_a_selector_mismatch(env):
    ns, _ = env
    run(ns, "apply -f -", stdin="""
apiVersion: v1
kind: Service
metadata: {name: lonely}
spec: {selector: {app: lonely}, ports: [{port: 80, targetPort: 8080}]}
""")
    assert ns.endpoints("lonely") == []
    r = run(ns, "label pod client app=lonely")
    assert r.code == 1 and r.stderr == "error: 'app' already has a value (client), and --overwrite is false\n"
    r = run(ns, "label pod client app=lonely --overwrite")
    assert r.stdout == "pod/client labeled\n"
    assert [e.pod for e in ns.endpoints("lonely")] == ["demo/client"]
    assert run(ns, "label pod client app=lonely --overwrite").stdout == "pod/client not labeled\n"
    assert run(ns, "label pod client extra=1").ok and run(ns, "label pod client extra-").ok
    assert "extra" not in ns.pod("client").labels


def test_label_namespace_and_owned_pod(env):
    ns, _ = env
    assert run(ns, "label ns demo team=a").stdout == "namespace/demo labeled\n"
    assert ns.cluster.state.namespaces["demo"].labels["team"] == "a"
    owned = ns.pod("app=hello").name
    r = run(ns, f"label pod {owned} x=y")
    assert r.code == 1 and r.stderr.startswith(f"kubectl label of pod {owned} is not modelled offline")


def test_scale_and_rollout_restart(env):
    ns, _ = env
    assert run(ns, "scale deployment hello --replicas=5").stdout == "deployment.apps/hello scaled\n"
    assert len(ns.endpoints("hello")) == 5
    before = {p.name for p in ns.pods() if p.name.startswith("hello-")}
    assert run(ns, "rollout restart deployment/hello").stdout == "deployment.apps/hello restarted\n"
    after = {p.name for p in ns.pods() if p.name.startswith("hello-")}
    assert len(after) == 5 and not (before & after)               # every pod replaced
    assert run(ns, "rollout status deployment hello").stdout == 'deployment "hello" successfully rolled out\n'
    r = run(ns, "scale deployment hello")
    assert r.code == 1 and "--replicas=COUNT" in r.stderr


# ------------------------------------------------------------------ exec / run
def test_exec_cat_resolv_conf_and_hosts(env):
    ns, _ = env
    r = run(ns, "exec client -- cat /etc/resolv.conf")
    assert r.stdout == ("search demo.svc.cluster.local svc.cluster.local cluster.local\n"
                        "nameserver 10.96.0.10\noptions ndots:5\n")
    hosts = run(ns, "exec client -- cat /etc/hosts").stdout
    assert hosts.startswith("# Kubernetes-managed hosts file.\n") and hosts.endswith(f"{ns.pod('client').ip}\tclient\n")


def test_exec_nslookup(env):
    ns, _ = env
    svc_ip = ns.cluster.state.service("demo", "hello").cluster_ip
    r = run(ns, "exec client -- nslookup hello")
    assert r.stdout == (f"Server:\t\t10.96.0.10\nAddress:\t10.96.0.10#53\n\n"
                        f"Name:\thello.demo.svc.cluster.local\nAddress: {svc_ip}\n\n")
    r = run(ns, "exec client -- nslookup nope")
    assert r.code == 1 and "** server can't find nope: NXDOMAIN" in r.stdout
    assert r.stderr == "command terminated with exit code 1\n"
    assert r.output.endswith("command terminated with exit code 1\n")      # after the program's output


def test_exec_http_clients(env):
    ns, _ = env
    backends = {e.pod.split("/")[1] for e in ns.endpoints("hello")}
    for cmd in ("curl -s hello/hostname", "wget -qO- http://hello/hostname", "curl -s http://hello:80/hostname"):
        r = run(ns, f"exec client -- {cmd}")
        assert r.ok and r.stdout in backends, cmd
    r = run(ns, "exec client -- curl -s nope/hostname")
    assert (r.code, r.stdout) == (6, "")
    r = run(ns, "exec client -- curl nope")
    assert r.stderr == "curl: (6) Could not resolve host: nope\ncommand terminated with exit code 6\n"
    r = run(ns, "exec client -- wget -qO- nope")
    assert r.stderr == "wget: bad address 'nope'\ncommand terminated with exit code 1\n"
    svc_ip = ns.cluster.state.service("demo", "hello").cluster_ip
    assert run(ns, "exec client -- nc -zv hello 80").stderr == f"hello ({svc_ip}:80) open\n"


def test_exec_sees_networkpolicy(env):
    ns, _ = env
    ns.apply("""
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: deny}
spec: {podSelector: {matchLabels: {app: hello}}, policyTypes: [Ingress]}
""")
    r = run(ns, "exec client -- curl -m 2 hello/hostname")
    assert r.code == 28 and r.stderr.startswith("curl: (28) Connection timed out after 2001 milliseconds\n")
    r = run(ns, "exec client -- wget -qO- -T 2 hello")
    assert r.code == 1 and r.stderr.startswith("wget: download timed out\n")


def test_exec_errors(env):
    ns, _ = env
    assert run(ns, "exec nope -- hostname").stderr == 'Error from server (NotFound): pods "nope" not found\n'
    r = run(ns, "exec client -- ls /")
    assert r.code == 1 and r.stderr.startswith("kubectl exec -- ls is not modelled offline")
    assert run(ns, "exec client").stderr.startswith("error: you must specify at least one command")
    pod = ns.pod("app=hello")
    assert run(ns, "exec deploy/hello -- hostname").stdout in {p.name + "\n" for p in ns.pods()}
    assert pod is not None


def test_run_rm_creates_probes_and_deletes_the_pod(env):
    ns, _ = env
    backends = {e.pod.split("/")[1] for e in ns.endpoints("hello")}
    r = run(ns, "run tmp --rm -i --restart=Never --image=busybox:1.36 -- wget -qO- hello/hostname")
    assert r.ok
    body, _, rest = r.stdout.partition('pod "tmp" deleted')
    assert body in backends and rest == " from demo namespace\n"
    assert "tmp" not in {p.name for p in ns.pods()}
    r = run(ns, "run tmp --rm -i --restart=Never --image=busybox:1.36 -- nslookup hello")
    assert "Address:\t10.96.0.10:53\n" in r.stdout                       # busybox's nslookup


def test_run_pod_is_subject_to_networkpolicy_by_its_run_label(env):
    ns, _ = env
    ns.apply("""
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: only-client}
spec:
  podSelector: {matchLabels: {app: hello}}
  ingress: [{from: [{podSelector: {matchLabels: {app: client}}}]}]
""")
    r = run(ns, "run probe --rm -i --restart=Never --image=busybox:1.36 -- wget -qO- -T 1 hello")
    assert r.code == 1 and "wget: download timed out" in r.stderr
    assert r.output.endswith('pod "probe" deleted from demo namespace\npod demo/probe terminated (Error)\n')
    r = run(ns, "run probe --rm -i --restart=Never --image=busybox:1.36 -- curl -s -m 1 hello")
    assert r.code == 28                                        # the program's exit code
    # with the default --restart=Always kubectl does not wait for an exit code
    r = run(ns, "run probe --rm -i --image=busybox:1.36 -- wget -qO- -T 1 hello")
    assert r.code == 0 and "wget: download timed out" in r.stderr
    r = run(ns, "run probe --rm -i --restart=Never --labels=app=client --image=busybox:1.36 -- wget -qO- -T 1 hello/hostname")
    assert r.ok


def test_run_without_attach(env):
    ns, _ = env
    assert run(ns, "run idle --image=busybox:1.36 -- sleep 3600").stdout == "pod/idle created\n"
    assert ns.pod("idle").labels == {"run": "idle"}
    assert run(ns, "run x --rm --image=busybox:1.36").stderr == "error: --rm should only be used for attached containers\n"


# ------------------------------------------------------------------ against the real binary
REAL_CLIENT_SIDE = [
    f"create deployment web --image={AGNHOST_IMAGE} --port=8080 --replicas=2 "
    "--dry-run=client -o yaml -- /agnhost netexec --http-port=8080",
    "create deployment plain --image=busybox:1.36 --dry-run=client -o yaml",
    "create service nodeport np --tcp=80:8080 --node-port=30080 --dry-run=client -o yaml",
    "create service clusterip c --tcp=80:http --tcp=443:8443 --dry-run=client -o yaml",
    "create service externalname db --external-name=db.example.com --dry-run=client -o yaml",
    "create deployment web --image=busybox:1.36 --dry-run=client -o json",
    "create deployment web --image=busybox:1.36 --port=80 --dry-run=client -o json -- sleep 1",
    "create service nodeport np --tcp=80:8080 --node-port=30080 --dry-run=client -o json",
    "create deployment web --image=busybox:1.36 --dry-run=client",
]


@pytest.mark.parametrize("line", REAL_CLIENT_SIDE)
def test_client_side_output_is_byte_for_byte_the_real_kubectls(line, env, tmp_path):
    """These commands never reach a server, so the pinned kubectl binary can run them here:
    the offline answer must be identical."""
    import shlex
    import subprocess

    from grader.kubectl.live import kubectl_binary
    ns, _ = env
    real = subprocess.run([kubectl_binary({}), *shlex.split(line)], capture_output=True, text=True,
                          env={"KUBECONFIG": str(tmp_path / "none"), "HOME": str(tmp_path)}, timeout=30)
    ours = run(ns, line)
    assert (ours.stdout, ours.code) == (real.stdout, real.returncode)
    assert ns.cluster.state.get("Deployment", "web", "demo") is None        # a dry run changes nothing


SVC_FILE = """apiVersion: v1
kind: Service
metadata: {name: hello}
spec:
  selector: {app: hello}
  ports: [{port: 80, targetPort: http, name: http}, {port: 443, targetPort: 8443, name: https}]
"""
PATCHES = [
    ("strategic", '{"spec":{"ports":[{"port":81,"targetPort":8080,"name":"alt"},{"port":80,"name":"web"}]}}'),
    ("strategic", '{"spec":{"ports":[{"port":443,"targetPort":9443}]}}'),
    ("strategic", '{"spec":{"ports":[{"port":80,"$patch":"delete"}]}}'),
    ("strategic", '{"spec":{"type":"NodePort","selector":{"tier":"web"}}}'),
    ("merge", '{"spec":{"ports":[{"port":90,"targetPort":8080}],"selector":{"app":null,"v":"2"}}}'),
    ("json", '[{"op":"replace","path":"/spec/ports/0/port","value":8080},{"op":"add","path":"/metadata/labels","value":{"a":"b"}}]'),
]


@pytest.mark.parametrize("ptype,patch", PATCHES)
def test_patch_result_is_the_real_kubectls(ptype, patch, env, tmp_path):
    """`kubectl patch --local` runs apimachinery's own patch code client-side: the object the
    offline patch stores must be the one it computes."""
    import json
    import shlex
    import subprocess

    from grader.kubectl.live import kubectl_binary
    ns, _ = env
    f = tmp_path / "svc.yaml"
    f.write_text(SVC_FILE.replace("name: hello}", "name: hello2}"))
    real = subprocess.run([kubectl_binary({}), "patch", "-f", str(f), "--local", "--type", ptype, "-p", patch,
                           "-o", "json"], capture_output=True, text=True,
                          env={"KUBECONFIG": str(tmp_path / "none"), "HOME": str(tmp_path)}, timeout=30, check=True)
    expected = json.loads(real.stdout)
    run(ns, "apply -f -", stdin=SVC_FILE.replace("name: hello}", "name: hello2}"))
    r = run(ns, f"patch svc hello2 --type={ptype} -p {shlex.quote(patch)}")
    assert r.ok, r.output
    stored = ns.cluster.state.get("Service", "hello2", "demo")
    stored["metadata"].pop("namespace")
    assert stored == expected
