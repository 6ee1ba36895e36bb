#!/usr/bin/env python3
"""moto's server with one request at a time: `moto-serial.py -H 127.0.0.1 -p PORT`.

`moto_server` handles requests on many threads and its DynamoDB transactions take no lock, so
two concurrent TransactWriteItems can both pass the same condition (seen here: 2 and 3 winners
of one refresh-token rotation). Real DynamoDB never lets that happen: it cancels the loser with
TransactionConflict. Serialising requests restores the atomicity the tests rely on; connections
stay keep-alive and threaded, only the application call is behind the lock."""

import argparse
import threading

from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
from werkzeug.serving import run_simple


def serialised(app):
    lock = threading.Lock()

    def call(environ, start_response):
        with lock:
            # The body is produced inside the lock too: moto builds it lazily in some handlers.
            return [b"".join(app(environ, start_response))]

    return call


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-H", "--host", default="127.0.0.1")
    parser.add_argument("-p", "--port", type=int, default=5000)
    args = parser.parse_args()
    app = DomainDispatcherApplication(create_backend_app)
    run_simple(args.host, args.port, serialised(app), threaded=True, request_handler=MotoRequestHandler)


if __name__ == "__main__":
    main()
