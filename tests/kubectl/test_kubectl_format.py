"""Output formats of the offline kubectl, one test per supported command and format.
Expectations are computed from the objects (IPs, names) and upstream's printing rules,
never copied from the output under test."""
from __future__ import annotations

import json

import pytest
import yaml

import grader.kubectl as kubectl
from grader.kind.images import AGNHOST_IMAGE
from grader.kubectl.ages import human_duration
from grader.kubectl.table import tabulate
from tests.kubectl.kubectl_fixtures import make_ns


@pytest.fixture
def env():
    return make_ns()


def run(ns, line, **kw):
    return kubectl.run(ns, line, **kw)


def _lines(text: str) -> list[str]:
    return text.rstrip("\n").split("\n")


# ------------------------------------------------------------------ primitives
@pytest.mark.parametrize("seconds,text", [
    (-5, "<invalid>"), (-1, "0s"), (0, "0s"), (119, "119s"), (120, "2m"), (125, "2m5s"),
    (599, "9m59s"), (600, "10m"), (179 * 60 + 59, "179m"), (3 * 3600, "3h"), (3 * 3600 + 60, "3h1m"),
    (8 * 3600, "8h"), (47 * 3600, "47h"), (48 * 3600, "2d"), (49 * 3600, "2d1h"), (8 * 86400, "8d"),
    (729 * 86400, "729d"), (730 * 86400, "2y"), (731 * 86400, "2y1d"), (8 * 365 * 86400, "8y"),
])
def test_human_duration_follows_apimachinery(seconds, text):
    assert human_duration(seconds) == text


def test_tabulate_pads_to_widest_plus_three_and_min_six():
    out = tabulate([["NAME", "AGE"], ["a", "1s"], ["longername", "2s"]])
    w = len("longername") + 3
    assert _lines(out) == ["NAME".ljust(w) + "AGE", "a".ljust(w) + "1s", "longername".ljust(w) + "2s"]
    # minwidth 6: a one-letter column is still 6 wide; the last column is never padded
    assert tabulate([["A", "B"], ["x", "y"]]) == "A     B\nx     y\n"


# ------------------------------------------------------------------ get
def test_get_pods_columns_and_values(env):
    ns, clock = env
    r = run(ns, "get pods")
    assert r.ok and r.stderr == ""
    lines = _lines(r.stdout)
    assert lines[0].split() == ["NAME", "READY", "STATUS", "RESTARTS", "AGE"]
    names = sorted(p.name for p in ns.pods())
    assert [ln.split()[0] for ln in lines[1:]] == names
    for ln in lines[1:]:
        assert ln.split()[1:] == ["1/1", "Running", "0", "0s"]
    clock.t += 185
    assert _lines(run(ns, "get pods").stdout)[1].split()[-1] == "3m5s"


def test_get_pods_wide_shows_ip_and_node(env):
    ns, _ = env
    lines = _lines(run(ns, "get pods -o wide").stdout)
    assert lines[0].split() == ["NAME", "READY", "STATUS", "RESTARTS", "AGE", "IP", "NODE", "NOMINATED", "NODE",
                                "READINESS", "GATES"]
    ips = {p.name: p.ip for p in ns.pods()}
    node = ns.pod("client").node
    for ln in lines[1:]:
        cells = ln.split()
        assert cells[5] == ips[cells[0]] and cells[6] == node and cells[7:] == ["<none>", "<none>"]


def test_get_pods_show_labels_and_selector(env):
    ns, _ = env
    r = run(ns, "get pods --show-labels -l app=hello")
    lines = _lines(r.stdout)
    assert lines[0].split()[-1] == "LABELS"
    assert len(lines) == 4
    for ln in lines[1:]:
        labels = ln.split()[-1]
        assert labels.startswith("app=hello,pod-template-hash=")
    assert "client" not in r.stdout
    r = run(ns, "get pods -l app=nothing")
    assert r.stdout == "" and r.stderr == "No resources found in demo namespace.\n"


