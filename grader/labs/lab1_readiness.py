"""Lab 1, part 6: keep a broken build out of rotation with a readiness probe.

The part's fixture is Service `web`; the task gives two Deployments to apply behind it:
`web` (two pods that serve HTTP on their port `http`, 8080) and `web-next` (a new build
that declares the same port but listens on 9090, so it refuses what the Service sends it).
The learner applies both with a readiness probe. They are created by the answer, not
changed by it, on purpose: a rolling update of a one-replica Deployment whose new pod never
gets Ready keeps the old pod (maxUnavailable rounds down to 0), so a changed template would
leave the broken pod serving on a real cluster while the model swaps pods at once. Graded
on outcomes only: every request is answered, web-next's pod stays selected but is listed
not ready, and, hidden, the same probe on a *working* web-next build lets it in, and on a
*broken* copy of web keeps it out (so the probe must be a readiness probe, on the port the
app serves, on both)."""
from __future__ import annotations

import copy
import time
from typing import Any, Callable

from grader import checks
from grader.checks.core import Check, Verdict, failed, partial, passed
from grader.labs.spec import Part, WrongAnswer
from grader.labs.workloads import Port, netexec_workload
from grader.observations import Status
from grader.safe_yaml import parse_documents

#: The broken build listens here; the port it declares (named `http`) is 8080.
BROKEN_PORT = 9090
#: Pods the readiness probe may keep out of rotation: grading waits for them to run only.
MAY_STAY_UNREADY = "app=web"
#: Live, a check here starts pods and waits for a first probe, or sends 30 requests through
#: kube-proxy: more than the default 20 s a check may take.
LIVE_TIME_LIMIT = 90.0

_WEB = netexec_workload("web", {"app": "web", "track": "stable"}, replicas=2,
                        selector={"app": "web", "track": "stable"})
_WEB_NEXT = netexec_workload("web-next", {"app": "web", "track": "next"}, container="web",
                             selector={"app": "web", "track": "next"}, http_port=BROKEN_PORT,
                             ports=[Port(8080, "http")])

SETUP = """
apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  selector: {app: web}
  ports: [{name: http, port: 80, targetPort: http}]
"""

#: What the task hands the learner: both Deployments, without probes.
STARTER = _WEB + "---\n" + _WEB_NEXT


def _answer_deployment(answer: str, name: str) -> dict[str, Any] | None:
    docs, _ = parse_documents(answer or "")
    return next((copy.deepcopy(obj) for _, obj in docs if isinstance(obj, dict)
                 and obj.get("kind") == "Deployment"
                 and (obj.get("metadata") or {}).get("name") == name), None)


def _copy_listening_on(dep: dict[str, Any], name: str, port: int) -> dict[str, Any]:
    """`dep` under another name, one replica, its netexec serving HTTP on `port`: the same
    pod template and probes, another build."""
    dep["metadata"] = {"name": name}
    dep["spec"]["replicas"] = 1
    for c in dep["spec"]["template"]["spec"].get("containers") or []:
        c["args"] = [a for a in (c.get("args") or []) if not str(a).startswith("--http-port")]
        c["args"].append(f"--http-port={port}")
    return dep


def _endpoint_state(ns: Any, selector: str, prefix: str) -> tuple[list[str], list[str]]:
    """(ready, not ready) endpoint pod names of Service web among the pods `selector` picks,
    once the slices have caught up with the pods named `prefix`... (_caught_up_listing)."""
    listed = _caught_up_listing(ns, "web", selector, prefix)
    mine = {p.name for p in checks.pods_matching(ns, selector)}
    return (sorted(pod for pod, ready in listed.items() if pod in mine and ready),
            sorted(pod for pod, ready in listed.items() if pod in mine and not ready))


def _live_deadline(ns: Any, timeout: float) -> float:
    """When a wait for the cluster to catch up gives up: now offline, where nothing lags;
    `timeout` from now live."""
    live = getattr(getattr(ns, "cluster", None), "mode", "live") == "live"
    return time.monotonic() + (timeout if live else 0.0)


