"""The model against real packets: every case of upstream's NetworkPolicy e2e suite (as
replayed offline in tests/model/test_netpol_upstream.py) applied to the local cluster and
probed pod to pod, every cell (each source x each target, loopback included, x each
port/protocol the step probes), then compared with the model's `compute_matrix` (what
`ns.matrix()` answers offline) fed the same objects as the cluster holds them (pod IPs,
labels, namespace labels as the API server stored them). Upstream's own expected tables are
compared too (loopback left out, as upstream does).

A disagreement fails the test unless EXPLAINED names why the real cluster differs for a
documented reason (README, "Live mode without Docker (Linux)"). The figures are printed.

Run by `make test-live`; skipped unless SVCLAB_CONTEXT is the local cluster's context."""
from __future__ import annotations

import os
import time
from collections import Counter
from typing import Any

import pytest

from grader.localcluster.layout import CONTEXT
from grader.model.matrix import compute_matrix
from grader.observations import Status
from tests.localcluster import netpol_live as bedlib
from tests.model import test_netpol_upstream as upstream

pytestmark = [pytest.mark.live,
              pytest.mark.skipif(os.environ.get("SVCLAB_CONTEXT") != CONTEXT,
                                 reason=f"needs the local cluster (SVCLAB_CONTEXT={CONTEXT}; make test-live)")]

#: Probes the real cluster cannot make, with the documented reason (README table).
NOT_PROBED = {"SCTP": "the kernel has no SCTP (built without it, no loadable modules): no pod can "
                      "listen on or connect over SCTP, so SCTP cells cannot be observed"}


class Figures:
    def __init__(self) -> None:
        self.cases = self.steps = self.cells = self.cross_node = self.not_probed = 0
        self.statuses: Counter[str] = Counter()
        self.model_vs_live: list[str] = []
        self.upstream_vs_live: list[str] = []
        self.slow: list[str] = []
        self.refused: list[str] = []
        self.skipped: Counter[str] = Counter()

    def report(self, seconds: float, gate_waits: list[float]) -> str:
        waits = sorted(gate_waits) or [0.0]
        lines = [
            "NetworkPolicy data-plane differential (upstream e2e cases, real packets vs the model):",
            f"  cases {self.cases}, steps {self.steps}, cells compared {self.cells} "
            f"({self.cross_node} across nodes), in {seconds:.0f}s",
            f"  live outcomes: {dict(self.statuses)}",
            f"  agent caught up after a change in median {waits[len(waits) // 2]:.2f}s, max {waits[-1]:.2f}s",
            f"  model vs live disagreements: {len(self.model_vs_live)}",
            *[f"    {d}" for d in self.model_vs_live],
            f"  upstream's tables vs live disagreements (loopback excluded): {len(self.upstream_vs_live)}",
            *[f"    {d}" for d in self.upstream_vs_live],
            f"  cells that needed a second, longer probe to connect: {len(self.slow)}",
            f"  steps not applied, refused by the API server's validation: {len(self.refused)}",
            *[f"    {r}" for r in self.refused],
        ]
        for proto, n in self.skipped.items():
            lines.append(f"  not probed: {n} probes over {proto} (explained: {NOT_PROBED[proto]})")
        return "\n".join(lines)


def _refused(bed: bedlib.Bed, where: str, policies: list[dict[str, Any]], fig: Figures) -> bool:
    """Validation compared too: every policy goes to the API server as a dry run and to the
    offline validator; they must agree. A step the server refuses is not applied (the
    first generation's "<pod IP>/4" CIDRs: strict CIDR validation, on since v1.36)."""
    from grader.cluster.live_api import ApiException, server_message
    from grader.rules import semantic_issues

    refused = []
    for policy in policies:
        offline = semantic_issues(policy)
        try:
            bed.api.server_side_apply(policy, dry_run=True)
            server = None
        except ApiException as exc:
            server = server_message(exc)
        name = policy["metadata"]["name"]
        if bool(offline) != bool(server):
            fig.model_vs_live.append(f"{where} validation of {name}: API server "
                                     f"{server or 'accepts'}; offline {offline or 'accepts'}")
        if server:
            refused.append(f"{where}: {name} refused by the API server and offline alike ({offline[0][1]})"
                           if offline else f"{where}: {name} refused by the API server")
    fig.refused += refused
    return bool(refused)