def test_get_svc_types_external_ip_and_ports(env):
    ns, _ = env
    ns.apply("""
apiVersion: v1
kind: Service
metadata: {name: np}
spec: {type: NodePort, selector: {app: hello}, ports: [{port: 80, targetPort: 8080, nodePort: 30080}]}
---
apiVersion: v1
kind: Service
metadata: {name: lb}
spec: {type: LoadBalancer, selector: {app: hello}, ports: [{port: 80, targetPort: 8080}]}
---
apiVersion: v1
kind: Service
metadata: {name: ext}
spec: {type: ExternalName, externalName: example.com}
---
apiVersion: v1
kind: Service
metadata: {name: headless}
spec: {clusterIP: None, selector: {app: hello}, ports: [{port: 80, protocol: UDP}]}
""")
    lines = _lines(run(ns, "get svc -o wide").stdout)
    assert lines[0].split() == ["NAME", "TYPE", "CLUSTER-IP", "EXTERNAL-IP", "PORT(S)", "AGE", "SELECTOR"]
    rows = {ln.split()[0]: ln.split() for ln in lines[1:]}
    st = ns.cluster.state
    lb = st.service("demo", "lb")
    assert rows["hello"] == ["hello", "ClusterIP", st.service("demo", "hello").cluster_ip, "<none>", "80/TCP", "0s", "app=hello"]
    assert rows["np"][1:5] == ["NodePort", st.service("demo", "np").cluster_ip, "<none>", "80:30080/TCP"]
    assert rows["lb"][1:5] == ["LoadBalancer", lb.cluster_ip, lb.load_balancer_ip, f"80:{lb.ports[0].node_port}/TCP"]
    assert rows["ext"][1:5] == ["ExternalName", "<none>", "example.com", "<none>"]
    assert rows["ext"][-1] == "<none>"                       # no selector
    assert rows["headless"][1:5] == ["ClusterIP", "None", "<none>", "80/UDP"]
    # the columns line up: every row's TYPE starts where the header's does
    start = lines[0].index("TYPE")
    assert all(ln[start - 1] == " " and ln[start] != " " for ln in lines[1:])


def test_loadbalancer_without_address_is_pending():
    from tests.kubectl.kubectl_fixtures import make_ns as mk
    ns, _ = mk(manifests="")
    row = {"metadata": {"name": "x"}, "spec": {"type": "LoadBalancer", "clusterIPs": ["10.96.5.5"],
                                              "ports": [{"port": 80, "nodePort": 31000, "protocol": "TCP"}]},
           "status": {"loadBalancer": {}}}
    from grader.kubectl.printers import row_service
    assert row_service(row, False)[0][2] == "<pending>"


def test_get_endpoints_warns_and_lists_ready_addresses(env):
    ns, _ = env
    r = run(ns, "get endpoints hello")
    assert r.stderr == "Warning: v1 Endpoints is deprecated in v1.33+; use discovery.k8s.io/v1 EndpointSlice\n"
    lines = _lines(r.stdout)
    assert lines[0].split() == ["NAME", "ENDPOINTS", "AGE"]
    ips = sorted((e.ip for e in ns.endpoints("hello")))          # text order, as the controller sorts
    assert lines[1].split()[1] == ",".join(f"{ip}:8080" for ip in ips)
    ns.set_ready("app=hello", False)
    assert _lines(run(ns, "get ep hello").stdout)[1].split() == ["hello", "0s"]    # empty cell: none ready


def test_get_endpoints_more_than_three(env):
    ns, _ = env
    run(ns, "scale deployment hello --replicas=5")
    cell = _lines(run(ns, "get ep hello").stdout)[1]
    assert cell.split()[1:3] == [cell.split()[1], "+"] and "+ 2 more..." in cell


def test_get_endpointslices(env):
    ns, _ = env
    lines = _lines(run(ns, "get endpointslices").stdout)
    assert lines[0].split() == ["NAME", "ADDRESSTYPE", "PORTS", "ENDPOINTS", "AGE"]
    cells = lines[1].split()
    assert cells[0].startswith("hello-") and cells[1:3] == ["IPv4", "8080"]
    assert set(cells[3].split(",")) == {e.ip for e in ns.endpoints("hello")}


