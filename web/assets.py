"""The web client's files under a content-hashed prefix, so an upgrade never mixes versions.

At start the whole static tree is hashed once. Its files are served under
`/static/<version>/…` with `Cache-Control: public, max-age=31536000, immutable`: a URL
names exactly one content for ever. `index.html` is rendered with that prefix and served
with `no-cache` and an ETag, so browsers revalidate it each time (304 when unchanged) and
pick up a new version at once. The client's modules import each other relatively, so
every module of a page comes from the same version. An unknown version is a 404, never
today's file under yesterday's name (that would be cached for a year). The old
unversioned `/static/…` keeps working, revalidated (`no-cache`).

The files are served from the bytes that were hashed (`StaticTree`): a version's URL then
names that content even if the file on disk changes, and a request costs no thread hops
for a stat, an open and a read (the tree is small: the client's modules, styles, icons).
"""

from __future__ import annotations

import hashlib
import mimetypes
import posixpath
import re
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

IMMUTABLE = "public, max-age=31536000, immutable"
REVALIDATE = "no-cache"
# Hex digits of the content hash in the URL: 48 bits, enough to never repeat by chance.
VERSION_CHARS = 12
PREFIX = "/static/"
# The page's one module script: its import graph is announced to the browser up front.
ENTRY = "app.js"
ENTRY_TAG = f'<script type="module" src="{PREFIX}{ENTRY}"></script>'
# A static import or re-export of a relative module (`import … from "./x.js"`, `import "./x.js"`).
# No word boundary or line anchor: the literal start lets the scan skip ahead, four times
# faster, and every process (and every in-process test server) scans at start.
_IMPORT = re.compile(r"""(?:from|import)\s*["'](\.\.?/[^"']+)["']""")


@dataclass(frozen=True, slots=True)
class StaticFile:
    """One file of the tree as it is served."""

    body: bytes
    media_type: str
    etag: str


def read_tree(directory: Path) -> tuple[str, dict[str, StaticFile]]:
    """The tree's version (a hash over every file's path and content, in a fixed order)
    and its files by path relative to `directory`."""
    digest = hashlib.sha256()
    files: dict[str, StaticFile] = {}
    for path in sorted(p for p in directory.rglob("*") if p.is_file()):
        name = path.relative_to(directory).as_posix()
        body = path.read_bytes()
        own = hashlib.sha256(body)
        digest.update(name.encode() + b"\0")
        digest.update(own.digest())
        media_type = mimetypes.guess_type(name)[0] or "application/octet-stream"
        files[name] = StaticFile(body, media_type, f'"{own.hexdigest()[:32]}"')
    return digest.hexdigest()[:VERSION_CHARS], files


def module_graph(files: Mapping[str, StaticFile], entry: str) -> list[str]:
    """The modules `entry` imports, directly or through others, as paths of `files`,
    nearest first."""
    found: dict[str, None] = {}
    todo = deque([entry])
    while todo:
        name = todo.popleft()
        for spec in _IMPORT.findall(files[name].body.decode("utf-8")):
            dep = posixpath.normpath(posixpath.join(posixpath.dirname(name), spec))
            if dep != entry and dep not in found and dep in files:
                found[dep] = None
                todo.append(dep)
    return list(found)


def with_module_preloads(page: str, modules: list[str]) -> str:
    """index.html with a `modulepreload` for every module of the page's graph: the browser
    fetches them all at once instead of one level of imports per round trip."""
    links = "".join(f'<link rel="modulepreload" href="{PREFIX}{m}">\n  ' for m in modules)
    return page.replace(ENTRY_TAG, links + ENTRY_TAG, 1)


@dataclass(frozen=True, slots=True)
class Assets:
    """The static tree's version, and index.html rendered to point into it."""

    version: str
    index_html: bytes
    etag: str
    files: Mapping[str, StaticFile]

    @property
    def prefix(self) -> str:
        """The URL path under which this version's files are served."""
        return f"{PREFIX}{self.version}"

    @classmethod
    def load(cls, directory: Path) -> Assets:
        """Hash the tree and render index.html with the versioned prefix."""
        version, files = read_tree(directory)
        page = files["index.html"].body.decode("utf-8")
        page = with_module_preloads(page, module_graph(files, ENTRY))
        rendered = page.replace(f'"{PREFIX}', f'"{PREFIX}{version}/').encode()
        etag = '"' + hashlib.sha256(rendered).hexdigest()[:32] + '"'
        return cls(version, rendered, etag, files)

    def index(self, request: Request) -> Response:
        """index.html: always revalidated; 304 when the browser holds this very page."""
        headers = {"Cache-Control": REVALIDATE, "ETag": self.etag}
        if not_modified(request.headers.get("if-none-match", ""), self.etag):
            return Response(status_code=304, headers=headers)
        return Response(self.index_html, media_type="text/html", headers=headers)


def not_modified(request_etags: str, etag: str) -> bool:
    """Whether an `If-None-Match` header names `etag` (weak or strong) or is `*`."""
    held = {t.strip().removeprefix("W/") for t in request_etags.split(",")}
    return etag in held or "*" in held


class StaticTree:
    """The tree's files from memory under a mount, each with one `Cache-Control`."""

    def __init__(self, files: Mapping[str, StaticFile], cache_control: str) -> None:
        self.files = files
        self.cache_control = cache_control

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        # Under a Mount, `root_path` ends with the mount's path and `path` starts with it.
        path = scope["path"][len(scope.get("root_path", "")) :]
        await self.response(scope["method"], path, scope)(scope, receive, send)

    def response(self, method: str, path: str, scope: Scope) -> Response:
        # Raised, as Starlette's StaticFiles does: the app's handler answers in its format.
        if method not in ("GET", "HEAD"):
            raise HTTPException(405, headers={"Allow": "GET, HEAD"})
        found = self.files.get(path.lstrip("/"))
        if found is None:
            raise HTTPException(404)
        headers = {"Cache-Control": self.cache_control, "ETag": found.etag}
        if not_modified(Request(scope).headers.get("if-none-match", ""), found.etag):
            return Response(status_code=304, headers=headers)
        # uvicorn leaves the body out of a HEAD answer, its length stays in the header.
        return Response(found.body, media_type=found.media_type, headers=headers)
