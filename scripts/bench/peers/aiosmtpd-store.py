#!/usr/bin/env python3
"""aiosmtpd storing a file per message, for the load benchmarks (issue 9).

    aiosmtpd-store.py MAILDIR [--fsync]

Each message is written to MAILDIR/tmp/N, then (with --fsync) fsynced,
renamed into MAILDIR/new/N and, with --fsync, new/ is fsynced: the same
steps as `mailwire serve --fsync each`, before the 250. Listens on an
ephemeral loopback port and prints "listening on 127.0.0.1:PORT".
"""
import asyncio
import itertools
import os
import sys

from aiosmtpd.smtp import SMTP

maildir = sys.argv[1]
fsync = "--fsync" in sys.argv[2:]
for sub in ("tmp", "new", "cur"):
    os.makedirs(os.path.join(maildir, sub), exist_ok=True)
counter = itertools.count()
pid = os.getpid()


class Store:
    async def handle_DATA(self, server, session, envelope):
        name = "%d.%d" % (pid, next(counter))
        tmp = os.path.join(maildir, "tmp", name)
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            os.write(fd, envelope.original_content or envelope.content)
            if fsync:
                os.fsync(fd)
        finally:
            os.close(fd)
        os.rename(tmp, os.path.join(maildir, "new", name))
        if fsync:
            dfd = os.open(os.path.join(maildir, "new"), os.O_RDONLY)
            try:
                os.fsync(dfd)
            finally:
                os.close(dfd)
        return "250 2.0.0 stored"


async def main():
    loop = asyncio.get_running_loop()
    server = await loop.create_server(
        lambda: SMTP(Store(), hostname="aiosmtpd.test"), "127.0.0.1", 0)
    print("listening on 127.0.0.1:%d" % server.sockets[0].getsockname()[1], flush=True)
    await server.serve_forever()


asyncio.run(main())