def test_get_networkpolicies_and_ingress(env):
    ns, _ = env
    ns.apply("""
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: deny-all}
spec: {podSelector: {}, policyTypes: [Ingress]}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: web}
spec:
  podSelector:
    matchLabels: {app: hello}
    matchExpressions: [{key: tier, operator: In, values: [b, a]}]
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: web}
spec:
  ingressClassName: cloud-provider-kind
  rules:
  - host: hello.example
    http: {paths: [{path: /, pathType: Prefix, backend: {service: {name: hello, port: {number: 80}}}}]}
""")
    lines = _lines(run(ns, "get netpol").stdout)
    assert lines[0].split() == ["NAME", "POD-SELECTOR", "AGE"]
    assert lines[1].split() == ["deny-all", "<none>", "0s"]
    assert lines[2].split()[:2] == ["web", "app=hello,tier"] and "in (a,b)" in lines[2]
    lines = _lines(run(ns, "get ingress").stdout)
    assert lines[0].split() == ["NAME", "CLASS", "HOSTS", "ADDRESS", "PORTS", "AGE"]
    assert lines[1].split() == ["web", "cloud-provider-kind", "hello.example", "80", "0s"]


def test_get_all_namespaces_adds_namespace_column(env):
    ns, _ = env
    lines = _lines(run(ns, "get svc -A").stdout)
    assert lines[0].split()[:2] == ["NAMESPACE", "NAME"]
    rows = [ln.split()[:2] for ln in lines[1:]]
    assert ["default", "kubernetes"] in rows and ["kube-system", "kube-dns"] in rows and ["demo", "hello"] in rows
    assert rows == sorted(rows)
    r = run(ns, "get svc hello -A")
    assert r.code == 1 and "cannot be retrieved by name across all namespaces" in r.stderr


def test_get_other_namespace_with_n(env):
    ns, _ = env
    lines = _lines(run(ns, "get svc -n kube-system").stdout)
    assert [ln.split()[0] for ln in lines[1:]] == ["kube-dns"]
    assert run(ns, "get pods -n nowhere").stderr == "No resources found in nowhere namespace.\n"


def test_get_o_name_and_several_types(env):
    ns, _ = env
    r = run(ns, "get deploy,svc -o name")
    assert r.stdout == "deployment.apps/hello\nservice/hello\n"
    r = run(ns, "get deploy,svc")
    blocks = r.stdout.split("\n\n")
    assert len(blocks) == 2
    assert blocks[0].split("\n")[1].split()[0] == "deployment.apps/hello"
    assert blocks[1].split("\n")[1].split()[0] == "service/hello"


def test_get_o_yaml_and_json(env):
    ns, _ = env
    svc = yaml.safe_load(run(ns, "get svc hello -o yaml").stdout)
    allocated = ns.cluster.state.service("demo", "hello")
    assert svc["kind"] == "Service" and svc["spec"]["clusterIP"] == allocated.cluster_ip
    assert svc["spec"]["ports"] == [{"port": 80, "protocol": "TCP", "targetPort": "http"}]
    assert svc["metadata"]["creationTimestamp"].endswith("Z")
    text = run(ns, "get pods -o json").stdout
    data = json.loads(text)
    assert data["kind"] == "List" and len(data["items"]) == 4
    assert text.startswith('{\n    "apiVersion": "v1",')           # 4-space indent, sorted keys
    pod = next(i for i in data["items"] if i["metadata"]["name"] == "client")
    assert pod["status"]["podIP"] == ns.pod("client").ip and pod["status"]["phase"] == "Running"


def test_yaml_quotes_like_kubectl(env):
    ns, _ = env
    text = run(ns, "get svc hello -o yaml").stdout
    assert 'creationTimestamp: "' in text                      # would otherwise read as a timestamp
    assert "\n  - port: 80\n" in text                           # sequences not indented under their key


def test_get_jsonpath(env):
    ns, _ = env
    ip = ns.cluster.state.service("demo", "hello").cluster_ip
    assert run(ns, "get svc hello -o jsonpath={.spec.clusterIP}").stdout == ip
    names = sorted(p.name for p in ns.pods())
    assert run(ns, "get pods -o jsonpath={.items[*].metadata.name}").stdout == " ".join(names)
    out = run(ns, "get pods -l app=hello -o 'jsonpath={range .items[*]}{.status.podIP}{\"\\n\"}{end}'").stdout
    assert sorted(out.split()) == sorted(e.ip for e in ns.endpoints("hello"))
    assert run(ns, "get svc hello -o jsonpath={.spec.ports[?(@.port==80)].targetPort}").stdout == "http"
    assert run(ns, "get svc hello -o jsonpath={.spec.nothing}").stdout == ""


