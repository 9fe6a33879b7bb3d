#!/usr/bin/env python3
"""Print a TCP port P such that P..P+N-1 (N from argv, default 6: a
license server with its bus and hub and their neighbours) are free on
127.0.0.1 now, in 20000..32000: below Linux's ephemeral ports, so an
outgoing connection cannot take one between this check and the test's
use (which it can in the ephemeral range that port 0 hands out). The
same rule as run_free_port() in tests/integration/run.c."""
import random
import socket
import sys

n = int(sys.argv[1]) if len(sys.argv) > 1 else 6
for _ in range(1000):
    p = random.randrange(20000, 32000 - n)
    socks = []
    try:
        for q in range(p, p + n):
            s = socket.socket()
            socks.append(s)
            s.bind(("127.0.0.1", q))
    except OSError:
        continue
    finally:
        for s in socks:
            s.close()
    print(p)
    sys.exit(0)
sys.exit("free_ports.py: no %d free ports in a row in 20000..32000" % n)
