"""Pod IPs in a manifests answer, written as variables: `${INVENTORY_A_IP}`.

A hand-written EndpointSlice lists pod IPs, and a pod's IP is new each time the grader
creates the namespace (live, kubelet's IPAM hands them out in arrival order), so an answer
that holds the addresses a learner saw while exploring would point nowhere when graded.
A deployment script faces the same problem and solves it with a template: `envsubst`
fills `${VAR}` from the environment before `kubectl apply`. A part that admits hand-written
slices (`Part.endpoint_slices`) does the same: before applying the answer, each
`${<POD>_IP}` becomes the IP the pod has now, `<POD>` being the pod's name in capitals
with `-` and `.` as `_` (pod `inventory-a` -> `${INVENTORY_A_IP}`). Only the braced form is
read, and a variable that names no pod is refused (envsubst would write an empty string,
which the learner would only notice as a strange API error).
"""
from __future__ import annotations

import re
from typing import Any, Iterable

_VARIABLE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


def variable_for(pod: str) -> str:
    """The variable that stands for a pod's IP: `inventory-a` -> `INVENTORY_A_IP`."""
    return re.sub(r"[-.]", "_", pod).upper() + "_IP"


def pod_ip_variables(pods: Iterable[Any]) -> dict[str, str]:
    """Variable -> IP for every pod that has an IP (PodRef-like: `.name`, `.ip`)."""
    return {variable_for(p.name): p.ip for p in pods if p.ip}


def substitute(text: str, pods: Iterable[Any]) -> tuple[str, str | None]:
    """(the answer with every `${<POD>_IP}` replaced, None), or (text, why not) when it names
    a variable no pod of the namespace stands for."""
    known = pod_ip_variables(pods)
    unknown = sorted({name for name in _VARIABLE.findall(text) if name not in known})
    if unknown:
        listed = ", ".join(f"${{{v}}}" for v in sorted(known)) or "none (no pod has an IP yet)"
        return text, (f"your answer uses {', '.join(f'${{{v}}}' for v in unknown)}: no pod of this namespace "
                      f"goes by that variable; the variables are {listed} (a pod's name in capitals, - as _, "
                      "then _IP)")
    return _VARIABLE.sub(lambda m: known[m.group(1)], text), None