def test_get_deployments_and_replicasets(env):
    ns, _ = env
    lines = _lines(run(ns, "get deploy -o wide").stdout)
    assert lines[0].split() == ["NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE", "CONTAINERS", "IMAGES", "SELECTOR"]
    assert lines[1].split() == ["hello", "3/3", "3", "3", "0s", "web", AGNHOST_IMAGE, "app=hello"]
    rs_name = ns.pod("app=hello").name.rsplit("-", 1)[0]
    lines = _lines(run(ns, "get rs").stdout)
    assert lines[1].split() == [rs_name, "3", "3", "3", "0s"]


def test_get_errors(env):
    ns, _ = env
    r = run(ns, "get svc nope")
    assert (r.code, r.stderr) == (1, 'Error from server (NotFound): services "nope" not found\n')
    r = run(ns, "get deploy nope")
    assert r.stderr == 'Error from server (NotFound): deployments.apps "nope" not found\n'
    r = run(ns, "get svc hello nope")
    assert r.code == 1 and "hello" in r.stdout and 'services "nope" not found' in r.stderr
    r = run(ns, "get widgets")
    assert r.stderr == 'error: the server doesn\'t have a resource type "widgets"\n'
    r = run(ns, "get pods -o table")
    assert r.code == 1 and 'unable to match a printer suitable for the output format "table"' in r.stderr
    r = run(ns, "get pods --bogus")
    assert r.code == 1 and r.stderr.startswith("error: unknown flag: --bogus")


def test_not_modelled_is_said_honestly(env):
    ns, _ = env
    for line, what in [("get secrets", "get secrets"), ("top pods", "top"), ("logs client", "logs"),
                       ("describe deploy hello", "describe deployments")]:
        r = run(ns, line)
        assert r.code == 1 and r.stdout == ""
        assert r.stderr.startswith(f"kubectl {what} is not modelled offline; in live mode it runs the real kubectl")


# ------------------------------------------------------------------ describe
def _block_value(text: str, label: str) -> str:
    for line in text.split("\n"):
        if line.startswith(label + " ") or line == label:
            return line[len(label):].strip()
    raise AssertionError(f"{label} not in\n{text}")


def test_describe_service(env):
    ns, _ = env
    text = run(ns, "describe svc hello").stdout
    lines = _lines(text)
    svc = ns.cluster.state.service("demo", "hello")
    # every label:value line of the block puts its value at the same column (26 for a
    # ClusterIP Service: "Internal Traffic Policy:" + 2)
    assert all(ln[26 - 1] == " " and ln[26] != " " for ln in lines if ":" in ln.split("  ")[0])
    assert lines[0] == "Name:                     hello"
    assert _block_value(text, "Selector:") == "app=hello"
    assert _block_value(text, "IP:") == svc.cluster_ip
    assert _block_value(text, "Port:") == "<unset>  80/TCP"
    assert _block_value(text, "TargetPort:") == "http/TCP"
    eps = _block_value(text, "Endpoints:").split(",")
    assert sorted(eps) == sorted(f"{e.ip}:8080" for e in ns.endpoints("hello"))
    assert lines[-1] == "Events:                   <none>"
    assert "NodePort:" not in text and "External Traffic Policy" not in text


def test_describe_service_no_ready_endpoints_leaves_the_cell_empty(env):
    ns, _ = env
    ns.set_ready("app=hello", False)
    line = next(ln for ln in _lines(run(ns, "describe svc hello").stdout) if ln.startswith("Endpoints:"))
    assert line == "Endpoints:".ljust(26)


def test_describe_nodeport_service(env):
    ns, _ = env
    assert run(ns, """patch svc hello -p '{"spec":{"type":"NodePort"}}'""").ok
    text = run(ns, "describe svc hello").stdout
    np = ns.cluster.state.service("demo", "hello").ports[0].node_port
    assert _block_value(text, "Type:") == "NodePort"
    assert _block_value(text, "NodePort:") == f"<unset>  {np}/TCP"
    assert _block_value(text, "External Traffic Policy:") == "Cluster"


def test_describe_endpoints(env):
    ns, _ = env
    r = run(ns, "describe endpoints hello")
    text = r.stdout
    ips = sorted(e.ip for e in ns.endpoints("hello"))
    assert "Subsets:\n  Addresses:          " + ",".join(ips) + "\n" in text
    assert "  NotReadyAddresses:  <none>\n" in text
    assert "    Name     Port  Protocol\n    ----     ----  --------\n    <unset>  8080  TCP\n" in text
    assert text.endswith("\nEvents:  <none>\n")


