"""The mock exam's own checks of state (grader/labs/exam_tasks.py): pod counts, kept
selectors, named target ports, sticky sessions, strangers from another namespace or added
later, and two wrappers that keep an answer which changes nothing at zero.

Like every check they observe a namespace through the Cluster API only, so they judge the
same way offline and on a live cluster."""

from __future__ import annotations

from typing import Any, Mapping

from grader import checks
from grader.checks.core import Check, Verdict, failed, passed
from grader.labs.spec import add_pods
from grader.labs.strangers import egress_only_to_dns, reached
from grader.labs.workloads import netexec_pod, pause_pod

#: A port no exam task opens: a policy rule without `ports:` opens it too.
UNOPENED_PORT = 9090


def pod_count(selector: str, want: int) -> Check:
    """Exactly `want` running, ready pods match `selector`."""

    def fn(ns: Any) -> Verdict:
        got = [p for p in checks.pods_matching(ns, selector) if p.ready]
        if len(got) != want:
            return failed(
                f"{len(got)} ready pods match {selector}, not {want}: scale the Deployment "
                "(spec.replicas), not its pods one by one"
            )
        return passed(f"{want} ready pods match {selector}")

    return Check(f"{want} ready pods match {selector}", fn)


def selector_is(service: str, want: Mapping[str, str], why: str) -> Check:
    """The Service's selector is exactly `want` (a task that says: do not change the Service)."""

    def fn(ns: Any) -> Verdict:
        svc = ns.service(service)
        if svc is None:
            return failed(f"Service {service} is gone: the task asked you to keep it")
        if dict(svc.selector) != dict(want):
            return failed(f"Service {service} now selects {dict(svc.selector)}, not {dict(want)}: {why}")
        return passed(f"Service {service} still selects {dict(want)}")

    return Check(f"Service {service} keeps its selector", fn)


def target_port_named(service: str, port: int, name: str) -> Check:
    """Hidden: the Service port sends to the container port *named* `name`: a new version of
    the workload moves the number, and the endpoints must follow."""

    def fn(ns: Any) -> Verdict:
        svc = ns.service(service)
        sp = svc.port(port) if svc else None
        if sp is None:
            return failed(f"Service {service} has no port {port}")
        if sp.target_port != name:
            return failed(
                f"Service {service} port {port} targets {sp.target_port!r}, not the port name "
                f"{name!r}: when the pods move to another number, the Service will not follow"
            )
        return passed(f"Service {service} port {port} targets the port named {name}")

    return Check(f"Service {service} follows the port named {name}", fn)


def sticky(target: str, frm: str, tries: int = 20, warm_up: int = 5) -> Check:
    """Every request from one client is answered by the same pod (sessionAffinity ClientIP):
    `tries` answers in a row from one pod, within `warm_up + 2 * tries` requests.

    Live, kube-proxy programs the affinity a moment after the Service changes, and under load
    that moment can outlast a few requests; without affinity, 20 answers in a row from one of
    several ready pods does not happen (three pods: a chance of 3**-19)."""

    def fn(ns: Any) -> Verdict:
        seen, run, last = set(), 0, None
        for _ in range(warm_up + 2 * tries):
            out = ns.probe(target, frm=frm)
            if not out.ok:
                return failed(f"{target} from {frm}: {out.status.value} ({out.reason})")
            seen.add(out.pod)
            run = run + 1 if out.pod == last else 1
            last = out.pod
            if run >= tries:
                return passed(f"{tries} requests in a row from {frm} to {target} were answered by one pod")
        return failed(
            f"requests from {frm} to {target} were answered by {len(seen)} different pods, never "
            f"{tries} in a row by one: set spec.sessionAffinity: ClientIP on the Service"
        )

    return Check(f"{target} keeps each client on one pod", fn)


def from_elsewhere(target: str, labels: Mapping[str, str], expect: str) -> Check:
    """Hidden: a pod with these labels *in another namespace* gets `expect` for `target`
    (a policy peer that forgot its namespace, or opened every namespace, lets it in)."""

    def fn(ns: Any) -> Verdict:
        other = ns.cluster.namespace(f"{ns.name}-other")
        try:
            add_pods(other, pause_pod("visitor", dict(labels)), source="exam hidden check")
            host, _, rest = target.partition(":")
            out = other.probe(f"{host}.{ns.name}.svc.cluster.local:{rest}", frm="visitor")
        finally:
            other.delete()      # live, the visitor's namespace must not outlive the check
        if out.status.value != expect:
            return failed(
                f"a pod labelled {dict(labels)} in another namespace got {out.status.value} for "
                f"{target}, not {expect}: a podSelector-only peer means this namespace only"
            )
        return passed(f"a pod labelled {dict(labels)} in another namespace gets {expect} for {target}")

    return Check(f"{target} from another namespace: {expect}", fn)


