"""Lab 6's kubectl parts. Part 5, an Ingress made with one `kubectl create ingress` command
(the exam's fast path): the answer cell holds kubectl command lines, replayed by
grader.labs.replay in a fresh namespace, and graded only by what the resulting Ingress
routes (so an equivalent `kubectl apply -f - <<EOF` scores the same).

Part 6, `kubectl port-forward` run for real: the answer is facts (the command, the pod that
answered, how many pods answered), checked against the cluster. The grader cannot watch
the learner's terminal, so it checks what can be: the command would reach the Service's
pods through ports that exist, the named pod is one of them (StatefulSet pods, whose names
repeat in every fresh namespace), and the count is the one port-forward's one-pod tunnel
gives (kubectl resolves svc/NAME to one pod when it starts).

What the task practises is kubectl's `--rule` grammar (kubectl create ingress --help):
`host/path=service:port`; a path ending in `*` becomes `pathType: Prefix` (without the
`*`), any other path `Exact`; rules for one host share one IngressRule; a rule without a
host serves every host."""
from __future__ import annotations

from typing import Any

from grader import checks
from grader.checks.core import Check, Verdict, failed, passed
from grader.kubectl.argv import parse, split_words
from grader.kubectl.forward_args import ForwardRequest, read
from grader.kubectl.resources import NotModelled
from grader.kubectl.result import KubectlError
from grader.labs.facts import fact
from grader.labs.spec import COMMANDS, FACTS, Part, WrongAnswer
from grader.labs.workloads import hostname_workload

VIA = "ingress/preview"

REFERENCE = """\
kubectl create ingress preview \\
  --rule="preview.example/*=api-v2:80" \\
  --rule="preview.example/v1*=api-v1:80"
"""


def _routes(host: str, path: str, selector: str | None, *, code: int = 200, name: str) -> checks.Check:
    return checks.routes_to(VIA, path, host=host, answered_by=selector, code=code, name=name)


PART5 = Part(
    id="part5", title="An Ingress in one command", points=3, kind=COMMANDS,
    visible=[
        _routes("preview.example", "/", "app=api,version=v2", name="preview.example/ goes to api-v2"),
        _routes("preview.example", "/items/7", "app=api,version=v2",
                name="preview.example/items/7 goes to api-v2"),
        _routes("preview.example", "/v1/items", "app=api,version=v1",
                name="preview.example/v1/items goes to api-v1"),
    ],
    hidden=[
        _routes("admin.example", "/", None, code=404, name="another host gets 404"),
        _routes("preview.example", "/v1", "app=api,version=v1",
                name="preview.example/v1 itself goes to api-v1"),
        _routes("preview.example", "/v1beta/items", "app=api,version=v2",
                name="preview.example/v1beta/items is api-v2's (prefixes match whole path elements)"),
    ],
    task="""
The api team wants a preview host, and you have a minute: answer with **kubectl commands**,
not YAML. In the answer cell, write the command line(s) you would type in a terminal (one
command a line, `\\` continues a line, `k` is accepted for `kubectl`); the cell replays them
in a fresh namespace and shows the terminal's output, and the grader replays them again.

With **one `kubectl create ingress` command**, create an **Ingress `preview`** (the default
class, cloud-provider-kind, serves it) that routes:

| request | goes to |
|---|---|
| `http://preview.example/` and every path below it | Service `api-v2`, port 80 |
| `http://preview.example/v1` and every path below it | Service `api-v1`, port 80 |

Any other host must get a 404. `kubectl create ingress --help` shows the `--rule` syntax;
look at what you made with `%kubectl get ingress preview -o yaml` after running the cell.
""",
    reference=REFERENCE,
    explanation=(
        "`--rule=host/path=service:port` adds one path to the rule for `host`; a path ending in `*` becomes "
        "`pathType: Prefix` (`/*` is the prefix `/`, every path), any other path `pathType: Exact`. The two "
        "rules share the host, so kubectl writes one IngressRule with two paths, and the longest matching "
        "prefix wins: `/v1/items` goes to api-v1, `/items/7` to api-v2. Prefix matching is by whole path "
        "elements, so `/v1beta` is not under `/v1`. With a host on every rule, other hosts match nothing "
        "and get 404."),
    wrong_answers=(
        WrongAnswer("Paths without `*`: kubectl makes them `Exact`, so only `/` and `/v1` themselves are "
                    "routed and `/items/7` gets 404.",
                    'kubectl create ingress preview --rule="preview.example/=api-v2:80" '
                    '--rule="preview.example/v1=api-v1:80"\n', max_score=1.5),
        WrongAnswer("No host in the rules (`--rule=\"/*=api-v2:80\"`): they serve every host, so "
                    "admin.example reaches api-v2.",
                    'kubectl create ingress preview --rule="/*=api-v2:80" --rule="/v1*=api-v1:80"\n',
                    max_score=2.5),
        WrongAnswer("The pods' port (`api-v2:8080`): an Ingress names the Service's port, and the Services "
                    "offer 80 only.",
                    'kubectl create ingress preview --rule="preview.example/*=api-v2:8080" '
                    '--rule="preview.example/v1*=api-v1:8080"\n', max_score=1),
        WrongAnswer("Only the catch-all rule: `/v1/items` goes to api-v2.",
                    'kubectl create ingress preview --rule="preview.example/*=api-v2:80"\n', max_score=2.5),
        WrongAnswer("`kubectl expose` instead of `create ingress`: "
                    "a Service, no Ingress, so every request fails.",
                    "kubectl expose deployment api-v2 --name=preview --port=80 --target-port=8080\n",
                    max_score=0),
    ),
)


