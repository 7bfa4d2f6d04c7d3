"""Shared setup for the kubectl tests: an offline namespace with the course's usual objects
and a clock the test controls (AGE is computed from it)."""
from __future__ import annotations

from grader.cluster.offline import OfflineCluster
from grader.kind.images import AGNHOST_IMAGE
from grader.kubectl.ages import ages_for

AGNHOST = AGNHOST_IMAGE

APP = f"""
apiVersion: apps/v1
kind: Deployment
metadata: {{name: hello, labels: {{app: hello}}}}
spec:
  replicas: 3
  selector: {{matchLabels: {{app: hello}}}}
  template:
    metadata: {{labels: {{app: hello}}}}
    spec:
      containers:
      - name: web
        image: {AGNHOST}
        args: ["netexec", "--http-port=8080"]
        ports: [{{name: http, containerPort: 8080}}]
---
apiVersion: v1
kind: Pod
metadata: {{name: client, labels: {{app: client}}}}
spec:
  containers: [{{name: shell, image: {AGNHOST}, args: [pause]}}]
---
apiVersion: v1
kind: Service
metadata: {{name: hello}}
spec:
  selector: {{app: hello}}
  ports: [{{port: 80, targetPort: http}}]
"""


class Clock:
    def __init__(self, t: float = 1_800_000_000.0) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


def make_ns(name: str = "demo", manifests: str = APP):
    cluster = OfflineCluster()
    ns = cluster.namespace(name)
    clock = Clock()
    ages_for(cluster.state, clock)
    if manifests:
        ns.apply(manifests)
    return ns, clock


def columns(header: str) -> list[int]:
    """Start offsets of the columns of a kubectl table header."""
    import re
    return [m.start() for m in re.finditer(r"(?:^|(?<=\s\s))(\S+(?: \S+)?)", header)]
