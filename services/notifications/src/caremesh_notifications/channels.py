"""Delivery channels. Email goes over SMTP (Mailpit locally)."""

import asyncio
from email.message import EmailMessage
from email.utils import make_msgid

import aiosmtplib

from caremesh_notifications.domain import Message
from caremesh_notifications.settings import NotificationsSettings


class SmtpEmail:
    def __init__(self, settings: NotificationsSettings) -> None:
        self.s = settings

    async def send(self, message: Message) -> str:
        """Send and return the provider message id (the Message-ID header)."""
        mail = EmailMessage()
        mail["From"] = self.s.mail_from
        mail["To"] = message.to
        mail["Subject"] = message.subject
        provider_id = make_msgid(idstring=message.id, domain="caremesh.local")
        mail["Message-ID"] = provider_id
        # Lets a mailbox (and the tests) tie an email to its message record without reading content.
        mail["X-CareMesh-Message-Id"] = message.id
        mail.set_content(message.text)
        # aiosmtplib's timeout is per reply; bound the whole exchange so it ends well within the
        # send lease (three times this), after which another consumer may retry the message.
        async with asyncio.timeout(self.s.smtp_timeout_seconds * 2):
            await aiosmtplib.send(
                mail, hostname=self.s.smtp_host, port=self.s.smtp_port, username=self.s.smtp_username,
                password=self.s.smtp_password, start_tls=self.s.smtp_starttls, timeout=self.s.smtp_timeout_seconds,
            )
        return provider_id
