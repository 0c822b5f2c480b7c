"""The HTTP client that posts pushes: only to public addresses, never following a redirect.

A push endpoint is an address a member's browser handed us, so the server must not let it
point anywhere inside the network: `POST /api/me/push` refuses private literals and names
like `localhost` (`check_host`), and this client refuses, when it connects, a name that
resolves to a non-public address (DNS may change after the check) and any redirect (a
public host could send the request on inwards). Loopback is allowed only for the tests'
local push service (`WERKPLAATS_PUSH_ALLOW_LOOPBACK`).
"""

from __future__ import annotations

import ipaddress
import socket
from types import SimpleNamespace

import aiohttp
from aiohttp.abc import ResolveResult
from aiohttp.resolver import ThreadedResolver

PUSH_TIMEOUT = 10.0
_LOCAL_SUFFIXES = (".localhost", ".local", ".internal")


class NotPublic(aiohttp.ClientError):
    """The push endpoint leads to an address inside the network, or redirects."""


def public_address(host: str, allow_loopback: bool = False) -> bool:
    """Whether an IP address (text) is one on the public internet (or loopback, if allowed)."""
    try:
        address = ipaddress.ip_address(host.strip("[]").split("%")[0])
    except ValueError:
        return False
    return address.is_global or (allow_loopback and address.is_loopback)


def local_name(host: str) -> bool:
    host = host.lower().rstrip(".")
    return host == "localhost" or host.endswith(_LOCAL_SUFFIXES)


class PublicResolver(ThreadedResolver):
    """DNS answers with only public addresses; none left is a connection error."""

    def __init__(self, allow_loopback: bool) -> None:
        super().__init__()
        self.allow_loopback = allow_loopback

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        found = await super().resolve(host, port, family)
        kept = [r for r in found if public_address(r["host"], self.allow_loopback)]
        if not kept:
            raise NotPublic(f"{host} resolves to no public address")
        return kept


def push_session(allow_loopback: bool) -> aiohttp.ClientSession:
    """A session for push services: public addresses only, no redirects, no cookies."""
    allow = allow_loopback

    async def on_start(
        session: aiohttp.ClientSession,
        ctx: SimpleNamespace,
        params: aiohttp.TraceRequestStartParams,
    ) -> None:
        host = params.url.host or ""
        # A literal address never reaches the resolver: judge it here.
        if local_name(host) or (is_ip(host) and not public_address(host, allow)):
            raise NotPublic(f"{host} is no public address")

    async def on_redirect(
        session: aiohttp.ClientSession,
        ctx: SimpleNamespace,
        params: aiohttp.TraceRequestRedirectParams,
    ) -> None:
        raise NotPublic("push services answer, they do not redirect")

    trace = aiohttp.TraceConfig()
    trace.on_request_start.append(on_start)
    trace.on_request_redirect.append(on_redirect)
    return aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(resolver=PublicResolver(allow), limit=32),
        cookie_jar=aiohttp.DummyCookieJar(),
        timeout=aiohttp.ClientTimeout(total=PUSH_TIMEOUT),
        trace_configs=[trace],
        trust_env=False,
    )


def is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host.strip("[]").split("%")[0])
    except ValueError:
        return False
    return True
