"""The WebSocket protocol ``nnplay serve`` gives uvicorn: uvicorn's own (websockets' sans-I/O implementation, its
default) with three repairs for clients that misbehave.

* A text message that is not valid UTF-8 closes the connection with 1007 (invalid payload data) and one log
  line; uvicorn's own logs a traceback for each.
* A close while the client is not reading (the write buffer is over its high-water mark: the peer's TCP window
  is full) writes the close frame and drops the connection. A closing handshake cannot happen then, and
  uvicorn's close would first wait for room that never comes, keeping the connection and its file for as long
  as the peer keeps the TCP connection up.
* A keepalive ping that goes unanswered while the client is not reading drops the connection the same way
  (uvicorn closes the transport, which waits to flush the buffer first, and does not tell the app).

:data:`WEBSOCKET_PROTOCOL` is this class, or ``"auto"`` for a uvicorn without the sans-I/O implementation.
"""

from __future__ import annotations

import logging
from typing import Any, Union

log = logging.getLogger("uvicorn.error")

try:
    from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
except ImportError:  # uvicorn before 0.35: its default protocol, unrepaired
    WebSocketsSansIOProtocol = None


if WebSocketsSansIOProtocol is not None:

    class WebSocketProtocol(WebSocketsSansIOProtocol):
        """uvicorn's sans-I/O WebSocket protocol, with the repairs listed in the module's docstring."""

        def send_receive_event_to_app(self) -> None:
            if self.curr_msg_data_type == "text" and not self.close_sent:
                try:
                    b"".join(self.frames).decode()
                except UnicodeDecodeError as exc:
                    self.frames = []
                    return self._refuse_invalid_text(exc)
            super().send_receive_event_to_app()

        def _refuse_invalid_text(self, exc: UnicodeDecodeError) -> None:
            client = "%s:%d" % self.client if self.client else "a client"
            log.info("%s - WebSocket closed with 1007: invalid UTF-8 in a text message at byte %d", client, exc.start)
            self.conn.send_close(1007, "invalid UTF-8 in a text message")
            self.handle_parser_exception()  # queues the disconnect for the app, writes the close, closes

        @property
        def _stalled(self) -> bool:
            """The peer takes nothing: the transport's buffer is over its high-water mark."""
            return not self.writable.is_set() and not self.disconnected

        async def send(self, message: Any) -> None:
            if message["type"] == "websocket.close" and self._stalled and self.handshake_complete \
                    and not self.close_sent and self.initial_response is None:
                code, reason = message.get("code", 1000), message.get("reason") or ""
                self.queue.put_nowait({"type": "websocket.disconnect", "code": code, "reason": reason})
                self.conn.send_close(code, reason)
                self.transport.write(b"".join(self.conn.data_to_send()))
                self.close_sent = True
                self.transport.abort()
                return
            await super().send(message)

        def keepalive_timeout(self) -> None:
            stalled = self._stalled
            super().keepalive_timeout()
            if stalled:
                self.transport.abort()

    WEBSOCKET_PROTOCOL: Union[type, str] = WebSocketProtocol
else:
    WEBSOCKET_PROTOCOL = "auto"