# ---------------------------------------------------------------- part 6: port-forward
#: Part 6's own pods: StatefulSets, whose pods keep their names in every fresh namespace, so
#: the name a learner read through the forward is still a pod's name when the grader looks.
FORWARD_SETUP = "---\n".join([
    hostname_workload("cache", {"app": "cache"}, replicas=2, kind="StatefulSet", service_name="cache"),
    "apiVersion: v1\nkind: Service\nmetadata: {name: cache}\nspec:\n  selector: {app: cache}\n"
    "  ports: [{name: http, port: 80, targetPort: http}]\n",
    hostname_workload("queue", {"app": "queue"}, kind="StatefulSet", service_name="queue"),
    "apiVersion: v1\nkind: Service\nmetadata: {name: queue}\nspec:\n  selector: {app: queue}\n"
    "  ports: [{name: http, port: 80, targetPort: http}]\n",
])
FORWARDED = "cache"


def _backends(ns: Any) -> dict[str, int]:
    """The pods Service cache sends to now (ready endpoints), with the port they serve."""
    return {e.pod.split("/", 1)[-1]: e.port for e in ns.endpoints(FORWARDED) if e.ready and e.pod}


def _parse_forward(command: str) -> ForwardRequest | str:
    """The request a `kubectl port-forward` line makes, read by the same code as offline
    `%kubectl port-forward` (grader.kubectl.argv, then grader.kubectl.forward_args), or why
    it is not one. Only the prefixes an answer may carry are the lab's own: `%kubectl`,
    `!kubectl` and the `k` alias."""
    try:
        words = split_words(command)
    except KubectlError as exc:   # the shell's complaint is the message's last part
        return f"the command does not parse as a shell line ({exc.message.rpartition(': ')[2]})"
    if words[:1] in (["%kubectl"], ["!kubectl"], ["k"]):
        words = words[1:]
    try:
        inv = parse(words)
    except KubectlError as exc:
        return _refused(exc)
    if inv.verb != "port-forward":
        return "the command is not `kubectl port-forward ...`"
    if len(inv.args) < 2:
        return "port-forward needs a target (svc/NAME, pod/NAME) and at least one LOCAL:REMOTE port"
    try:
        return read(inv)
    except KubectlError as exc:
        return _refused(exc)
    except NotModelled:
        target = inv.args[0]
        return f"{target}: forward to the Service (svc/{FORWARDED}) or to one of its pods"


def _refused(exc: KubectlError) -> str:
    """kubectl's own error, its first line (the rest points at --help)."""
    return f"kubectl would refuse this command: \"{exc.message.strip().splitlines()[0]}\""


