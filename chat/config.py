"""What the real-time side needs to know, built by the web layer from its settings."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True, kw_only=True)
class ChatConfig:
    """The broker, the per-connection limits and the presence TTL of one process."""

    redis_url: str | None = None
    redis_prefix: str = "wp"
    send_burst: int = 50
    send_rate: float = 20.0
    frame_burst: int = 200
    frame_rate: float = 50.0
    backlog_cap: int = 1000
    ws_queue_frames: int = 2000
    presence_ttl_seconds: float = 30.0
