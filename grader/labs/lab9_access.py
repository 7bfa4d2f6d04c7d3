"""Lab 9's access rules as data, and the hidden checks that test the whole class of
forbidden access against them, not a sample.

The shop's allow-list is short: the api reaches the database on 5432, the office's
`reports` pod reaches the api on 8080, the Gateway's proxy reaches the api on 8080, and
every pod may ask cluster DNS. Everything else must stay blocked, so the checks here
enumerate every ordered pod pair of a universe larger than the learner's namespace (the
lab's pods, a pod added later, the office's two pods, and look-alikes of the api, the
database and the reports pod in a namespace with no policies), on every port the shop
serves, and compare each verdict with `allowed()`. Inside the namespace that is one
`ns.matrix` call; across namespaces one probe per pair and direction (a refusal counts as
reached: only a policy drops a connection silently). Everything goes through the Cluster
API, so the same checks run live.
"""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any, Iterable, Mapping

from grader.checks.core import Check, Verdict, failed, passed
from grader.labs.spec import add_pods
from grader.labs.strangers import reached, stranger
from grader.labs.workloads import netexec_pod

NAMESPACE = "lab9"
OFFICE = "lab9-office"
ELSEWHERE = "lab9-elsewhere"
#: The ports the shop serves: the api's 8080 and the database's 5432.
PORTS = (8080, 5432)
#: Probes across namespaces, live, are an exec each: give the whole-class check time.
WHOLE_CLASS_SECONDS = 900.0


def allowed(src_ns: str, src: Mapping[str, str], dst_ns: str, dst: Mapping[str, str], port: int) -> bool:
    """The task's allow-list, by namespace and labels (pod names differ live): what a
    connection from a pod with labels `src` to one with labels `dst` on `port` must do."""
    if src_ns == NAMESPACE and dst_ns == NAMESPACE:
        return src.get("app") == "api" and dst.get("app") == "db" and port == 5432
    if src_ns == OFFICE and dst_ns == NAMESPACE:
        return src.get("app") == "reports" and dst.get("app") == "api" and port == 8080
    return False


def _what(ns: str, labels: Mapping[str, str]) -> str:
    app = labels.get("app", "?")
    return f"{ns}/app={app}" + (f",version={labels['version']}" if "version" in labels else "")


def _mismatch(src_ns: str, src: Any, dst_ns: str, dst: Any, port: int, got: bool) -> str:
    verb = "reaches" if got else "cannot reach"
    return (f"{_what(src_ns, src.labels)} ({src.name}) {verb} "
            f"{_what(dst_ns, dst.labels)} ({dst.name}) on {port}")


def _advice(wrong: list[str]) -> str:
    """A sentence about the first wrong cells: which direction of which rule to look at."""
    shown = "; ".join(wrong[:4]) + (f"; and {len(wrong) - 4} more" if len(wrong) > 4 else "")
    return (f"{len(wrong)} connection(s) differ from the allow-list: {shown}. Allowed are only api -> db on "
            f"5432, {OFFICE}'s app=reports -> api on 8080 (and DNS); every other pair must stay blocked")


def inside_matrix_matches() -> Check:
    """Every ordered pair of the namespace's pods, on 8080 and 5432 (one matrix)."""
    def fn(ns: Any) -> Verdict:
        labelled = {p.key: p for p in ns.pods()}       # the matrix's PodRefs may omit labels
        matrix = ns.matrix(ports=PORTS)
        pods = [labelled.get(p.key, p) for p in matrix.pods]
        wrong = []
        for src in pods:
            for dst in pods:
                for port in PORTS:
                    if src.key == dst.key:
                        continue
                    got = matrix.allowed(src.key, dst.key, port)
                    if got != allowed(NAMESPACE, src.labels, NAMESPACE, dst.labels, port):
                        wrong.append(_mismatch(NAMESPACE, src, NAMESPACE, dst, port, got))
        if wrong:
            return failed(_advice(sorted(wrong)))
        return passed(f"every pair of the namespace's {len(pods)} pods, on 8080 and 5432, is exactly as the "
                      "allow-list says")
    return Check("inside the namespace, exactly api -> db on 5432 is open", fn, points=3)