def _settle(ns: Any, selector: str, prefix: str, timeout: float = 15.0) -> set[str]:
    """The names of the pods (matching `selector`, named `prefix`...) that are Ready within
    `timeout`: instant offline; live, a pod that just started runs its first readiness probe
    a moment later, so a passing probe is given that moment."""
    deadline = _live_deadline(ns, timeout)
    while True:
        pods = [p for p in checks.pods_matching(ns, selector) if p.name.startswith(prefix)]
        ready = {p.name for p in pods if p.ready}
        if (pods and len(ready) == len(pods)) or time.monotonic() >= deadline:
            return ready
        time.sleep(1.0)


def _caught_up_listing(ns: Any, service: str, selector: str, prefix: str,
                       timeout: float = 5.0) -> dict[str, bool]:
    """Every pod `service`'s EndpointSlices list, with its readiness there, read once they
    list every pod (matching `selector`, named `prefix`...) as ready or not as the pod itself
    is: live, the EndpointSlice controller writes a readiness change a moment after the
    kubelet reports it, and a pod read as Ready but not yet in the slice would look kept out
    of rotation (a missing probe passing). Instant offline; after `timeout` live, what the
    slices say."""
    deadline = _live_deadline(ns, timeout)
    while True:
        want = {p.name: p.ready for p in checks.pods_matching(ns, selector) if p.name.startswith(prefix)}
        listed = {(e.pod or "").split("/", 1)[-1]: e.ready for e in ns.endpoints(service)}
        if all(listed.get(name) == ready for name, ready in want.items()) or time.monotonic() >= deadline:
            return listed
        time.sleep(0.5)


def _listed_as_ready_as_they_are(ns: Any, service: str, selector: str, prefix: str,
                                 timeout: float = 5.0) -> set[str]:
    """The ready endpoint pod names of `service`, once its slices caught up with the pods
    (_caught_up_listing)."""
    return {pod for pod, ready in _caught_up_listing(ns, service, selector, prefix, timeout).items() if ready}


def every_request_answered() -> Check:
    def fn(ns: Any) -> Verdict:
        _settle(ns, "app=web,track=stable", "web-")      # live: their first probe may still be due
        answered, refused = set(), 0
        for _ in range(30):
            out = ns.probe("web:80/hostname", frm="client")
            if out.status is Status.TIMEOUT:     # a busy node, not a pod refusing: ask once more
                out = ns.probe("web:80/hostname", frm="client")
            if out.ok and out.body:
                answered.add(out.body.strip())
            else:
                refused += 1
        stable = {p.name for p in checks.pods_matching(ns, "app=web,track=stable")}
        if not any(e.ready for e in ns.endpoints("web")):
            return failed("Service web has no ready endpoint at all: the probe fails on every pod, even on "
                          "those that serve; probe the port the app listens on (`http`, 8080)")
        if refused:
            return partial((30 - refused) / 30,
                           f"{refused} of 30 requests to web:80 failed: a pod that does not "
                           "answer on its port `http` is still a ready endpoint; a readinessProbe on that "
                           "port keeps it out of rotation until it answers")
        if not stable or not stable <= answered:
            return failed("not every web (track: stable) pod answered 30 requests: their readiness probe "
                          "keeps pods that do serve out of rotation; "
                          "probe the port the app listens on (`http`, 8080)")
        return passed("30 of 30 requests to web:80 answered, by the stable pods only")
    return Check("every request to web:80 is answered", fn, points=2, time_limit=LIVE_TIME_LIMIT)