def _port_problem(kind: str, target: str, remote: int | str, svc: Any,
                  backends: dict[str, int]) -> str | None:
    """Why REMOTE is not a port the target serves (None: it is one). After svc/NAME it is the
    Service's port (a number or its name); after a pod, the container's (a number, or the name
    the Service's targetPort gives it)."""
    if kind == "Service":
        served = sorted(p.port for p in svc.ports)
        if isinstance(remote, str) and svc.port(remote) is None:
            names = ", ".join(sorted(p.name for p in svc.ports if p.name)) or "none"
            return (f"Service {FORWARDED} has no port named {remote} (its port names: {names}): kubectl "
                    f"would answer \"error: Service '{FORWARDED}' does not have a named port '{remote}'\"")
        if isinstance(remote, int) and remote not in served:
            return (f"Service {FORWARDED} has no port {remote} (it offers {', '.join(map(str, served))}): "
                    f"kubectl would answer \"error: Service {FORWARDED} does not have a service port "
                    f"{remote}\"; after svc/NAME the remote port is the Service's port")
        return None
    pod_ports = set(backends.values())
    if isinstance(remote, str):
        named = {p.target_port for p in (svc.ports if svc else ()) if isinstance(p.target_port, str)}
        if remote not in named:
            return (f"the pods have no port named {remote} (their port is named {', '.join(sorted(named))}): "
                    f"kubectl would refuse the forward; after {target} the remote port is the container's")
        return None
    if remote not in pod_ports:
        return (f"the pods serve port {', '.join(map(str, sorted(pod_ports)))}, not "
                f"{remote}: after pod/NAME the remote port is the container's, not the Service's")
    return None


def _command_problem(ns: Any, req: ForwardRequest, backends: dict[str, int]) -> str | None:
    """Why the forward would not reach one of cache's pods through a port it serves (None:
    it would), checked against the Service and its endpoints as they are."""
    if req.namespace and req.namespace != ns.name:
        return f"-n {req.namespace}: the cache Service and its pods are in namespace {ns.name}"
    svc = ns.service(FORWARDED)
    kind = req.kind.kind
    if kind == "Service":
        if req.name != FORWARDED or svc is None:
            return f"the target is Service {req.name}, not the Service {FORWARDED} the task names"
    elif kind in ("Pod", "StatefulSet"):
        if (kind == "Pod" and req.name not in backends) or (kind == "StatefulSet" and req.name != FORWARDED):
            return f"{req.target} is not one of Service {FORWARDED}'s pods ({', '.join(sorted(backends))})"
    else:
        return f"{req.target}: forward to the Service (svc/{FORWARDED}) or to one of its pods"
    for spec in req.ports:
        problem = _port_problem(kind, req.target, spec.remote, svc, backends)
        if problem:
            return problem
    return None


def forward_checks(answer: str) -> list[Check]:
    """Part 6's visible checks: the recorded command would forward to cache, and the pod
    named as the one that answered is one of cache's pods (consistent with the command)."""
    def command(ns: Any) -> Verdict:
        said = str(fact(answer, "command") or "").strip()
        if not said:
            return failed("command is missing: write the port-forward command line you ran")
        parsed = _parse_forward(said)
        if isinstance(parsed, str):
            return failed(parsed)
        problem = _command_problem(ns, parsed, _backends(ns))
        return failed(problem) if problem else passed(f"`{said}` forwards to one of {FORWARDED}'s pods")

    def answered_by(ns: Any) -> Verdict:
        name = str(fact(answer, "answered_by") or "").strip()
        backends = _backends(ns)
        others = {p.name for p in ns.pods()} - set(backends)
        parsed = _parse_forward(str(fact(answer, "command") or ""))
        if not name:
            return failed("answered_by is missing: write the name the answer's body held")
        if name == FORWARDED:
            return failed(f"{name} is the Service's name: a Service never answers, one of its pods does, and "
                          "serve-hostname's body is that pod's name")
        if name in others:
            return failed(f"{name} is a pod, but not one of Service {FORWARDED}'s: a forward to "
                          f"svc/{FORWARDED} reaches one of {', '.join(sorted(backends))}")
        if name not in backends:
            return failed(f"there is no pod {name} in namespace {ns.name}: write the name the body held "
                          f"(one of Service {FORWARDED}'s pods answered)")
        if not isinstance(parsed, str) and parsed.kind.kind == "Pod" and parsed.name != name:
            return failed(f"you forwarded to pod {parsed.name}, so {name} cannot have answered: a forward to "
                          "a pod reaches that pod only")
        return passed(f"{name} is one of Service {FORWARDED}'s pods")
    return [Check("the command forwards to Service cache (or one of its pods)", command),
            Check("the pod you name is one of cache's", answered_by)]