def _outsiders(ns: Any) -> list[tuple[str, Any]]:
    """(namespace, PodRef) of every pod outside the lab's namespace that the check uses: the
    office's two pods (the lab's fixtures) and look-alikes created on first use."""
    office = ns.cluster.namespace(OFFICE, fresh=False)
    out = [(OFFICE, p) for p in sorted(office.pods(), key=lambda p: p.name)]
    for name, labels in (("api-twin", {"app": "api", "version": "v1"}), ("db-twin", {"app": "db"}),
                         ("reports-twin", {"app": "reports"})):
        out.append((ELSEWHERE, stranger(ns, ELSEWHERE, name, labels, *PORTS)))
    return out


def _reached_all(ns: Any, probes: list[tuple[Any, str, str]]) -> list[bool]:
    """Whether each (namespace, from pod, target) probe got through, in order. Live, each is an
    exec into a pod and a blocked one waits out its 1 s timeout: 140 of them one after another
    took 170 s on the local cluster, so live they run 8 at a time (as `ns.matrix` does)."""
    def one(probe: tuple[Any, str, str]) -> bool:
        where, frm, target = probe
        return reached(where.probe(target, frm=frm))
    if getattr(ns.cluster, "mode", "offline") != "live":
        return [one(p) for p in probes]
    with ThreadPoolExecutor(max_workers=8) as pool:
        return list(pool.map(one, probes))


def across_namespaces_match(*, add_late_pod: bool = True) -> Check:
    """Hidden: every ordered pair between the namespace's pods (with one added after the
    answer, when `add_late_pod`) and every outside pod, both directions, on 8080 and 5432."""
    def fn(ns: Any) -> Verdict:
        if add_late_pod and not any(p.name == "late" for p in ns.pods()):
            add_pods(ns, netexec_pod("late", {"app": "late"}, PORTS),
                     source="a pod started after your answer")
        inside = sorted(ns.pods(), key=lambda p: p.name)
        pairs: list[tuple[str, Any, str, Any, int]] = []      # (from ns, from pod, to ns, to pod, port)
        probes: list[tuple[Any, str, str]] = []
        for out_ns, outsider in _outsiders(ns):
            there = ns.cluster.namespace(out_ns, fresh=False)
            for pod in inside:
                for port in PORTS:
                    pairs.append((out_ns, outsider, NAMESPACE, pod, port))
                    probes.append((there, outsider.name, f"{pod.ip}:{port}"))
                    pairs.append((NAMESPACE, pod, out_ns, outsider, port))
                    probes.append((ns, pod.name, f"{outsider.ip}:{port}"))
        wrong = [_mismatch(src_ns, src, dst_ns, dst, port, got)
                 for (src_ns, src, dst_ns, dst, port), got
                 in zip(pairs, _reached_all(ns, probes), strict=True)
                 if got != allowed(src_ns, src.labels, dst_ns, dst.labels, port)]
        if wrong:
            return failed(_advice(wrong))
        return passed(f"every pair between the namespace's {len(inside)} pods and 5 pods of other "
                      "namespaces, both ways, on 8080 and 5432, is exactly as the allow-list says")
    return Check("across namespaces, only the office's reports pod gets in, and nothing gets out", fn,
                 points=3, time_limit=WHOLE_CLASS_SECONDS)


def office_reaches_api() -> Check:
    """The one cross-namespace path the task opens, by the Service's name."""
    def fn(ns: Any) -> Verdict:
        office = ns.cluster.namespace(OFFICE, fresh=False)
        out = office.probe(f"api-v1.{NAMESPACE}.svc.cluster.local:80/hostname", frm="reports")
        if not out.ok:
            return failed(f"{OFFICE}'s reports pod cannot reach api-v1.{NAMESPACE}:80 ({out.status.value}): "
                          "allow ingress to the api pods on 8080 from the pods labelled app=reports in "
                          f"namespace {OFFICE} (namespaceSelector and podSelector in one peer)")
        return passed(f"{OFFICE}'s reports pod reaches the api (answered by {out.pod})")
    return Check(f"{OFFICE}'s reports pod reaches the api", fn)


def pods_with(ns: Any, selector: Mapping[str, str]) -> list[Any]:
    return [p for p in ns.pods() if all(p.labels.get(k) == v for k, v in selector.items())]


def names(pods: Iterable[Any]) -> str:
    return ", ".join(sorted(p.name for p in pods)) or "none"


__all__ = ["ELSEWHERE", "NAMESPACE", "OFFICE", "PORTS", "across_namespaces_match", "allowed",
           "inside_matrix_matches", "office_reaches_api"]