def next_kept_but_unready() -> Check:
    def fn(ns: Any) -> Verdict:
        _settle(ns, "app=web,track=next", "web-next", timeout=6.0)   # live: a pod without a probe turns Ready
        pods = checks.pods_matching(ns, "app=web,track=next")
        if not pods:
            return failed("web-next has no pod with labels app=web, track=next: keep the build running (same "
                          "labels, one replica); the probe, not its removal, keeps it out of rotation")
        ready, unready = _endpoint_state(ns, "app=web,track=next", "web-next")
        if ready:
            return failed(f"web-next's pod {ready[0]} is a ready endpoint of web, though it answers nothing "
                          "on port 8080: give its container a "
                          "readinessProbe (a livenessProbe only restarts it)")
        if not unready:
            return failed("web-next's pod is not listed in web's EndpointSlice at all: keep its labels, so "
                          "the Service selects it and its readiness decides")
        return passed(f"web-next's pod {unready[0]} is selected but listed with ready: false")
    return Check("web-next's pod is selected but not ready", fn)


def working_build_gets_in(answer: str) -> Check:
    """Hidden: a web-next build that does serve on 8080, with the learner's own pod template
    and probe, must become Ready and get traffic: a probe on a port the app never serves
    (the Service's port 80, the broken build's 9090) would keep every build out."""
    def fn(ns: Any) -> Verdict:
        dep = _answer_deployment(answer, "web-next")
        if dep is None:
            return failed("your answer has no Deployment web-next to try a working build with")
        try:
            ns.apply([_copy_listening_on(dep, "web-next-fixed", 8080)], source="a working build of web-next")
            ns.wait_ready(timeout=60, unready=MAY_STAY_UNREADY)
        except Exception as exc:  # noqa: BLE001 -- the learner's template may not apply
            return failed(f"a working build of web-next with your pod template could not run: {exc}")
        fixed = _settle(ns, "app=web", "web-next-fixed")
        ready = _listed_as_ready_as_they_are(ns, "web", "app=web", "web-next-fixed")
        if not fixed or not fixed <= ready:
            return failed("a web-next build that does answer on port 8080 (`http`) never became Ready with "
                          "your probe: it checks a port the app does not serve")
        return passed("a working web-next build with your probe becomes Ready and gets traffic")
    return Check("the probe lets a working build in", fn, time_limit=LIVE_TIME_LIMIT)


def broken_stable_stays_out(answer: str) -> Check:
    """Hidden: a stable pod that stops answering must leave rotation too, so web's own
    template needs the probe."""
    def fn(ns: Any) -> Verdict:
        dep = _answer_deployment(answer, "web")
        if dep is None:
            return failed("your answer has no Deployment web: its pods need the probe too")
        try:
            ns.apply([_copy_listening_on(dep, "web-broken", BROKEN_PORT)], source="a broken copy of web")
            ns.wait_ready(timeout=60, unready=MAY_STAY_UNREADY)
        except Exception as exc:  # noqa: BLE001
            return failed(f"a copy of your web Deployment could not run: {exc}")
        broken = {p.name for p in checks.pods_matching(ns, "app=web") if p.name.startswith("web-broken")}
        if not broken:
            return failed("a copy of your web Deployment made no pod with labels app=web")
        # live, a pod without a readiness probe turns Ready a moment after it runs: give it that
        # moment, so a missing probe is seen (a failing probe never turns it Ready)
        _settle(ns, "app=web", "web-broken", timeout=6.0)
        if broken & _listed_as_ready_as_they_are(ns, "web", "app=web", "web-broken"):
            return failed("a web pod that stops answering on 8080 stays a ready endpoint: web's pod template "
                          "needs the readinessProbe as well")
        return passed("a web pod that stops answering leaves rotation")
    return Check("a stable pod that stops answering leaves rotation", fn, time_limit=LIVE_TIME_LIMIT)


REFERENCE = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: 2
  selector:
    matchLabels: {app: web, track: stable}
  template:
    metadata:
      labels: {app: web, track: stable}
    spec:
      containers:
      - name: web
        image: IMAGE
        args: [netexec, --http-port=8080]
        ports: [{name: http, containerPort: 8080}]
        readinessProbe:
          httpGet: {path: /healthz, port: http}
          periodSeconds: 2
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web-next
spec:
  replicas: 1
  selector:
    matchLabels: {app: web, track: next}
  template:
    metadata:
      labels: {app: web, track: next}
    spec:
      containers:
      - name: web
        image: IMAGE
        args: [netexec, --http-port=9090]
        ports: [{name: http, containerPort: 8080}]
        readinessProbe:
          httpGet: {path: /healthz, port: http}
          periodSeconds: 2