def test_describe_networkpolicy(env):
    ns, _ = env
    ns.apply("""
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: allow-client}
spec:
  podSelector: {matchLabels: {app: hello}}
  policyTypes: [Ingress, Egress]
  ingress:
  - from:
    - podSelector: {matchLabels: {app: client}}
    - namespaceSelector: {matchLabels: {team: a}}
      podSelector: {}
    - ipBlock: {cidr: 10.0.0.0/8, except: [10.1.0.0/16]}
    ports: [{port: 8080}, {port: http, protocol: TCP}]
  - {}
  egress: []
""")
    text = run(ns, "describe netpol allow-client").stdout
    assert text.startswith("Name:         allow-client\nNamespace:    demo\nCreated on:   ")
    assert text.split("Spec:\n", 1)[1] == (
        "  PodSelector:     app=hello\n"
        "  Allowing ingress traffic:\n"
        "    To Port: 8080/TCP\n"
        "    To Port: http/TCP\n"
        "    From:\n"
        "      PodSelector: app=client\n"
        "    From:\n"
        "      NamespaceSelector: team=a\n"
        "      PodSelector: <none>\n"
        "    From:\n"
        "      IPBlock:\n"
        "        CIDR: 10.0.0.0/8\n"
        "        Except: 10.1.0.0/16\n"
        "    ----------\n"
        "    To Port: <any> (traffic allowed to all ports)\n"
        "    From: <any> (traffic not restricted by source)\n"
        "  Allowing egress traffic:\n"
        "    <none> (Selected pods are isolated for egress connectivity)\n"
        "  Policy Types: Ingress, Egress\n")


def test_describe_pod(env):
    ns, _ = env
    pod = ns.pod("client")
    text = run(ns, "describe pod client").stdout
    assert _block_value(text, "Name:") == "client"
    from grader.kubectl.views import pod_object
    host_ip = pod_object(ns.cluster.state, __import__("grader.kubectl.ages", fromlist=["x"]).ages_for(ns.cluster.state), pod)["status"]["hostIP"]
    assert _block_value(text, "Node:") == f"{pod.node}/{host_ip}"
    assert _block_value(text, "Status:") == "Running"
    assert _block_value(text, "IP:") == pod.ip
    assert "Containers:\n  shell:\n" in text and "    Args:\n      pause\n" in text
    assert text.endswith("Events:                       <none>\n")
    owned = ns.pod("app=hello").name
    assert "Controlled By:  ReplicaSet/" + owned.rsplit("-", 1)[0] in run(ns, f"describe pod {owned}").stdout


def test_describe_matches_name_prefix_and_reports_missing(env):
    ns, _ = env
    text = run(ns, "describe pod hello").stdout
    assert text.count("\nName:") + text.startswith("Name:") == 3
    assert "\n\n\nName:" in text                               # objects separated by two blank lines
    r = run(ns, "describe svc nope")
    assert (r.code, r.stderr) == (1, 'Error from server (NotFound): services "nope" not found\n')


def test_explain_field(env):
    ns, _ = env
    r = run(ns, "explain service.spec.type")
    assert r.ok
    assert r.stdout.startswith("KIND:       Service\nVERSION:    v1\n\nFIELD: type <string>\n\nDESCRIPTION:\n    ")
    r = run(ns, "explain netpol.spec")
    assert r.stdout.startswith("GROUP:      networking.k8s.io\nKIND:       NetworkPolicy\nVERSION:    v1\n")
    assert "  podSelector\t<LabelSelector>" in r.stdout and "  egress\t<[]NetworkPolicyEgressRule>" in r.stdout
    assert run(ns, "explain svc.spec.nope").stderr == 'error: field "nope" does not exist\n'


