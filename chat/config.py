"""What the real-time side needs to know, built by the web layer from its settings."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True, kw_only=True)
class ChatConfig:
    """The broker, the per-connection limits and the presence TTL of one process."""

    redis_url: str | None
    redis_prefix: str
    send_burst: int
    send_rate: float
    frame_burst: int
    frame_rate: float
    backlog_cap: int
    ws_queue_frames: int
    presence_ttl_seconds: float
    redis_health_seconds: float = 2.0
    # A connection backed up (frames waiting on its paused socket) longer than this is
    # closed with 1013; 0: only a full queue closes it.
    ws_max_lag_seconds: float = 2.0
    # After a room event for many subscribers, the next flush waits this long
    # (chat/outbound.py): a busy room's events then share one write per connection. 0: off.
    ws_fanout_linger_seconds: float = 0.04