"""


def _reference() -> str:
    from grader.kind.images import AGNHOST_IMAGE
    return REFERENCE.replace("IMAGE", AGNHOST_IMAGE)


def _variant(edit: Callable[[str], str]) -> str:
    return edit(_reference())


PART6 = Part(
    id="part6", title="Only ready pods get traffic", points=4,
    setup=SETUP, may_stay_unready=MAY_STAY_UNREADY,
    visible=[every_request_answered(), next_kept_but_unready()],
    hidden=lambda answer: [working_build_gets_in(answer), broken_stable_stays_out(answer)],
    task="""
**Service `web`** (selector `app: web`, port 80 to the port named `http`) is in place. Two
Deployments are to run behind it: `web` (two pods, `track: stable`) and `web-next` (one
pod, `track: next`, a new build). Applied as they are below, requests to `web:80` fail
about one time in three: the new build declares port `http` = 8080 but listens elsewhere,
and nobody can fix the build today.

```yaml
""" + STARTER + """```

Write **both Deployments** (same names, labels, images and args) with a **readiness
probe**, so that any pod of either gets Service traffic only while it answers HTTP on its
port `http`. Keep `web-next` running with its labels: it must stay selected, listed as
not ready. Try it with `ns = lab.explore("part6")`, `ns.endpoints("web")` and
`ns.probe("web:80/hostname", frm="client")`. The hidden checks try your pod templates on
a working build of web-next and on a web pod that stops answering.
""",
    reference=_reference(),
    explanation=(
        "The EndpointSlice controller lists every selected pod that has an IP and copies its Ready condition "
        "into `conditions.ready`; kube-proxy sends new connections to ready endpoints only. A readinessProbe "
        "on the port the app serves (`http`, 8080; by name or number, httpGet or tcpSocket) makes web-next's "
        "pod NotReady, so it stays listed but gets no traffic, and lets any build that does answer in. "
        "netexec answers every path with 200, so the path does not matter here; for a real app, probe a path "
        "that says it can serve."),
    wrong_answers=(
        WrongAnswer("The Deployments as given, without a probe: web-next's pod is Ready as soon as it runs "
                    "and gets its share of requests, which it refuses.", STARTER, max_score=2),
        WrongAnswer("The probe on the Service's port 80: no container listens there, so no web pod is ever "
                    "Ready and web has no ready endpoint at all.",
                    _variant(lambda t: t.replace("port: http}", "port: 80}")), max_score=1.6),
        WrongAnswer("The probe on 9090, where the broken build happens to listen: web-next's pod becomes "
                    "Ready and the working pods never do.",
                    _variant(lambda t: t.replace("port: http}", "port: 9090}")), max_score=1.5),
        WrongAnswer("The probe on 8081, netexec's UDP port: a TCP connection there is refused, so nothing is "
                    "ever Ready.",
                    _variant(lambda t: t.replace("port: http}", "port: 8081}")), max_score=1.6),
        WrongAnswer("A livenessProbe instead of a readinessProbe: the kubelet restarts web-next's container, "
                    "but between restarts it is Ready and keeps getting requests.",
                    _variant(lambda t: t.replace("readinessProbe", "livenessProbe")), max_score=2),
        WrongAnswer("A probe on web-next only: it works today, but a stable pod that stops answering stays "
                    "in rotation.",
                    _variant(lambda t: t.replace("""        readinessProbe:
          httpGet: {path: /healthz, port: http}
          periodSeconds: 2
---""", "---")), max_score=3.5),
        WrongAnswer("Scaling web-next to 0: requests succeed, but the build is gone instead of being kept "
                    "out of rotation until it answers.",
                    _variant(lambda t: t.replace("replicas: 1", "replicas: 0")), max_score=3.2),
    ),
)
