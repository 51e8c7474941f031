"""Static files: compressed once, cached for a year under URLs that carry their content hash.

Pages link ``static_url("app.css")`` → ``/static/app.3f2a9c1b7d0e.css``. Such a URL never
changes meaning, so browsers keep it (``immutable``) and a new release's files arrive under
new URLs. Plain URLs (``/static/app.css``) keep working with revalidation (ETag), for links
that cannot carry the hash. Each file is read, hashed and compressed (brotli and gzip) once
per process, the first time it is asked for, and then answered from memory: a pure ASGI app
in front of nothing, so no request of the JSON API passes through it.
"""

from __future__ import annotations

import gzip
import hashlib
import mimetypes
import re
import threading
from dataclasses import dataclass, field
from email.utils import formatdate
from pathlib import Path

import anyio
import brotli
from starlette.types import Receive, Scope, Send

_HASHED = re.compile(r"^(?P<stem>.+)\.(?P<digest>[0-9a-f]{12})(?P<suffix>\.[A-Za-z0-9]+)$")
_COMPRESSIBLE = {".css", ".js", ".svg", ".json", ".txt", ".html", ".map", ".ico", ".webmanifest"}
_IMMUTABLE = b"public, max-age=31536000, immutable"
_REVALIDATE = b"public, no-cache"
_TYPES = {".webmanifest": "application/manifest+json", ".ico": "image/x-icon"}
# Large bundles (the API documentation's) compress at a lower brotli quality: quality 11
# takes seconds per megabyte, and they are asked for once per worker.
_BROTLI_QUALITY_LIMIT = 256 * 1024
# ReDoc draws its maker's logo from a CDN in the sidebar of every page. No page of this
# service asks another host for anything: with an empty address the image fails at once and
# ReDoc hides it (its own error handler), and no request leaves the browser.
_NO_REMOTE_FETCHES = {
    "redoc.standalone.js": ((b"https://cdn.redoc.ly/redoc/logo-mini.svg", b""),),
}


@dataclass
class Asset:
    path: Path
    digest: str
    media_type: str
    identity: bytes
    last_modified: str
    encoded: dict[str, bytes] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def etag(self) -> bytes:
        return f'"{self.digest}"'.encode()

    def body(self, encoding: str) -> bytes:
        """The file in ``encoding`` (``br``, ``gzip`` or ``identity``), made on first use."""
        if encoding == "identity":
            return self.identity
        with self._lock:
            if encoding not in self.encoded:
                self.encoded[encoding] = self._compress(encoding)
            return self.encoded[encoding]

    def compressible(self) -> bool:
        return self.path.suffix.lower() in _COMPRESSIBLE and len(self.identity) > 512

    def _compress(self, encoding: str) -> bytes:
        if encoding == "br":
            quality = 11 if len(self.identity) <= _BROTLI_QUALITY_LIMIT else 9
            return bytes(brotli.compress(self.identity, quality=quality))
        return gzip.compress(self.identity, compresslevel=9, mtime=0)


