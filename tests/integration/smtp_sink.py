#!/usr/bin/python3
# smtp_sink.py PORT DIR [USER PASSWORD]: a real SMTP server on
# 127.0.0.1:PORT (Debian's
# python3-aiosmtpd) that keeps each message it accepts as one file in DIR
# (written to a temporary name, then renamed: a test that sees the file
# sees all of it), so the mail tests count and read what arrived. The
# envelope comes first, as "X-Envelope-From:" and "X-Envelope-To:" lines.
# With USER and PASSWORD it requires SMTP AUTH (PLAIN or LOGIN, without
# TLS) as that user, refusing any other login (535).
# Ends on SIGTERM or SIGKILL (the tests stop it to play an SMTP server
# that is down).
import asyncio
import os
import signal
import sys
import time

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword


class Keep:
    def __init__(self, directory):
        self.directory = directory
        self.count = 0

    async def handle_DATA(self, server, session, envelope):
        self.count += 1
        name = "%d-%04d.eml" % (time.time_ns(), self.count)
        tmp = os.path.join(self.directory, "." + name)
        head = "X-Envelope-From: %s\r\nX-Envelope-To: %s\r\n" % (
            envelope.mail_from, ",".join(envelope.rcpt_tos))
        with open(tmp, "wb") as f:
            f.write(head.encode() + envelope.original_content)
            f.flush()
            os.fsync(f.fileno())
        os.rename(tmp, os.path.join(self.directory, name))
        return "250 OK kept as " + name


class Login:
    def __init__(self, user, password):
        self.user, self.password = user.encode(), password.encode()

    def __call__(self, server, session, envelope, mechanism, auth_data):
        ok = (isinstance(auth_data, LoginPassword)
              and auth_data.login == self.user
              and auth_data.password == self.password)
        return AuthResult(success=ok, handled=False)


def main():
    port, directory = int(sys.argv[1]), sys.argv[2]
    auth = {}
    if len(sys.argv) > 4:
        auth = dict(authenticator=Login(sys.argv[3], sys.argv[4]),
                    auth_required=True, auth_require_tls=False)
    controller = Controller(Keep(directory), hostname="127.0.0.1", port=port,
                            **auth)
    controller.start()
    print("listening", flush=True)
    signal.sigwait({signal.SIGTERM, signal.SIGINT})
    controller.stop()


if __name__ == "__main__":
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM, signal.SIGINT})
    main()