def forward_sticks(answer: str) -> list[Check]:
    """Part 6's hidden check: through one forward, every request reaches the same pod."""
    def one(ns: Any) -> Verdict:
        claimed = fact(answer, "distinct_pods")
        if not isinstance(claimed, int) or isinstance(claimed, bool):
            return failed(f"distinct_pods should be a whole number, not {claimed!r}")
        if claimed != 1:
            return failed(f"you recorded {claimed} different pods; through one port-forward every request "
                          "goes to the same pod: kubectl resolves svc/NAME to ONE pod when the forward "
                          "starts and tunnels every connection to it through the API server and the kubelet, "
                          "with no kube-proxy in the way (Service load balancing does not apply)")
        return passed("one pod answered every request: a port-forward is pinned to one pod")
    return [Check("you saw that a port-forward stays with one pod", one)]


def _forward_answer(command: str, pod: str, distinct: int = 1) -> str:
    return f"command: {command}\nanswered_by: {pod}\ndistinct_pods: {distinct}\n"


PART6 = Part(
    id="part6", title="port-forward, run", points=3, kind=FACTS, setup=FORWARD_SETUP,
    visible=forward_checks, hidden=forward_sticks,
    task="""
Reach a Service from your machine **without** a NodePort, a LoadBalancer or an Ingress:
`kubectl port-forward`. This part adds a Service **`cache`** (two agnhost `serve-hostname`
pods of a StatefulSet, which answer every request with their own pod name) and a Service
`queue` beside it. Open the namespace as the grader prepares it, and make `%kubectl` work in it:

```python
from grader.kubectl import use
use(lab.explore("part6"))
```

Then **forward a local port to Service `cache`'s port 80**, with `%kubectl port-forward ...`
in a cell of its own (the notebook keeps the forward running in the background), and send
**five requests** through it from Python:

```python
import urllib.request
for _ in range(5):
    print(urllib.request.urlopen("http://127.0.0.1:<your local port>/", timeout=5).read().decode())
```

Record what you did and saw as three facts (YAML, not a manifest):

```yaml
command: "<the port-forward command line you ran>"
answered_by: <the pod name the answers held>
distinct_pods: <how many different pods answered the five requests>
```

(Keep the quotes around the command: YAML cannot start a value with `%`.)

What is checked, honestly: the grader cannot see your terminal. It checks your command
against the cluster (that it would forward to `cache`, or to one of its pods, through a
port that exists), that `answered_by` is one of `cache`'s pods, and the count. A pod name
read off `kubectl get pods` would pass the name check too; the count is what only doing
it (or knowing how port-forward works) tells you.
""",
    reference=_forward_answer("kubectl port-forward svc/cache 8089:80", "cache-0"),
    explanation=(
        "`kubectl port-forward svc/cache 8089:80` listens on 127.0.0.1:8089 and, when it starts, picks ONE "
        "pod behind the Service and the container port that the Service's port 80 targets (8080, named "
        "`http`); every connection then goes through the API server and that pod's kubelet into the pod. "
        "No kube-proxy rule is involved, so there is no balancing: five requests, one pod. Which of cache-0 "
        "and cache-1 it picks is kubectl's choice, so either name is right. After `pod/NAME` the remote port "
        "is the container's (8080); after `svc/NAME` it is the Service's (80)."),
    wrong_answers=(
        WrongAnswer("`answered_by: cache`: the Service's name; a Service never answers, a pod does.",
                    _forward_answer("kubectl port-forward svc/cache 8089:80", "cache"), max_score=2),
        WrongAnswer("`answered_by: queue-0`: a pod of another Service, "
                    "which a forward to svc/cache never reaches.",
                    _forward_answer("kubectl port-forward svc/cache 8089:80", "queue-0"), max_score=2),
        WrongAnswer("A made-up pod name (`cache-7`): no such pod.",
                    _forward_answer("kubectl port-forward svc/cache 8089:80", "cache-7"), max_score=2),
        WrongAnswer("`distinct_pods: 2`: expecting the Service's "
                    "balancing; a port-forward is pinned to one pod.",
                    _forward_answer("kubectl port-forward svc/cache 8089:80", "cache-1", 2), max_score=2),
        WrongAnswer("`svc/cache 8089:8080`: the pods' port after svc/; "
                    "kubectl refuses, the Service has port 80 only.",
                    _forward_answer("kubectl port-forward svc/cache 8089:8080", "cache-0"), max_score=2),
        WrongAnswer("Forwarding to `pod/cache-1` but naming cache-0: "
                    "a forward to a pod reaches that pod only.",
                    _forward_answer("kubectl port-forward pod/cache-1 8089:8080", "cache-0"), max_score=2),
    ),
)
