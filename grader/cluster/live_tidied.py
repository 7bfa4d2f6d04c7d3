"""A live namespace after its notebook's tidy-up cell (`ns.delete()`).

Listing a deleted namespace on a real API server returns an empty list, not an error, so a
cell re-run above the tidy-up used to die with a bare StopIteration (notebook 09's
`next(p.ip for p in ns.pods() if p.name == "db")`). Offline, the model raises
NamespaceDeleted; this gives the live backend the same sentence."""
from __future__ import annotations

from typing import Any

from grader.cluster.base import NamespaceDeleted


class DeletedNamespaceApi:
    """Stands in for a LiveNamespace's API wrapper once `ns.delete()` removed the namespace:
    every use raises NamespaceDeleted while the namespace is gone or terminating, and hands
    the call to the real wrapper once `cluster.namespace(name)` has created it again."""

    def __init__(self, name: str, api: Any) -> None:
        self._name = name
        self._api = api

    @classmethod
    def after_deleting(cls, name: str, api: Any) -> Any:
        """Delete namespace `name` (a second tidy-up is harmless) and return the stand-in, typed
        as the wrapper it stands in for."""
        api.delete_namespace(name)
        return cls(name, api)

    def __getattr__(self, attr: str) -> Any:
        found = self._api.read_namespace(self._name)
        if found is None or (found.get("metadata") or {}).get("deletionTimestamp"):
            raise NamespaceDeleted(self._name)
        return getattr(self._api, attr)
