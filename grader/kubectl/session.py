"""What every offline command works with: the model, the notebook's namespace, the clock,
and the parsed command line."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from grader.kubectl.ages import Ages, ages_for
from grader.kubectl.argv import Invocation
from grader.kubectl.result import KubectlError


@dataclass
class Session:
    """One kubectl invocation in progress: the namespace it acts on, its parsed words, stdin,
    and what it writes."""

    ns: Any                    # the OfflineNamespace the notebook uses
    inv: Invocation
    stdin: str | None = None
    clock: Any = None
    out: list[str] = field(default_factory=list)
    err: list[str] = field(default_factory=list)
    #: every write in order, for Result.combined
    log: list[str] = field(default_factory=list)

    @property
    def cluster(self) -> Any:
        return self.ns.cluster

    @property
    def state(self) -> Any:
        return self.ns.cluster.state

    @property
    def ages(self) -> Ages:
        return ages_for(self.state, self.clock)

    @property
    def now(self) -> float:
        return self.ages.clock()

    @property
    def namespace(self) -> str:
        """-n/--namespace, else the notebook's namespace."""
        return str(self.inv.flag("namespace") or self.ns.name)

    @property
    def all_namespaces(self) -> bool:
        return bool(self.inv.flag("all-namespaces"))

    def namespace_handle(self, name: str | None = None) -> Any:
        """An OfflineNamespace for `name` (default: the command's namespace) in the same
        cluster, without creating or emptying it."""
        from grader.cluster.offline import OfflineNamespace
        name = name or self.namespace
        if name == self.ns.name:
            return self.ns
        if name not in self.state.namespaces:
            raise KubectlError(f'Error from server (NotFound): namespaces "{name}" not found')
        return OfflineNamespace(self.cluster, name)

    def write(self, text: str) -> None:
        """stdout, as is."""
        self.out.append(text)
        self.log.append(text)

    def print(self, text: str) -> None:
        """stdout, one line."""
        self.write(text if text.endswith("\n") or not text else text + "\n")

    def warn(self, text: str) -> None:
        """stderr, one line."""
        line = text if text.endswith("\n") else text + "\n"
        self.err.append(line)
        self.log.append(line)
