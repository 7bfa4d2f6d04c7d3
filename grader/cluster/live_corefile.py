"""Live: wait until every CoreDNS pod runs an edited Corefile, or say why one does not.

A changed `coredns` ConfigMap reaches CoreDNS in two hops, neither of which reports back:
the kubelet rewrites the mounted file on its next sync of the pod, and the `reload` plugin
notices the change on its next tick (30 s plus up to 15 s of jitter). Until both happened
on every replica, a lookup lands on the old or the new configuration by chance, so a
notebook that asks right after the edit sees whichever replica kube-proxy picked.

CoreDNS does report the outcome in its log (plugin/reload, v1.14): each instance that
starts logs "Running configuration SHA512 = ..." (the start-up of a reloaded Corefile too),
a Corefile that does not load logs "Corefile changed but reload failed: <why>" (and keeps
the old one), one that does not parse logs "Corefile parse failed: <why>". Reading those
lines per pod is the only signal that is neither a guess nor a sleep."""
from __future__ import annotations

import re
import time
from typing import Callable

from grader.cluster.live_api import LiveApi
from grader.cluster.live_pods import pod_is_ready

COREDNS_NAMESPACE = "kube-system"
COREDNS_SELECTOR = "k8s-app=kube-dns"
#: How long edit_corefile waits for every replica: the kubelet's sync (up to a minute with
#: its default syncFrequency) plus reload's interval and jitter (45 s), with room for a
#: loaded machine.
RELOAD_WAIT = 240.0
RELOADED = "Running configuration SHA512"
_FAILED = re.compile(r"(Corefile changed but reload failed|Corefile parse failed): *(.*)")


class CorefileNotLoaded(ValueError):
    """CoreDNS refused the new Corefile (it keeps serving the old one)."""


def same_configuration(old: str, new: str) -> bool:
    """True when `new` differs from `old` only in comments and spacing: CoreDNS hashes the
    parsed server blocks, so such an edit loads nothing and logs nothing."""
    def tokens(text: str) -> list[str]:
        return [word for line in text.splitlines() for word in line.split("#", 1)[0].split()]
    return tokens(old) == tokens(new)


def reload_outcome(log: str) -> tuple[bool, str | None]:
    """(reloaded, failure) read from the log lines written since the edit."""
    failure = None
    reloaded = False
    for line in log.splitlines():
        if RELOADED in line:
            reloaded, failure = True, None
        elif (found := _FAILED.search(line)) is not None:
            failure = found.group(2).strip() or found.group(1)
    return reloaded, failure


def await_reload(api: LiveApi, edited_at: float, *, timeout: float = RELOAD_WAIT,
                 clock: Callable[[], float] = time.time, sleep: Callable[[float], None] = time.sleep,
                 progress: bool = True) -> None:
    """Block until every Ready CoreDNS pod logged the start of a new configuration since
    `edited_at` (wall-clock seconds, as the kubelet's sinceSeconds counts). Raises
    CorefileNotLoaded with CoreDNS's own reason when a replica refused the file, and
    TimeoutError naming the replicas still on the old one."""
    from tqdm.auto import tqdm

    pods, _ = api.list_pods(COREDNS_NAMESPACE, label_selector=COREDNS_SELECTOR)
    names = sorted(p["metadata"]["name"] for p in pods if pod_is_ready(p))
    if not names:
        raise TimeoutError("no Ready CoreDNS pod in kube-system (k8s-app=kube-dns) to load the "
                           "new Corefile: `kubectl -n kube-system get pods -l k8s-app=kube-dns`")
    waiting = set(names)
    deadline = clock() + timeout
    with tqdm(total=len(names), desc="CoreDNS replicas on the new Corefile", unit="pod",
              leave=False, disable=not progress) as bar:
        while True:
            for name in sorted(waiting):
                since = int(clock() - edited_at) + 2
                reloaded, failure = reload_outcome(api.read_pod_log(COREDNS_NAMESPACE, name, since))
                if failure:
                    raise CorefileNotLoaded(
                        f"CoreDNS pod {name} did not load the new Corefile and keeps the old one: "
                        f"{failure}")
                if reloaded:
                    waiting.discard(name)
                    bar.update(1)
            if not waiting:
                return
            if clock() >= deadline:
                raise TimeoutError(
                    f"CoreDNS replicas still on the old Corefile after {timeout:.0f} s: "
                    f"{', '.join(sorted(waiting))} (the kubelet refreshes the mounted ConfigMap on "
                    "its next sync; see `kubectl -n kube-system logs -l k8s-app=kube-dns`)")
            sleep(3)
