#!/usr/bin/env python3
"""moto's server with one request at a time: `moto-serial.py -H 127.0.0.1 -p PORT`.

`moto_server` handles requests on many threads and its DynamoDB transactions take no lock, so
two concurrent TransactWriteItems can both pass the same condition (seen here: 2 and 3 winners
of one refresh-token rotation). Real DynamoDB never lets that happen: it cancels the loser with
TransactionConflict. Serialising requests restores the atomicity the tests rely on; connections
stay keep-alive and threaded, only the application call is behind the lock.

moto also answers every table Query by sorting all items of the table (not of the queried
partition) in Python: on the search index of a 10,000-title catalog (~160,000 items) one Query
took most of a second. A Query on a table's own key now looks only at its partition, which is
what DynamoDB does; everything else moto does for a Query is unchanged."""

import argparse
import threading

from moto.dynamodb.models.table import Table
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
from werkzeug.serving import run_simple


def partition_queries():
    query = Table.query

    def by_partition(self, hash_key, range_comparison, range_objs, limit, exclusive_start_key, scan_index_forward,
                     projection_expressions, index_name=None, *args, **kwargs):
        if index_name is not None or hash_key is None or not self.range_key_attr:
            return query(self, hash_key, range_comparison, range_objs, limit, exclusive_start_key, scan_index_forward,
                         projection_expressions, index_name, *args, **kwargs)
        partition = list(self.items.get(hash_key, {}).values())
        # Safe only because requests are serialised: the instance attribute shadows the
        # method for this one call.
        self.all_items = lambda: partition
        try:
            return query(self, hash_key, range_comparison, range_objs, limit, exclusive_start_key, scan_index_forward,
                         projection_expressions, index_name, *args, **kwargs)
        finally:
            del self.all_items

    Table.query = by_partition


def serialised(app):
    lock = threading.Lock()

    def call(environ, start_response):
        with lock:
            # The body is produced inside the lock too: moto builds it lazily in some handlers.
            body = app(environ, start_response)
            try:
                return [b"".join(body)]
            finally:
                if hasattr(body, "close"):
                    body.close()

    return call


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-H", "--host", default="127.0.0.1")
    parser.add_argument("-p", "--port", type=int, default=5000)
    args = parser.parse_args()
    partition_queries()
    app = DomainDispatcherApplication(create_backend_app)
    run_simple(args.host, args.port, serialised(app), threaded=True, request_handler=MotoRequestHandler)


if __name__ == "__main__":
    main()
