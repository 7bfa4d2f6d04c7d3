"""Lab 1's session-affinity part (kept in a module of its own, as lab1_readiness is): a cart
Service whose clients must each stay on one backend pod for 30 minutes.

Graded on outcomes where an outcome can be observed: many requests from one client are all
answered by one pod, from every client (a second and third caller pod), also after a rollout
of the backend; and the Service still lists every backend pod, so it balances *clients*
over them. The one thing no outcome can show inside a grading run is how long a client
stays stuck (waiting out 30 minutes is not possible), so that check reads the timeout the
API server stored, which is the value kube-proxy programs (iptables `recent --seconds`,
nftables set timeouts). Upstream: the Service API reference (`sessionAffinity`,
`sessionAffinityConfig.clientIP.timeoutSeconds`, default 10800, at most 86400) and the
Services concept page ("Session stickiness")."""
from __future__ import annotations

import time
from typing import Any

from grader import checks
from grader.checks.core import Check, Verdict, failed, listing, passed
from grader.labs.spec import Part, WrongAnswer, add_pods
from grader.labs.workloads import Port, netexec_workload, pause_pod
from grader.observations import Status

#: What the task asks: 30 minutes.
TIMEOUT_SECONDS = 1800
#: Requests per client: with three backends and a random pick per connection, 15 requests
#: without affinity all land on one pod with probability 3 * (1/3)**15 (about 2e-7).
REQUESTS = 15
CALLERS = ("caller-1", "caller-2", "caller-3")
#: Live, a probe is a `kubectl exec` into the client pod: 45 of them take longer than the
#: default 20 s a check may run.
LIVE_TIME_LIMIT = 90.0

SETUP = "\n" + "---\n".join(pause_pod(name, {"app": "caller"}) for name in CALLERS)

#: The backend after a rollout: new pods (a new pod template), as lab 1's part 1 uses.
_ROLLED_OUT = "\n" + netexec_workload(
    "backend", {"app": "backend", "tier": "api"}, replicas=3, container="api", udp_port=8081,
    ports=[Port(8080, "http"), Port(8081, "udp-echo", "UDP")], template_annotations={"rollout": "second"})


def _answers(ns: Any, frm: str) -> tuple[list[str], str | None]:
    """The pod names that answered REQUESTS requests from `frm` to cart:80/hostname, and
    the first failure (why a request got no answer), if any."""
    seen: list[str] = []
    for _ in range(REQUESTS):
        out = ns.probe("cart:80/hostname", frm=frm)
        if not (out.ok and out.body):
            return seen, (f"cart:80/hostname from {frm}: {out.status.value}"
                          + (f" ({out.reason})" if out.reason else ""))
        seen.append(out.body.strip())
    return seen, None


def _sticks(ns: Any, clients: tuple[str, ...]) -> Verdict:
    backend = {p.name for p in checks.pods_matching(ns, "app=backend")}
    spread = []
    for frm in clients:
        seen, problem = _answers(ns, frm)
        if problem:
            return failed(problem)
        stray = sorted(set(seen) - backend)
        if stray:
            return failed(f"cart:80 from {frm} was answered by {listing(stray)}, not a backend pod")
        if len(set(seen)) > 1:
            spread.append(f"{frm} reached {len(set(seen))} pods ({listing(sorted(set(seen)))})")
    if spread:
        return failed(f"{REQUESTS} requests per client: " + "; ".join(spread) + ". Without "
                      "`sessionAffinity: ClientIP`, kube-proxy picks an endpoint for every connection")
    return passed(f"{REQUESTS} requests from each of {', '.join(clients)}: each client stayed on one pod")


def one_client_sticks() -> Check:
    def fn(ns: Any) -> Verdict:
        return _sticks(ns, ("client",))
    return Check("requests from one client stay on one pod", fn, points=2, time_limit=LIVE_TIME_LIMIT)


def every_client_sticks() -> Check:
    """Hidden: every caller, not only the one the visible check uses, stays on its pod."""
    def fn(ns: Any) -> Verdict:
        return _sticks(ns, CALLERS)
    return Check("every client stays on its own pod", fn, time_limit=LIVE_TIME_LIMIT)


#: Live, right after a rollout a remembered client may still be sent to an old pod: kube-proxy
#: drops the old endpoint (and the client's affinity to it) only at its next sync after the
#: EndpointSlice changes, about a second, longer with classes graded side by side. Until then
#: the old pod answers while it terminates, or, once it is gone, nothing does (CI saw a
#: TIMEOUT). So before stickiness is judged, the client asks until one of today's backend
#: pods answers, as a real client retries: at most ROLLOUT_ATTEMPTS requests within
#: ROLLOUT_SETTLE seconds. Offline the first request is answered by a new pod. An answer
#: that is an answer (no endpoints, refused) ends the wait: _sticks then reports it.
ROLLOUT_SETTLE = 20.0
ROLLOUT_ATTEMPTS = 40


def _reached_after_rollout(ns: Any, frm: str) -> None:
    deadline = time.monotonic() + ROLLOUT_SETTLE
    for _ in range(ROLLOUT_ATTEMPTS):
        current = {p.name for p in checks.pods_matching(ns, "app=backend")}
        out = ns.probe("cart:80/hostname", frm=frm)
        if out.ok and (out.body or "").strip() in current:
            return
        if not out.ok and out.status is not Status.TIMEOUT or time.monotonic() >= deadline:
            return


