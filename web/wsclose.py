"""uvicorn's websockets-sansio protocol, failing a connection without resetting it.

When a client breaks the protocol or its message passes `ws_max_size`, uvicorn writes the
close frame (1009, 1002, …) and closes the socket at once. The client is then usually still
sending (the rest of its oversized message), and a socket closed with data unread is
answered with a TCP reset, which can overtake the close frame: the client sees the
connection drop (1006) instead of the code it was sent. `ClosingSansIOProtocol` fails the
connection as RFC 6455 §7.1.7 and `websockets`' own server do: the close frame, then a
half-close (FIN), then it reads and discards until the client's FIN, or for
`close_timeout` at most, and only then closes the socket.

`werkplaats serve` selects it with `uvicorn.run(ws="web.wsclose:ClosingSansIOProtocol")`.
"""

from __future__ import annotations

from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol


class ClosingSansIOProtocol(WebSocketsSansIOProtocol):
    """`WebSocketsSansIOProtocol` that half-closes a failed connection and drains it."""

    failed = False

    def handle_parser_exception(self) -> None:
        # Called again for every later read: `websockets` now discards what arrives.
        if self.failed:
            return
        self.failed = True
        close = self.conn.close_sent
        assert close is not None
        self.queue.put_nowait(
            {"type": "websocket.disconnect", "code": close.code, "reason": close.reason}
        )
        self.transport.write(b"".join(self.conn.data_to_send()))
        self.close_sent = True
        if not self.transport.can_write_eof():
            self.transport.close()
            return
        self.transport.write_eof()
        if self.read_paused:
            self.read_paused = False
            self.transport.resume_reading()
        # The client's FIN ends it sooner: `eof_received` returns None, so the transport
        # closes itself; `connection_lost` cancels this timer.
        self.close_timer = self.loop.call_later(self.close_timeout, self.transport.close)
