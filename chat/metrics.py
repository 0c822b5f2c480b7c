"""The server's Prometheus metrics, defined once; `web.metrics` serves them at `/metrics`.

Under `werkplaats serve --workers N` prometheus-client runs in its multiprocess mode
(`PROMETHEUS_MULTIPROC_DIR`, set by `serve` before the workers start): each process
writes its values to files there, and a scrape of any worker adds them up. In one
process without that directory the values live in the default registry.

Counting must not slow the fan-out: in multiprocess mode each increment is a locked
write to a memory-mapped file (about a microsecond), and a delivery to 500 subscribers
would pay it 500 times. The per-frame counts therefore go to plain integers in `TALLY`
(tens of nanoseconds) and `flush` moves them into the counters: once a second from the
real-time watch loop, and before every scrape of this process.
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

# -- WebSocket connections --------------------------------------------------------------
CONNECTIONS = Gauge(
    "werkplaats_ws_connections",
    "WebSocket connections open now",
    multiprocess_mode="livesum",
)
FRAMES_RECEIVED = Counter("werkplaats_ws_frames_received", "Frames received from clients")
FRAMES_SENT = Counter(
    "werkplaats_ws_frames_sent", "Frames written to clients (several may share a message)"
)
DELIVERIES = Counter(
    "werkplaats_deliveries", "Live room events handed to a subscribed connection's queue"
)
OVERFLOW_DROPS = Counter(
    "werkplaats_ws_overflow_drops",
    "Ephemeral frames (typing, presence) dropped because a client's queue was full",
)
CLOSES = Counter(
    "werkplaats_ws_closes",
    "WebSocket connections ended, by close code (1013: too slow; 1006: dropped)",
    ["code"],
)
SHED = Counter(
    "werkplaats_ws_shed",
    "Connections closed with 1013 because the server could not keep up with them, by "
    "reason: queue_full (its outbound queue), lag (backed up past ws_max_lag_seconds), "
    "buffered (live events while its backlog was read)",
    ["reason"],
)
OUTBOUND_BACKED_UP = Gauge(
    "werkplaats_ws_outbound_backed_up",
    "Connections whose frames wait on a paused socket (sampled every second)",
    multiprocess_mode="livesum",
)
OUTBOUND_DEEPEST = Gauge(
    "werkplaats_ws_outbound_deepest_frames",
    "Frames waiting in the fullest outbound queue (sampled every second)",
    multiprocess_mode="livemax",
)
OUTBOUND_LAG = Gauge(
    "werkplaats_ws_outbound_lag_seconds",
    "How long the most backed-up connection has had frames waiting (sampled every second)",
    multiprocess_mode="livemax",
)
LOOP_LAG = Gauge(
    "werkplaats_event_loop_lag_seconds",
    "How late the once-a-second watch woke up: the event loop's backlog",
    multiprocess_mode="livemax",
)
TASKS = Gauge(
    "werkplaats_asyncio_tasks",
    "asyncio tasks alive in the event loop (sampled every second): a leak grows it",
    multiprocess_mode="livesum",
)
SETUPS_REFUSED = Counter(
    "werkplaats_ws_setups_refused",
    "WebSocket upgrades refused with 503 because too many set-ups were waiting",
)
SETUPS_ABANDONED = Counter(
    "werkplaats_ws_setups_abandoned",
    "WebSocket upgrades not set up because the client left while they waited their turn",
)

# -- sends ------------------------------------------------------------------------------
SENDS_ACKED = Counter("werkplaats_sends_acked", "Sends stored and acknowledged")
SENDS_REFUSED = Counter(
    "werkplaats_sends_refused", "Sends answered with an error, by its code", ["reason"]
)

# -- services ---------------------------------------------------------------------------
DB_SECONDS = Histogram(
    "werkplaats_db_round_trip_seconds",
    "Time of a database call: a group commit of sends, a connection set-up's read",
    ["op"],
    buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0),
)
BROKER_UP = Gauge(
    "werkplaats_broker_up",
    "1 when the broker (Redis, or the in-process one) is reachable; the lowest of the live "
    "processes",
    multiprocess_mode="livemin",
)
LOGINS = Counter("werkplaats_logins", "Login attempts, by result", ["result"])

# Close codes the server or a well-behaved client uses; any other becomes "other", so that a
# client cannot make a label per value of its choosing.
KNOWN_CLOSE_CODES = frozenset({1000, 1001, 1002, 1003, 1006, 1007, 1008, 1009, 1011, 1012, 1013})


class _Tally:
    """Per-frame counts since the last `flush`, as plain integers (see the module docstring)."""

    __slots__ = ("deliveries", "frames_received", "frames_sent", "overflow_drops", "sends_acked")

    def __init__(self) -> None:
        self.frames_received = 0
        self.frames_sent = 0
        self.deliveries = 0
        self.overflow_drops = 0
        self.sends_acked = 0


TALLY = _Tally()


def flush(broker_up: bool | None = None) -> None:
    """Move the tallied counts into the Prometheus counters (and note the broker's state)."""
    if broker_up is not None:
        BROKER_UP.set(1 if broker_up else 0)
    t = TALLY
    for counter, count in (
        (FRAMES_RECEIVED, t.frames_received),
        (FRAMES_SENT, t.frames_sent),
        (DELIVERIES, t.deliveries),
        (OVERFLOW_DROPS, t.overflow_drops),
        (SENDS_ACKED, t.sends_acked),
    ):
        if count:
            counter.inc(count)
    t.frames_received = t.frames_sent = t.deliveries = t.overflow_drops = t.sends_acked = 0


def closed(code: int | None) -> None:
    """Count a connection that ended with `code` (None: dropped without a close frame)."""
    code = 1006 if code is None else code
    CLOSES.labels(str(code) if code in KNOWN_CLOSE_CODES else "other").inc()
    CONNECTIONS.dec()


def shed(reason: str) -> None:
    """Count a connection closed with 1013 because the server could not keep up with it."""
    SHED.labels(reason).inc()


def send_refused(reason: str) -> None:
    """Count a send answered with the error `reason` (an error code of the contract)."""
    SENDS_REFUSED.labels(reason).inc()