def _run_step(bed: bedlib.Bed, case: Any, index: int, step: Any, fig: Figures) -> None:
    if _refused(bed, f"{case.name} [step {index}]", step.policies, fig):
        return
    probes = []
    for port, proto, _ in step.probes:
        if proto in NOT_PROBED:
            fig.skipped[proto] += 1
        else:
            probes.append((port, proto))
    bed.apply_step(step.policies, step.pod_labels, step.ns_labels)
    fig.steps += 1
    if not probes:
        return
    live = bed.probe(probes)
    pods, nss = bed.model_inputs()
    model = compute_matrix(pods, nss, step.policies, ports=sorted({p for p, _ in probes}),
                           protocols=sorted({q for _, q in probes}))

    def verdict(status: Status) -> bool:
        return status in (Status.OK, Status.REFUSED)

    differ = [c for c, st in live.items() if verdict(st) != model.lookup(c[0], c[1], c[2], c[3]).allowed]
    if differ:  # a slow answer is not a verdict: ask those cells again, with time to spare
        again = bed.probe(probes, cells=differ, timeout=3.0)
        fig.slow += [f"{c}" for c, st in again.items() if verdict(st) != verdict(live[c])]
        live.update(again)
    where = f"{case.name} [step {index}]"
    for (src, dst, port, proto), st in sorted(live.items()):
        fig.cells += 1
        fig.cross_node += bed.nodes[src] != bed.nodes[dst]
        fig.statuses[st.value] += 1
        m = model.lookup(src, dst, port, proto)
        if verdict(st) != m.allowed:
            fig.model_vs_live.append(f"{where} {src} -> {dst} {port}/{proto}: live {st.value}, "
                                     f"model {'allowed' if m.allowed else 'denied'} ({m.reason})")
            if os.environ.get("SVCLAB_DIFF_PROGRESS"):
                print("DISAGREE", fig.model_vs_live[-1], flush=True)
    for port, proto, expect in step.probes:
        if proto in NOT_PROBED:
            continue
        table = expect(upstream.Reach(bedlib.KEYS)).table
        for (src, dst), want in table.items():
            if src != dst and verdict(live[(src, dst, port, proto)]) != want:
                fig.upstream_vs_live.append(f"{where} {src} -> {dst} {port}/{proto}: live "
                                            f"{live[(src, dst, port, proto)].value}, upstream expects "
                                            f"{'allowed' if want else 'denied'}")


def test_upstream_networkpolicy_cases_on_real_packets_agree_with_the_model(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    from grader.cluster.live_api import LiveApi

    started = time.monotonic()
    bed = bedlib.Bed(LiveApi.from_kubeconfig(context=CONTEXT))
    fig = Figures()
    try:
        bed.create()
        # ipBlock cases are written against pod IPs: give them the real ones
        monkeypatch.setattr(upstream, "pod_ip", lambda key: bed.ips[key])
        base = upstream.build(bedlib.KEYS, bedlib.PORTS, bedlib.PROTOCOLS)
        for case in upstream.CASES + upstream.FIRST_GENERATION_EXTRA:
            fig.cases += 1
            for index, step in enumerate(case.steps(base)):
                _run_step(bed, case, index, step, fig)
            if os.environ.get("SVCLAB_DIFF_PROGRESS"):
                with capsys.disabled():
                    print(f"[{time.monotonic() - started:6.1f}s] {fig.cases} {case.name}", flush=True)
    finally:
        bed.delete()
    with capsys.disabled():
        print("\n" + fig.report(time.monotonic() - started, bed.gate_waits))
    assert fig.cases == 50 and fig.cells > 4000
    assert not fig.model_vs_live, "\n".join(fig.model_vs_live)
    assert not fig.upstream_vs_live, "\n".join(fig.upstream_vs_live)
