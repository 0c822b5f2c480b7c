"""A push service on loopback that plays the browser: it checks each push's VAPID token
(RFC 8292) and decrypts its body (RFC 8291) with the subscription's private key."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import http_ece
from aiohttp import web
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from tests.helpers import free_port


def b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass
class Browser:
    """One subscription: the keys a browser would make, and what reached it."""

    name: str
    endpoint: str
    key: ec.EllipticCurvePrivateKey = field(
        default_factory=lambda: ec.generate_private_key(ec.SECP256R1())
    )
    auth: bytes = field(default_factory=lambda: os.urandom(16))
    answer: int = 201
    # Answer with a redirect to this address instead (a push service must not be followed).
    redirect: str | None = None
    got: list[dict[str, Any]] = field(default_factory=list)

    def subscription(self) -> dict[str, Any]:
        point = self.key.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )
        return {"endpoint": self.endpoint, "keys": {"p256dh": b64(point), "auth": b64(self.auth)}}


class PushService:
    def __init__(self, base: str) -> None:
        self.base = base
        self.browsers: dict[str, Browser] = {}
        self.server_key: str | None = None
        self.arrived = asyncio.Event()
        self.refused: list[str] = []
        # Called as each push arrives (while the server awaits the answer).
        self.during: Callable[[], None] = lambda: None

    def browser(self, name: str) -> Browser:
        b = Browser(name, f"{self.base}/push/{name}")
        self.browsers[name] = b
        return b

    async def handle(self, request: web.Request) -> web.Response:
        self.during()
        b = self.browsers.get(request.match_info["name"])
        if b is None:
            return web.Response(status=404)
        if b.redirect is not None:
            self.refused.append(f"redirected {b.name}")
            return web.Response(status=307, headers={"Location": b.redirect})
        problem = self.check_vapid(request.headers.get("Authorization", ""))
        if problem:
            self.refused.append(problem)
            return web.Response(status=401, text=problem)
        if request.headers.get("Content-Encoding") != "aes128gcm" or "TTL" not in request.headers:
            self.refused.append("headers")
            return web.Response(status=400)
        body = await request.read()
        plain = http_ece.decrypt(body, private_key=b.key, auth_secret=b.auth, version="aes128gcm")
        if b.answer < 300:
            b.got.append(json.loads(plain))
        self.arrived.set()
        return web.Response(status=b.answer)

    def check_vapid(self, header: str) -> str:
        """'' when the token is signed by the server's key for this origin, else why not."""
        scheme, _, params = header.partition(" ")
        if scheme.lower() != "vapid":
            return "not vapid"
        parts = dict(p.strip().split("=", 1) for p in params.split(","))
        if parts.get("k") != self.server_key:
            return "another key than GET /api/push/key"
        head, claims, signature = parts["t"].split(".")
        public = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), unb64(parts["k"]))
        raw = unb64(signature)
        der = encode_dss_signature(int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big"))
        try:
            public.verify(der, f"{head}.{claims}".encode(), ec.ECDSA(hashes.SHA256()))
        except Exception:
            return "bad signature"
        if json.loads(unb64(head)).get("alg") != "ES256":
            return "not ES256"
        c = json.loads(unb64(claims))
        if c.get("aud") != self.base or not str(c.get("sub", "")).startswith(("mailto:", "https:")):
            return f"bad claims {c}"
        if not time.time() < c["exp"] <= time.time() + 24 * 3600:
            return "bad exp"
        return ""

    async def wait(
        self, browser: Browser, count: int = 1, timeout: float = 10
    ) -> list[dict[str, Any]]:
        """Until `browser` has `count` pushes; returns them."""
        async with asyncio.timeout(timeout):
            while len(browser.got) < count:
                self.arrived.clear()
                await self.arrived.wait()
        return browser.got


@asynccontextmanager
async def push_service() -> AsyncIterator[PushService]:
    port = free_port()
    service = PushService(f"http://127.0.0.1:{port}")
    app = web.Application()
    app.router.add_post("/push/{name}", service.handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        yield service
    finally:
        await runner.cleanup()
