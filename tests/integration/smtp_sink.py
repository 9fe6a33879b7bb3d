#!/usr/bin/python3
# smtp_sink.py PORT DIR: a real SMTP server on 127.0.0.1:PORT (Debian's
# python3-aiosmtpd) that keeps each message it accepts as one file in DIR
# (written to a temporary name, then renamed: a test that sees the file
# sees all of it), so the mail tests count and read what arrived. The
# envelope comes first, as "X-Envelope-From:" and "X-Envelope-To:" lines.
# Ends on SIGTERM or SIGKILL (the tests stop it to play an SMTP server
# that is down).
import asyncio
import os
import signal
import sys
import time

from aiosmtpd.controller import Controller


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


def main():
    port, directory = int(sys.argv[1]), sys.argv[2]
    controller = Controller(Keep(directory), hostname="127.0.0.1", port=port)
    controller.start()
    print("listening", flush=True)
    signal.sigwait({signal.SIGTERM, signal.SIGINT})
    controller.stop()


if __name__ == "__main__":
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM, signal.SIGINT})
    main()
