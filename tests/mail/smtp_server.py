"""An SMTP server for the helpdesk-mail tests (aiosmtpd's Controller on 127.0.0.1).

Usage: smtp_server.py RECORD.jsonl
Prints "PORT <n>" once it listens, then serves until its standard input closes. Every
accepted mail is appended to RECORD.jsonl as {"mail_from", "rcpt_tos", "data"} (data as
latin-1 text, so bytes map one to one). Answers on demand, by local part:
  MAIL FROM reject550+...@   -> 550 5.7.1
  RCPT TO   reject550+...@   -> 550 5.1.1     defer451+...@    -> 451 4.2.0
  RCPT TO   datafail451+...@ -> 250, then 451 4.3.0 to the mail's DATA
  RCPT TO   datafail554+...@ -> 250, then 554 5.6.0 to the mail's DATA
"""

import json
import socket
import sys

from aiosmtpd.controller import Controller


def local_part(address):
    return address.split("@", 1)[0].lower()


class Recorder:
    def __init__(self, path):
        self.path = path

    async def handle_MAIL(self, server, session, envelope, address, mail_options):
        if local_part(address).startswith("reject550"):
            return "550 5.7.1 sender refused on demand"
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 2.1.0 OK"

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        local = local_part(address)
        if local.startswith("reject550"):
            return "550 5.1.1 recipient refused on demand"
        if local.startswith("defer451"):
            return "451 4.2.0 recipient deferred on demand"
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server, session, envelope):
        locals_ = [local_part(r) for r in envelope.rcpt_tos]
        if any(l.startswith("datafail451") for l in locals_):
            return "451 4.3.0 data deferred on demand"
        if any(l.startswith("datafail554") for l in locals_):
            return "554 5.6.0 data refused on demand"
        record = {
            "mail_from": envelope.mail_from,
            "rcpt_tos": envelope.rcpt_tos,
            "mail_options": envelope.mail_options,
            "data": envelope.original_content.decode("latin-1"),
        }
        with open(self.path, "a", encoding="utf-8") as out:
            out.write(json.dumps(record) + "\n")
        return "250 2.0.0 accepted"


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def main():
    controller = Controller(Recorder(sys.argv[1]), hostname="127.0.0.1", port=free_port())
    controller.start()
    print(f"PORT {controller.port}", flush=True)
    try:
        sys.stdin.read()
    finally:
        controller.stop()


if __name__ == "__main__":
    main()
