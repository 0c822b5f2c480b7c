"""The web client's files under a content-hashed prefix, so an upgrade never mixes versions.

At start the whole static tree is hashed once. Its files are served under
`/static/<version>/…` with `Cache-Control: public, max-age=31536000, immutable`: a URL
names exactly one content for ever. `index.html` is rendered with that prefix and served
with `no-cache` and an ETag, so browsers revalidate it each time (304 when unchanged) and
pick up a new version at once. The client's modules import each other relatively, so
every module of a page comes from the same version. An unknown version is a 404, never
today's file under yesterday's name (that would be cached for a year). The old
unversioned `/static/…` keeps working, revalidated (`no-cache`).
"""

from __future__ import annotations

import hashlib
import re
from collections import deque
from dataclasses import dataclass
from os import PathLike, stat_result
from pathlib import Path

from starlette.requests import Request
from starlette.responses import Response
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

IMMUTABLE = "public, max-age=31536000, immutable"
REVALIDATE = "no-cache"
# Hex digits of the content hash in the URL: 48 bits, enough to never repeat by chance.
VERSION_CHARS = 12
PREFIX = "/static/"
# The page's one module script: its import graph is announced to the browser up front.
ENTRY = "app.js"
ENTRY_TAG = f'<script type="module" src="{PREFIX}{ENTRY}"></script>'
# A static import or re-export of a relative module (`import … from "./x.js"`, `import "./x.js"`).
_IMPORT = re.compile(r"""(?:\bfrom|^\s*import)\s*["'](\.{1,2}/[^"']+)["']""", re.MULTILINE)


def tree_hash(directory: Path) -> str:
    """A hash over every file's path and content under `directory`, in a fixed order."""
    digest = hashlib.sha256()
    for path in sorted(p for p in directory.rglob("*") if p.is_file()):
        digest.update(path.relative_to(directory).as_posix().encode() + b"\0")
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()[:VERSION_CHARS]


def module_graph(directory: Path, entry: str) -> list[str]:
    """The modules `entry` imports, directly or through others, as paths relative to
    `directory`, nearest first."""
    root = directory.resolve()
    found: dict[str, None] = {}
    todo = deque([entry])
    while todo:
        path = root / todo.popleft()
        for spec in _IMPORT.findall(path.read_text(encoding="utf-8")):
            dep = (path.parent / spec).resolve()
            name = dep.relative_to(root).as_posix()
            if name != entry and name not in found and dep.is_file():
                found[name] = None
                todo.append(name)
    return list(found)


def with_module_preloads(page: str, modules: list[str]) -> str:
    """index.html with a `modulepreload` for every module of the page's graph: the browser
    fetches them all at once instead of one level of imports per round trip."""
    links = "".join(f'<link rel="modulepreload" href="{PREFIX}{m}">\n  ' for m in modules)
    return page.replace(ENTRY_TAG, links + ENTRY_TAG, 1)


@dataclass(frozen=True, slots=True)
class Assets:
    """The static tree's version, and index.html rendered to point into it."""

    directory: Path
    version: str
    index_html: bytes
    etag: str

    @property
    def prefix(self) -> str:
        """The URL path under which this version's files are served."""
        return f"{PREFIX}{self.version}"

    @classmethod
    def load(cls, directory: Path) -> Assets:
        """Hash the tree and render index.html with the versioned prefix."""
        version = tree_hash(directory)
        page = (directory / "index.html").read_text(encoding="utf-8")
        page = with_module_preloads(page, module_graph(directory, ENTRY))
        rendered = page.replace(f'"{PREFIX}', f'"{PREFIX}{version}/').encode()
        etag = '"' + hashlib.sha256(rendered).hexdigest()[:32] + '"'
        return cls(directory, version, rendered, etag)

    def index(self, request: Request) -> Response:
        """index.html: always revalidated; 304 when the browser holds this very page."""
        headers = {"Cache-Control": REVALIDATE, "ETag": self.etag}
        held = {
            t.strip().removeprefix("W/")
            for t in request.headers.get("if-none-match", "").split(",")
        }
        if self.etag in held or "*" in held:
            return Response(status_code=304, headers=headers)
        return Response(self.index_html, media_type="text/html", headers=headers)


class CachedStatic(StaticFiles):
    """StaticFiles that sets one `Cache-Control` on every file it answers with."""

    def __init__(self, *, directory: Path, cache_control: str) -> None:
        super().__init__(directory=directory, check_dir=False)
        self.cache_control = cache_control

    def file_response(
        self,
        full_path: str | PathLike[str],
        stat_result: stat_result,
        scope: Scope,
        status_code: int = 200,
    ) -> Response:
        response = super().file_response(full_path, stat_result, scope, status_code)
        response.headers["Cache-Control"] = self.cache_control
        return response
