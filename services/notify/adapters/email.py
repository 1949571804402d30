"""E-mail over SMTP (aiosmtplib)."""

from __future__ import annotations

from email.message import EmailMessage

import aiosmtplib


class SmtpSender:
    """Sends plain-text UTF-8 e-mails through one SMTP server."""

    def __init__(self, *, host: str, port: int, sender: str) -> None:
        self.host, self.port, self.sender = host, port, sender

    async def send(self, *, to: str, subject: str, text: str) -> None:
        """Send one e-mail; raises aiosmtplib errors on failure."""
        message = EmailMessage()
        message["From"], message["To"], message["Subject"] = self.sender, to, subject
        message.set_content(text)
        await aiosmtplib.send(message, hostname=self.host, port=self.port, timeout=10)