def test_pending_pods_show_what_the_scheduler_left():
    from grader.cluster.offline import OfflineCluster
    from grader.kubectl.ages import ages_for
    from grader.model.state import ClusterState
    from tests.kubectl.kubectl_fixtures import APP, Clock
    cluster = OfflineCluster(ClusterState(max_pods=4))     # CoreDNS takes 2: room for 2 more
    ns = cluster.namespace("p")
    ages_for(cluster.state, Clock())
    ns.apply(APP)
    pending = sorted(p.name for p in cluster.state.pods_in("p") if p.pending)
    assert pending
    rows = {ln.split()[0]: ln.split() for ln in _lines(run(ns, "get pods -o wide").stdout)[1:]}
    for name in pending:
        assert rows[name][1:3] == ["0/1", "Pending"] and rows[name][5:7] == ["<none>", "<none>"]
    text = run(ns, f"describe pod {pending[0]}").stdout
    assert _block_value(text, "Node:") == "<none>" and _block_value(text, "Status:") == "Pending"
    assert "FailedScheduling  0s    default-scheduler  0/1 nodes are available" in text
    running = 3 - len(pending)
    assert _lines(run(ns, "get deploy hello").stdout)[1].split()[1] == f"{running}/3"
    r = run(ns, f"exec {pending[0]} -- hostname")
    assert r.code == 1 and r.stderr == 'error: unable to upgrade connection: container not found ("web")\n'


def test_age_counts_from_when_kubectl_first_saw_the_model(env):
    ns, clock = env
    run(ns, "get pods")                                   # sees everything, services included
    clock.t += 7 * 3600 + 5 * 60
    assert _lines(run(ns, "get svc hello").stdout)[1].split()[-1] == "7h5m"
    ns.apply("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: late}\n")
    assert _lines(run(ns, "get cm late").stdout)[1].split()[-1] == "0s"
    run(ns, "delete pod client")
    ns.apply("apiVersion: v1\nkind: Pod\nmetadata: {name: client}\nspec: {containers: [{name: c, image: busybox:1.36}]}\n")
    run(ns, "get svc")                                    # any command dates what is new
    clock.t += 3
    assert _lines(run(ns, "get pod client").stdout)[1].split()[-1] == "3s"    # a new pod, a new age


def test_endpoints_carry_the_controllers_label_and_trigger_time(env):
    ns, clock = env
    run(ns, "get pods")
    clock.t += 60
    run(ns, "scale deployment hello --replicas=4")
    ep = __import__("yaml").safe_load(run(ns, "get ep hello -o yaml").stdout)
    assert ep["metadata"]["labels"] == {"endpoints.kubernetes.io/managed-by": "endpoint-controller"}
    import datetime as dt
    newest = dt.datetime.fromtimestamp(int(clock.t), dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert ep["metadata"]["annotations"] == {"endpoints.kubernetes.io/last-change-trigger-time": newest}


def test_get_all_lists_workloads_and_services_with_kind_prefixes(env):
    ns, _ = env
    blocks = run(ns, "get all").stdout.rstrip("\n").split("\n\n")
    firsts = [b.split("\n")[1].split()[0].split("/")[0] for b in blocks]
    assert firsts == ["pod", "service", "deployment.apps", "replicaset.apps"]
    assert run(ns, "get all -n kube-node-lease").stderr == "No resources found in kube-node-lease namespace.\n"


def test_custom_columns(env):
    ns, _ = env
    r = run(ns, "get pods -o custom-columns=NAME:.metadata.name,IP:.status.podIP,PORT:.spec.containers[*].ports[*].containerPort")
    lines = _lines(r.stdout)
    assert lines[0].split() == ["NAME", "IP", "PORT"]
    rows = {ln.split()[0]: ln.split()[1:] for ln in lines[1:]}
    assert rows["client"] == [ns.pod("client").ip, "<none>"]
    web = ns.pod("app=hello")
    assert rows[web.name] == [web.ip, "8080"]
    r = run(ns, "get pods -o custom-columns=NAME")
    assert r.code == 1 and "expected <header>:<json-path-expr>" in r.stderr


def test_wait_for_conditions(env):
    ns, _ = env
    r = run(ns, "wait --for=condition=Ready pod -l app=hello")
    assert sorted(r.stdout.splitlines()) == sorted(f"pod/{e.pod.split('/')[1]} condition met" for e in ns.endpoints("hello"))
    assert run(ns, "wait --for=condition=Available deployment/hello").stdout == "deployment.apps/hello condition met\n"
    ns.set_ready("client", False)
    r = run(ns, "wait --for=condition=Ready pod/client --timeout=5s")
    assert (r.code, r.stderr) == (1, "error: timed out waiting for the condition on pods/client\n")
    assert run(ns, "wait --for=delete pod/client").stderr.startswith("kubectl wait --for=delete is not modelled offline")
