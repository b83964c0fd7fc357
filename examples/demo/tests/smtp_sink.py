#!/usr/bin/env python
# A real SMTP server for the demo's mail test: aiosmtpd (from PyPI; scripts/test installs it) on
# 127.0.0.1. Prints "port <n>" once it accepts connections, then writes each message it receives
# to <n>.txt in the folder argv[1]: the envelope recipients, the To and Subject headers, a blank
# line and the decoded text body (the MIME transfer encoding undone, so a wrapped link is whole).
# Stops when its standard input closes.

import email
import email.policy
import os
import socket
import sys

from aiosmtpd.controller import Controller

folder = sys.argv[1]


class Sink:
    def __init__(self):
        self.received = 0

    async def handle_DATA(self, server, session, envelope):
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        self.received += 1
        path = os.path.join(folder, f"{self.received}.txt")
        with open(path + ".part", "w", encoding="utf-8") as out:
            out.write(f"rcpt: {' '.join(envelope.rcpt_tos)}\n")
            out.write(f"to: {message['To']}\n")
            out.write(f"subject: {message['Subject']}\n\n")
            out.write(message.get_body(preferencelist=("plain",)).get_content())
        os.rename(path + ".part", path)
        return "250 Message accepted for delivery"


with socket.socket() as probe:
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
controller = Controller(Sink(), hostname="127.0.0.1", port=port)
controller.start()
print(f"port {port}", flush=True)
sys.stdin.read()
controller.stop()