def newcomer(target: str, labels: Mapping[str, str], expect: str) -> Check:
    """Hidden: a pod added later in the task's namespace gets `expect` for `target`."""

    def fn(ns: Any) -> Verdict:
        add_pods(ns, pause_pod("newcomer", dict(labels)), source="exam hidden check")
        out = ns.probe(target, frm="newcomer")
        if out.status.value != expect:
            return failed(
                f"a new pod labelled {dict(labels)} got {out.status.value} for {target}, not {expect}"
            )
        return passed(f"a new pod labelled {dict(labels)} gets {expect} for {target}")

    return Check(f"{target} from a new pod {dict(labels)}: {expect}", fn)


def port_stays_closed(labels: Mapping[str, str], frm: str, port: int = UNOPENED_PORT) -> Check:
    """Hidden: a pod labelled `labels` that also serves `port`, added to the task's namespace:
    `frm` may reach it on the task's port only (a rule without `ports:` opens every port)."""

    def fn(ns: Any) -> Verdict:
        if not any(p.name == "two-ports" for p in ns.pods()):
            add_pods(ns, netexec_pod("two-ports", dict(labels), [8080, port]), source="exam hidden check")
        pod = next(p for p in ns.pods() if p.name == "two-ports")
        if reached(ns.probe(f"{pod.ip}:{port}", frm=frm)):
            return failed(
                f"{frm} reaches a pod labelled {dict(labels)} on port {port}, a port the task never opens: "
                "list the allowed port under `ports:` in the same rule"
            )
        return passed(f"{frm} reaches pods labelled {dict(labels)} on the task's port only")

    return Check(f"{frm} to {dict(labels)} on another port: closed", fn)


def not_to_elsewhere(labels: Mapping[str, str], frm: str) -> Check:
    """Hidden: a pod with the allowed peer's labels *in another namespace*: `frm` must not
    reach it (a peer with `namespaceSelector: {}` opens every namespace)."""

    def fn(ns: Any) -> Verdict:
        other = ns.cluster.namespace(f"{ns.name}-other")
        try:
            add_pods(other, netexec_pod("lookalike", dict(labels), [8080]), source="exam hidden check")
            pod = next(p for p in other.pods() if p.name == "lookalike")
            out = ns.probe(f"{pod.ip}:8080", frm=frm)
        finally:
            other.delete()      # live, the look-alike's namespace must not outlive the check
        if reached(out):
            return failed(
                f"{frm} reaches a pod labelled {dict(labels)} in another namespace: a podSelector-only "
                "peer means this namespace only"
            )
        return passed(f"{frm} does not reach pods labelled {dict(labels)} in another namespace")

    return Check(f"{frm} to {dict(labels)} in another namespace: closed", fn)


def dns_only(frm: str, also: str) -> Check:
    """Hidden: `frm`'s egress beyond `also` leads to the kube-dns pods in kube-system on 53 and
    nowhere else (grader.labs.strangers), met with strangers in a namespace of their own that
    is removed afterwards."""
    def fn(ns: Any) -> Verdict:
        where = f"{ns.name}-elsewhere"
        try:
            return egress_only_to_dns(frm, where, also=also).fn(ns)
        finally:
            ns.cluster.namespace(where, fresh=False).delete()

    return Check("egress is open to DNS only", fn)


def pods_still_reached(selector: str, port: int, frm: str) -> Check:
    """`frm` still reaches every pod matching `selector` on `port`, by address (no Service
    fronts them): a policy for their egress must not cut their incoming traffic."""

    def fn(ns: Any) -> Verdict:
        pods = checks.pods_matching(ns, selector)
        if not pods:
            return failed(f"no pod matches {selector}")
        for pod in pods:
            out = ns.probe(f"{pod.ip}:{port}", frm=frm)
            if not reached(out):
                return failed(
                    f"{frm} no longer reaches {pod.name} on {port} ({out.status.value}): the policy must "
                    "isolate the pods' egress only (policyTypes: [Egress])"
                )
        return passed(f"{frm} still reaches the {selector} pods on {port}")

    return Check(f"{frm} still reaches {selector} pods", fn)


def once_done(goal: Check, check: Check) -> Check:
    """`check` counts only when the task's goal (`goal`) is met: a check that something was
    *kept* (a selector, a port, other pods' traffic) passes on an untouched namespace, and
    an answer that changes nothing must score nothing."""

    def fn(ns: Any) -> Verdict:
        reached = goal.run(ns)
        if not reached.passed:
            return failed(f"not credited until the task itself is done ({reached.name}: {reached.feedback})")
        return check.fn(ns)

    return Check(check.name, fn, check.points, check.hidden, check.time_limit)


def whole(check: Check) -> Check:
    """`check` without partial credit (half the pods of a Service is not half the task)."""

    def fn(ns: Any) -> Verdict:
        verdict = check.fn(ns)
        return verdict if verdict.share >= 1 else failed(verdict.feedback)

    return Check(check.name, fn, check.points, check.hidden, check.time_limit)
