"""Plain HTTPS requests to the local cluster's API server with the admin certificate (the
kubernetes client is the live backend's; starting the cluster needs only a few calls)."""

from __future__ import annotations

import json
import ssl
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any


class Api:
    def __init__(self, server: str, pki: Path) -> None:
        self.server = server
        self._tls = ssl.create_default_context(cafile=str(pki / "ca.crt"))
        self._tls.load_cert_chain(str(pki / "admin.crt"), str(pki / "admin.key"))

    def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        timeout: float = 30.0,
        content_type: str = "application/json",
    ) -> tuple[int, dict]:
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(
            self.server + path,
            data=data,
            method=method,
            headers={"Content-Type": content_type, "Accept": "application/json"},
        )
        try:
            with urllib.request.urlopen(req, timeout=timeout, context=self._tls) as resp:  # noqa: S310
                raw = resp.read()
                try:
                    return resp.status, json.loads(raw or b"{}")
                except ValueError:
                    return resp.status, {"text": raw.decode(errors="replace")}
        except urllib.error.HTTPError as exc:
            raw = exc.read()
            try:
                return exc.code, json.loads(raw)
            except ValueError:
                return exc.code, {"message": raw.decode(errors="replace")}

    def get(self, path: str) -> dict | None:
        code, body = self.request("GET", path)
        return body if code == 200 else None

    def create(self, path: str, obj: dict) -> dict:
        """POST; an object that already exists is left as it is."""
        code, body = self.request("POST", path, obj)
        if code in (200, 201, 409):
            return body
        name = obj.get("metadata", {}).get("name")
        raise RuntimeError(f"could not create {obj.get('kind')} {name}: {code} {body.get('message')}")
