"""OpenAPI v3 for `kubectl explain`: real kube-apiserver documents for core/v1 and apps/v1, gzipped."""

from __future__ import annotations

import gzip
import hashlib
import threading
from importlib import resources as package_files

from kro.democluster.messages import JSON, Request, Response, json_response
from kro.democluster.status import page_not_found

_DOCS = {"api/v1": "openapi-v3-api-v1.json.gz", "apis/apps/v1": "openapi-v3-apis-apps-v1.json.gz"}


class OpenAPI:
    """Loads the bundled documents on first use and serves the index and each group-version."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._gz: dict[str, tuple[bytes, str]] = {}

    def _load(self) -> dict[str, tuple[bytes, str]]:
        with self._lock:
            if not self._gz:
                folder = package_files.files("kro.democluster").joinpath("data")
                for path, name in _DOCS.items():
                    data = folder.joinpath(name).read_bytes()
                    self._gz[path] = (data, hashlib.sha512(data).hexdigest().upper())
            return self._gz

    def handle(self, rest: str, req: Request, accept_gzip: bool) -> Response:
        """Answer /openapi/v3 (rest == "") or /openapi/v3/<group-version>."""
        docs = self._load()
        if not rest:
            paths = {p: {"serverRelativeURL": f"/openapi/v3/{p}?hash={h}"} for p, (_, h) in docs.items()}
            return json_response({"paths": paths})
        if rest not in docs:
            raise page_not_found()
        data, digest = docs[rest]
        headers = {"Etag": f'"{digest}"', "Vary": "Accept"}
        if req.param("hash") == digest:
            headers["Cache-Control"] = "public, immutable"
            headers["Expires"] = "Thu, 01 Jan 2099 00:00:00 GMT"
        if accept_gzip:
            headers["Content-Encoding"] = "gzip"
            return Response(200, data, JSON, headers=headers)
        return Response(200, gzip.decompress(data), JSON, headers=headers)
