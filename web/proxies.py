"""The proxies whose `X-Forwarded-For`/`-Proto` uvicorn believes, in the form it reads.

uvicorn (checked against 0.55) parses a network strictly: `10.0.0.1/8`, which the settings
accept, would become a literal that no address ever equals, and the proxy would silently
stay untrusted. `*` is honoured only on its own. Both are normalised here.
"""

from __future__ import annotations

import ipaddress


def forwarded_allow_ips(trusted: tuple[str, ...]) -> list[str] | str:
    """`WERKPLAATS_TRUSTED_PROXIES` as uvicorn's `forwarded_allow_ips`."""
    if "*" in trusted:
        return "*"
    return [str(ipaddress.ip_network(proxy.strip(), strict=False)) for proxy in trusted]
