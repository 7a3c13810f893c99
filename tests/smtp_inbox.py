"""A real SMTP server (aiosmtpd) on a free loopback port, collecting what it receives."""

from __future__ import annotations

import contextlib
import email
from collections.abc import Iterator
from email.message import Message
from typing import Any

from aiosmtpd.controller import Controller

from tests.expo_stub import free_port


class Inbox:
    def __init__(self) -> None:
        self.messages: list[Message] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(email.message_from_bytes(envelope.content))
        return "250 Message accepted for delivery"

    def parts(self, index: int = -1) -> dict[str, str]:
        """content type -> decoded text of one received message's parts."""
        found = {}
        for part in self.messages[index].walk():
            if not part.is_multipart():
                payload = part.get_payload(decode=True)
                assert isinstance(payload, bytes)
                found[part.get_content_type()] = payload.decode().replace("\r\n", "\n")
        return found


@contextlib.contextmanager
def smtp_inbox() -> Iterator[tuple[Inbox, int]]:
    inbox = Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield inbox, port
    finally:
        controller.stop()
