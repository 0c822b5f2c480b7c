"""Security headers on every HTTP answer: the CSP, HSTS over https, `no-store` on the API.

The CSP's `connect-src` names only the WebSocket URLs of the allowed origins (the
configured ones, else the address the server listens on), so a page that some injected
script tried to turn into a relay can reach no other host. HSTS is sent when the request
arrived over https: directly over TLS, or through a trusted proxy whose
`X-Forwarded-Proto: https` uvicorn's proxy-headers middleware has already applied to the
scope. API answers carry personal data and session tokens: no cache may keep them.
"""

from __future__ import annotations

from starlette.requests import HTTPConnection
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from web.auth import own_origins
from web.settings import Settings

# One year: what browsers' preload lists ask for; a shorter one leaves a gap after each expiry.
HSTS = (b"strict-transport-security", b"max-age=31536000")
NO_STORE = (b"cache-control", b"no-store")
FIXED = [
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
    (b"cross-origin-opener-policy", b"same-origin"),
]
# Listening addresses seen when no origin is configured: a server has one or two.
_MAX_CACHED = 16


def websocket_origin(origin: str) -> str:
    """`https://host` as `wss://host`, `http://host` as `ws://host`."""
    return "ws" + origin.removeprefix("http")


def content_security_policy(origins: tuple[str, ...]) -> str:
    """The CSP for a page that may open WebSockets only to these (http/https) origins."""
    # 'self' covers fetch() to the page's own origin; the WebSocket URLs are listed because
    # older browsers (before CSP level 3) do not let 'self' match ws: or wss:.
    connect = " ".join(["'self'", *dict.fromkeys(websocket_origin(o) for o in origins)])
    return (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        f"connect-src {connect}; frame-ancestors 'none'; base-uri 'none'; "
        "form-action 'self'; object-src 'none'"
    )


class SecurityHeaders:
    """Pure-ASGI middleware that adds the security headers to every HTTP response start."""

    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.settings = settings
        configured = settings.origins()
        self.fixed_csp = self._csp_header(configured) if configured else None
        self.by_listener: dict[tuple[object, ...], tuple[bytes, bytes]] = {}

    @staticmethod
    def _csp_header(origins: tuple[str, ...]) -> tuple[bytes, bytes]:
        return (b"content-security-policy", content_security_policy(origins).encode())

    def _csp(self, scope: Scope) -> tuple[bytes, bytes]:
        if self.fixed_csp is not None:
            return self.fixed_csp
        key = (scope.get("scheme"), scope.get("server"))
        found = self.by_listener.get(key)
        if found is None:
            found = self._csp_header(own_origins(HTTPConnection(scope)))
            if len(self.by_listener) < _MAX_CACHED:
                self.by_listener[key] = found
        return found

    def headers_for(
        self, scope: Scope, present: list[tuple[bytes, bytes]]
    ) -> list[tuple[bytes, bytes]]:
        """The headers to add to a response to `scope` that already has `present`."""
        added = [self._csp(scope), *FIXED]
        if scope.get("scheme") == "https":
            added.append(HSTS)
        if scope["path"].startswith("/api/") and not any(
            name.lower() == b"cache-control" for name, _ in present
        ):
            added.append(NO_STORE)
        # A response's own header (a download's stricter CSP) is not sent twice.
        own = {name.lower() for name, _ in present}
        return [h for h in added if h[0] not in own]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                present = list(message.get("headers", []))
                message["headers"] = present + self.headers_for(scope, present)
            await send(message)

        await self.app(scope, receive, send_with_headers)
