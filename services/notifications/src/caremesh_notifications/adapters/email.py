"""Email over SMTP (Mailpit locally): text with an HTML alternative."""

import asyncio
from email.message import EmailMessage
from email.utils import make_msgid

import aiosmtplib

from caremesh_notifications.adapters import Accepted, ChannelError
from caremesh_notifications.domain import Channel, Message
from caremesh_notifications.settings import NotificationsSettings


class SmtpEmail:
    channel = Channel.EMAIL

    def __init__(self, settings: NotificationsSettings) -> None:
        self.s = settings

    async def send(self, message: Message) -> Accepted:
        """Send; the provider message id is the Message-ID header."""
        mail = EmailMessage()
        mail["From"] = self.s.mail_from
        mail["To"] = message.to
        mail["Subject"] = message.subject or ""
        provider_id = make_msgid(idstring=message.id, domain="caremesh.local")
        mail["Message-ID"] = provider_id
        # Lets a mailbox (and the tests) tie an email to its message record without reading content.
        mail["X-CareMesh-Message-Id"] = message.id
        mail.set_content(message.text)
        if message.html:
            mail.add_alternative(message.html, subtype="html")
        try:
            # aiosmtplib's timeout is per reply; bound the whole exchange so it ends well within the
            # send lease (three times this), after which another consumer may retry the message.
            async with asyncio.timeout(self.s.smtp_timeout_seconds * 2):
                await aiosmtplib.send(
                    mail,
                    hostname=self.s.smtp_host,
                    port=self.s.smtp_port,
                    username=self.s.smtp_username,
                    password=self.s.smtp_password,
                    start_tls=self.s.smtp_starttls,
                    timeout=self.s.smtp_timeout_seconds,
                )
        except aiosmtplib.SMTPRecipientsRefused as exc:
            raise ChannelError("email: recipient refused", permanent=True) from exc
        except aiosmtplib.SMTPResponseException as exc:
            raise ChannelError(f"email: smtp {exc.code}", permanent=500 <= exc.code < 600) from exc
        except aiosmtplib.SMTPConnectError as exc:
            raise ChannelError("email: cannot connect") from exc
        except (aiosmtplib.SMTPException, TimeoutError, OSError) as exc:
            # The server may have taken the message before the connection failed.
            raise ChannelError(f"email: {type(exc).__name__}", maybe_sent=True) from exc
        return Accepted(provider_id)
