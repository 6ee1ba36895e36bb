#!/usr/bin/env python3
"""Exits 1, naming the first port given that something on 127.0.0.1 already listens on.

SO_REUSEADDR as the servers set it, so a port left in TIME_WAIT by a stopped run counts as
free and only a live listener as taken."""

import socket
import sys

for port in sys.argv[1:]:
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        s.bind(("127.0.0.1", int(port)))
    except OSError:
        sys.exit(f"port {port} on 127.0.0.1 is already in use")
    finally:
        s.close()
