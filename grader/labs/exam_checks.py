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
from grader.labs.workloads import pause_pod


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
    """Every request from one client is answered by the same pod (sessionAffinity ClientIP).

    The first `warm_up` answers are not judged: live, kube-proxy programs the affinity a
    moment after the Service changes, and a request sent in that moment may go elsewhere."""

    def fn(ns: Any) -> Verdict:
        seen = set()
        for n in range(warm_up + tries):
            out = ns.probe(target, frm=frm)
            if not out.ok:
                return failed(f"{target} from {frm}: {out.status.value} ({out.reason})")
            if n >= warm_up:
                seen.add(out.pod)
        if len(seen) != 1:
            return failed(
                f"{tries} requests from {frm} to {target} were answered by {len(seen)} different pods: "
                "set spec.sessionAffinity: ClientIP on the Service"
            )
        return passed(f"{tries} requests from {frm} to {target} were all answered by one pod")

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
