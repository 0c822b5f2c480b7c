"""uvicorn's websockets-sansio protocol, failing a connection without resetting it.

When a client breaks the protocol or its message passes `ws_max_size`, uvicorn writes the
close frame (1009, 1002, …) and closes the socket at once. The client is then usually still
sending (the rest of its oversized message), and a socket closed with data unread is
answered with a TCP reset, which can overtake the close frame: the client sees the
connection drop (1006) instead of the code it was sent. `ClosingSansIOProtocol` fails the
connection as RFC 6455 §7.1.7 and `websockets`' own server do: the close frame, then a
half-close (FIN), then it reads and discards until the client's FIN, or for
`close_timeout` at most, and only then closes the socket. What it does to uvicorn's state
is in `web.internals.fail_without_reset`.

`werkplaats serve` selects it with `uvicorn.run(ws="web.wsclose:ClosingSansIOProtocol")`.
"""

from __future__ import annotations

from web.internals import SansIOProtocol, check_subclass, fail_without_reset


class ClosingSansIOProtocol(SansIOProtocol):
    """`WebSocketsSansIOProtocol` that half-closes a failed connection and drains it."""

    failed = False

    def handle_parser_exception(self) -> None:
        # Called again for every later read: `websockets` now discards what arrives.
        if self.failed:
            return
        self.failed = True
        fail_without_reset(self)


check_subclass(ClosingSansIOProtocol)
