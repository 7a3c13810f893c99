"""Mail over SMTP reaches a real (aiosmtpd) inbox with a plain-text and an HTML part."""

from __future__ import annotations

import re

import httpx
import pytest

from app.db.engine import SessionFactory
from app.main import create_app
from services.mail import SmtpMailSender
from services.notifications.email import send_notification_mail
from tests.conftest import make_settings
from tests.factories import create_user
from tests.notification_helpers import notify
from tests.smtp_inbox import smtp_inbox

pytestmark = pytest.mark.asyncio

RESET = """mutation ($email: String!) {
  requestPasswordReset(email: $email) { __typename }
}"""


async def test_a_notification_mail_has_both_parts(session_factory: SessionFactory) -> None:
    user = await create_user(session_factory, display_name="Mia <Admin>", email="mia@example.test")
    [card] = await notify(session_factory, user)
    with smtp_inbox() as (inbox, port):
        sender = SmtpMailSender(
            sender="BountyExpo <no-reply@bountyexpo.dev>",
            host="127.0.0.1",
            port=port,
            security="none",
        )
        assert await send_notification_mail(session_factory, sender, card.id) is True
    [message] = inbox.messages
    assert (message["To"], message["Subject"]) == ("mia@example.test", "Payment released")
    assert message["From"] == "BountyExpo <no-reply@bountyexpo.dev>"
    parts = inbox.parts()
    assert set(parts) == {"text/plain", "text/html"}
    assert parts["text/plain"] == (
        "Hello Mia <Admin>,\n\nThe reward was released.\n\nOpen BountyExpo to see more.\n"
    )
    assert "<p>Hello Mia &lt;Admin&gt;,</p>" in parts["text/html"]  # escaped, never raw


async def test_password_reset_mail_goes_out_over_smtp(
    database_url: str, session_factory: SessionFactory
) -> None:
    user = await create_user(session_factory, email="reset@example.test")
    with smtp_inbox() as (inbox, port):
        settings = make_settings(
            database_url=database_url,
            smtp_host="127.0.0.1",
            smtp_port=port,
            smtp_security="none",
        )
        app = create_app(settings, database_url=database_url)

        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app)
            async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as client:
                response = await client.post(
                    "/graphql", json={"query": RESET, "variables": {"email": user.email}}
                )
    assert response.json() == {
        "data": {"requestPasswordReset": {"__typename": "RequestPasswordResetSuccess"}}
    }
    [message] = inbox.messages
    assert (message["To"], message["Subject"]) == (user.email, "Reset your BountyExpo password")
    parts = inbox.parts()
    code = re.search(r"Your reset code: (\S+)", parts["text/plain"])
    assert code is not None
    assert code.group(1) in parts["text/html"]