def sticks_after_rollout() -> Check:
    """Hidden: after a rollout replaces the backend pods, clients reach the new pods and
    stick to them (a selector on today's pod-template-hash would leave no endpoint)."""
    def fn(ns: Any) -> Verdict:
        add_pods(ns, _ROLLED_OUT, source="a rollout of the backend")
        _reached_after_rollout(ns, "client")
        return _sticks(ns, ("client",))
    return Check("clients still stick after a rollout of the backend", fn, points=0.5,
                 time_limit=LIVE_TIME_LIMIT)


def stickiness_lasts() -> Check:
    def fn(ns: Any) -> Verdict:
        svc = ns.service("cart")
        if svc is None:
            return failed("there is no Service cart")
        if svc.session_affinity != "ClientIP":
            return failed(f"Service cart has sessionAffinity {svc.session_affinity}: nothing sticks (a "
                          "sessionAffinityConfig alone is dropped by the API server)")
        if svc.session_affinity_timeout != TIMEOUT_SECONDS:
            default = " (the default, 3 hours, when sessionAffinityConfig is left out)" \
                if svc.session_affinity_timeout == 10800 else ""
            return failed(f"a client stays on its pod for {svc.session_affinity_timeout} s{default}; the "
                          "task says 30 minutes: "
                          f"sessionAffinityConfig.clientIP.timeoutSeconds: {TIMEOUT_SECONDS}")
        return passed(f"a client stays on its pod for {TIMEOUT_SECONDS} s (30 minutes)")
    return Check("stickiness lasts 30 minutes", fn)


def _cart(extra: str = "", *, target: str = "8080") -> str:
    return ("apiVersion: v1\nkind: Service\nmetadata: {name: cart}\nspec:\n  selector: {app: backend}\n"
            f"  ports: [{{port: 80, targetPort: {target}}}]\n{extra}")


REFERENCE = """\
apiVersion: v1
kind: Service
metadata:
  name: cart
spec:
  selector:
    app: backend
  ports:
  - name: http
    port: 80
    targetPort: 8080
  sessionAffinity: ClientIP
  sessionAffinityConfig:
    clientIP:
      timeoutSeconds: 1800
"""

PART7 = Part(
    id="part7", title="A cart that stays on one pod", points=3,
    setup=SETUP,
    visible=[one_client_sticks(), stickiness_lasts(),
             checks.endpoints_match("cart", "app=backend", port=8080,
                                    name="Service cart still lists every backend pod")],
    hidden=[every_client_sticks(), sticks_after_rollout(),
            checks.service_type("cart", "ClusterIP", points=0.5)],
    task="""
A first version of the shopping cart keeps each user's cart in the memory of the backend
pod that served them, so every request of one client must reach **the same pod** while
the cart lives: **30 minutes**. Write a **ClusterIP Service `cart`** (port 80 to the backend
pods' 8080) that keeps each client pod on one backend pod for 30 minutes, while different
clients are still spread over all three backend pods.

Try it with `ns = lab.explore("part7")` and a dozen
`ns.probe("cart:80/hostname", frm="client").body`, then the same from `caller-1` (the
part adds pods `caller-1` to `caller-3`). The hidden checks ask from every caller, and again
after a rollout of the backend.
""",
    reference=REFERENCE,
    explanation=(
        "`sessionAffinity: ClientIP` makes kube-proxy remember, per client IP, the endpoint it picked first "
        "and send that client's later connections there, for `sessionAffinityConfig.clientIP.timeoutSeconds` "
        "(default 10800, 3 hours; at most 86400). Other clients still get a random endpoint, so the load is "
        "spread by client, not by request. A pod's IP is the client IP inside the cluster; behind a NAT many "
        "users share one IP, which is why real carts keep state outside the pods."),
    wrong_answers=(
        WrongAnswer("No affinity: every connection picks an endpoint "
                    "at random, so the cart moves between pods.",
                    _cart(), max_score=1),
        WrongAnswer("`sessionAffinity: ClientIP` without a config: clients stick for the default 3 hours, "
                    "not 30 minutes.", _cart("  sessionAffinity: ClientIP\n"), max_score=2.6),
        WrongAnswer("`timeoutSeconds: 30`: the number of minutes written as seconds; a client moves after "
                    "30 s of the cart's 30 minutes.",
                    _cart("  sessionAffinity: ClientIP\n"
                          "  sessionAffinityConfig: {clientIP: {timeoutSeconds: 30}}\n"),
                    max_score=2.6),
        WrongAnswer("`sessionAffinityConfig` without `sessionAffinity: ClientIP`: the API server drops the "
                    "config and nothing sticks.",
                    _cart("  sessionAffinityConfig: {clientIP: {timeoutSeconds: 1800}}\n"),
                    max_score=1),
        WrongAnswer("Affinity on the wrong targetPort (80, where "
                    "nothing listens): sticky, to a pod that refuses.",
                    _cart("  sessionAffinity: ClientIP\n"
                          "  sessionAffinityConfig: {clientIP: {timeoutSeconds: 1800}}\n",
                          target="80"), max_score=1),
    ),
)