class StaticAssets:
    """The ASGI app mounted at ``/static``: ``directories`` maps a URL folder ("" for the top)
    to where its files are."""

    def __init__(self, directories: dict[str, Path]) -> None:
        self.directories = {prefix.strip("/"): root for prefix, root in directories.items()}
        self._assets: dict[str, Asset] = {}
        self._lock = threading.Lock()

    # --- finding files ------------------------------------------------------------------------

    def _locate(self, name: str) -> Path | None:
        for prefix, root in self.directories.items():
            if prefix and not name.startswith(prefix + "/"):
                continue
            relative = name[len(prefix) + 1 :] if prefix else name
            candidate = (root / relative).resolve()
            if candidate.is_file() and candidate.is_relative_to(root.resolve()):
                return candidate
        return None

    def asset(self, name: str) -> Asset | None:
        """The file at ``name`` (relative to /static), read and hashed once."""
        if ".." in name.split("/") or name.startswith("/") or "\\" in name:
            return None
        with self._lock:
            if name in self._assets:
                return self._assets[name]
        path = self._locate(name)
        found = None
        if path is not None:
            content = path.read_bytes()
            for remote, local in _NO_REMOTE_FETCHES.get(path.name, ()):
                content = content.replace(remote, local)
            suffix = path.suffix.lower()
            media_type = _TYPES.get(suffix) or mimetypes.guess_type(path.name)[0]
            media_type = media_type or "application/octet-stream"
            if media_type.startswith("text/") or media_type in (
                "application/javascript",
                "image/svg+xml",
            ):
                media_type += "; charset=utf-8"
            found = Asset(
                path=path,
                digest=hashlib.sha256(content).hexdigest()[:12],
                media_type=media_type,
                identity=content,
                last_modified=formatdate(path.stat().st_mtime, usegmt=True),
            )
        if found is not None:  # misses are not remembered: names are the client's to invent
            with self._lock:
                self._assets[name] = found
        return found

    def url(self, name: str) -> str:
        """The versioned URL of a static file; raises for a file that does not exist, so a
        wrong name in a template fails in the tests rather than in a visitor's browser."""
        found = self.asset(name)
        if found is None:
            raise FileNotFoundError(f"no static file {name}")
        folder, _, filename = name.rpartition("/")
        stem, dot, suffix = filename.rpartition(".")
        hashed = f"{stem}.{found.digest}.{suffix}" if dot else f"{filename}.{found.digest}"
        return f"/static/{folder}/{hashed}" if folder else f"/static/{hashed}"

    # --- answering ----------------------------------------------------------------------------

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        assert scope["type"] == "http"
        if scope["method"] not in ("GET", "HEAD"):
            await _plain(send, 405, b"Method Not Allowed", [(b"allow", b"GET, HEAD")])
            return
        name = scope["path"][len(scope.get("root_path", "")) :].lstrip("/")
        if name.startswith("static/"):
            name = name[len("static/") :]
        immutable = False
        found = self.asset(name)
        if found is None:
            folder, slash, filename = name.rpartition("/")
            match = _HASHED.match(filename)
            if match is not None:
                original = f"{folder}{slash}{match['stem']}{match['suffix']}"
                found = self.asset(original)
                # Another release's URL (a page cached before a deploy) still gets today's
                # file, but not to keep for a year.
                immutable = found is not None and found.digest == match["digest"]
        if found is None:
            await _plain(send, 404, b"Not Found")
            return
        headers = [
            (b"content-type", found.media_type.encode()),
            (b"cache-control", _IMMUTABLE if immutable else _REVALIDATE),
            (b"etag", found.etag),
            (b"last-modified", found.last_modified.encode()),
        ]
        if found.compressible():
            headers.append((b"vary", b"Accept-Encoding"))
        request_headers = dict(scope["headers"])
        if found.etag in _etags(request_headers.get(b"if-none-match", b"")):
            await send({"type": "http.response.start", "status": 304, "headers": headers})
            await send({"type": "http.response.body", "body": b""})
            return
        encoding = "identity"
        if found.compressible():
            encoding = _encoding(request_headers.get(b"accept-encoding", b""))
        if encoding == "identity" or encoding in found.encoded:
            body = found.body(encoding)
        else:
            # Compressing a large bundle takes a while: never on the event loop.
            body = await anyio.to_thread.run_sync(found.body, encoding)
        if encoding != "identity":
            headers.append((b"content-encoding", encoding.encode()))
        headers.append((b"content-length", str(len(body)).encode()))
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send(
            {"type": "http.response.body", "body": b"" if scope["method"] == "HEAD" else body}
        )


def _etags(header: bytes) -> set[bytes]:
    return {part.strip().removeprefix(b"W/") for part in header.split(b",") if part.strip()}


def _encoding(header: bytes) -> str:
    """``br`` if the client takes it, else ``gzip``, else ``identity`` (quality 0 refuses)."""
    accepted: dict[str, float] = {}
    for part in header.decode("latin-1").split(","):
        name, _, params = part.strip().partition(";")
        quality = 1.0
        params = params.strip()
        if params.startswith("q="):
            try:
                quality = float(params[2:])
            except ValueError:
                quality = 0.0
        if name.strip():
            accepted[name.strip().lower()] = quality
    for encoding in ("br", "gzip"):
        if accepted.get(encoding, accepted.get("*", 0.0)) > 0:
            return encoding
    return "identity"


async def _plain(
    send: Send, status: int, text: bytes, extra: list[tuple[bytes, bytes]] | None = None
) -> None:
    headers = [
        (b"content-type", b"text/plain; charset=utf-8"),
        (b"content-length", str(len(text)).encode()),
        *(extra or []),
    ]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": text})


_shared: StaticAssets | None = None
_shared_lock = threading.Lock()


def docs_assets_dir() -> Path:
    """Swagger UI and ReDoc, as the fastapi-offline package ships them (with their licences)."""
    import fastapi_offline

    return Path(fastapi_offline.__file__).resolve().parent / "static"


def assets() -> StaticAssets:
    """This process's static files: the project's, and Swagger UI's and ReDoc's under
    api-docs/ (beside the project's own start-up scripts there)."""
    global _shared
    with _shared_lock:
        if _shared is None:
            from reservations import resources

            _shared = StaticAssets({"": resources.static_dir(), "api-docs": docs_assets_dir()})
        return _shared


def static_url(name: str) -> str:
    return assets().url(name)


class Alias:
    """A fixed address (``/favicon.ico``) answering with one static file (an ASGI app, so
    Starlette routes to it as it is)."""

    def __init__(self, name: str) -> None:
        self.path = f"/static/{name}"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await assets()(dict(scope, path=self.path, root_path=""), receive, send)
