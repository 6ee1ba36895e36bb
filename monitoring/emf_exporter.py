#!/usr/bin/env python3
"""The functions' CloudWatch EMF documents as Prometheus series, for the local run.

Reads the local run's output on stdin and copies it to stdout unchanged (the terminal still
shows every log line); each line that is an EMF document (`{"_aws": {"CloudWatchMetrics": ...}}`)
also updates the series served at http://127.0.0.1:PORT/metrics. No metric code in the functions
knows about Prometheus: what CloudWatch would get, Prometheus gets.

- A metric with unit `Count` is a counter `<Name>_total`; one with unit `Milliseconds` is a
  histogram `<Name>_milliseconds` (buckets below, 200 ms among them: the latency objective).
- Each dimension set of a directive is one series, its dimensions the labels, as CloudWatch
  keeps one metric per dimension set. A label a set does not have is absent, so
  `TokenRejected_total{function="search", reason=""}` is CloudWatch's {service, function} metric.
- The namespace is the label `namespace`.
- A new series is shown at zero on its first scrape and with its value from the next one on:
  Prometheus cannot know that a counter first seen at 6 started at 0, and `increase()` (every
  alert rule) would never count those first 6.

Standard library only: `make monitor` needs nothing installed beyond Prometheus.
"""

import argparse
import io
import json
import math
import re
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

BUCKETS_MS = (1, 2, 5, 10, 25, 50, 100, 200, 500, 1000, 2500, 5000)
NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
UNITS = {"Count": "total", "Milliseconds": "milliseconds"}


class Registry:
    def __init__(self):
        self.lock = threading.Lock()
        self.counters = {}  # (name, labels) -> value
        self.histograms = {}  # (name, labels) -> [bucket counts..., sum, count]
        self.scraped = set()  # series shown at least once (at zero)
        self.skipped = 0

    def observe_document(self, doc):
        """Adds one EMF document; returns how many series it touched, 0 when it was malformed
        (then nothing of it is applied: the caller counts it as skipped)."""
        updates = []
        aws = doc.get("_aws")
        if not isinstance(aws, dict) or not isinstance(aws.get("CloudWatchMetrics"), list):
            return 0
        for directive in aws["CloudWatchMetrics"]:
            if not isinstance(directive, dict):
                return 0
            namespace, dimension_sets, metrics = (directive.get(k) for k in ("Namespace", "Dimensions", "Metrics"))
            if not (isinstance(namespace, str) and isinstance(dimension_sets, list) and isinstance(metrics, list)):
                return 0
            for dims in dimension_sets:
                if not isinstance(dims, list) or not all(
                    isinstance(d, str) and NAME.match(d) and isinstance(doc.get(d), str) for d in dims
                ):
                    return 0
                labels = tuple(sorted([("namespace", namespace)] + [(d, doc[d]) for d in dims]))
                for metric in metrics:
                    if not isinstance(metric, dict):
                        return 0
                    name, unit = metric.get("Name"), metric.get("Unit", "None")
                    if not (isinstance(name, str) and NAME.match(name) and isinstance(unit, str) and unit in UNITS):
                        return 0
                    values = doc.get(name)
                    values = values if isinstance(values, list) else [values]
                    finite = all(
                        isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(float(v)) for v in values
                    )
                    if not finite:
                        return 0
                    updates.append((f"{name}_{UNITS[unit]}", unit, labels, [float(v) for v in values]))
        with self.lock:
            for series, unit, labels, values in updates:
                if unit == "Count":
                    self.counters[(series, labels)] = self.counters.get((series, labels), 0.0) + sum(values)
                else:
                    h = self.histograms.setdefault((series, labels), [0] * len(BUCKETS_MS) + [0.0, 0])
                    for v in values:
                        for i, bound in enumerate(BUCKETS_MS):
                            if v <= bound:
                                h[i] += 1
                        h[-2] += v
                        h[-1] += 1
        return len(updates)

    def exposition(self):
        """The text format Prometheus scrapes (version 0.0.4)."""
        def fmt(labels, extra=()):
            pairs = list(labels) + list(extra)
            return "{" + ",".join(f'{k}="{escape(v)}"' for k, v in pairs) + "}"

        out = []
        with self.lock:
            counters = sorted(self.counters.items())
            histograms = sorted(self.histograms.items())
            new = {key for key, _ in counters + histograms} - self.scraped
            self.scraped |= new
        counters = [(key, 0.0 if key in new else value) for key, value in counters]
        histograms = [(key, [0] * len(h[:-2]) + [0.0, 0] if key in new else h) for key, h in histograms]
        typed = set()
        for (series, labels), value in counters:
            if series not in typed:
                out.append(f"# TYPE {series} counter")
                typed.add(series)
            out.append(f"{series}{fmt(labels)} {number(value)}")
        for (series, labels), h in histograms:
            if series not in typed:
                out.append(f"# TYPE {series} histogram")
                typed.add(series)
            for i, bound in enumerate(BUCKETS_MS):
                out.append(f"{series}_bucket{fmt(labels, [('le', str(bound))])} {h[i]}")
            out.append(f"{series}_bucket{fmt(labels, [('le', '+Inf')])} {h[-1]}")
            out.append(f"{series}_sum{fmt(labels)} {number(h[-2])}")
            out.append(f"{series}_count{fmt(labels)} {h[-1]}")
        out.append("# TYPE emf_exporter_skipped_documents_total counter")
        out.append(f"emf_exporter_skipped_documents_total {self.skipped}")
        return "\n".join(out) + "\n"


def number(v):
    """Every digit a float has: six significant ones would make a counter past a million move in
    steps of ten, and rate() with it."""
    return repr(float(v)).removesuffix(".0") if float(v).is_integer() else repr(float(v))


def escape(value):
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def handler_for(registry):
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            if self.path.split("?")[0] != "/metrics":
                self.send_error(404)
                return
            body = registry.exposition().encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass  # scrapes every few seconds would bury the functions' own lines

    return Handler


def pump(lines, out, registry):
    for line in lines:
        out.write(line)
        out.flush()
        if line.startswith("{") and '"_aws"' in line:
            # Whatever a line holds, it is skipped, never the end of the exporter: the local
            # run's output goes through here, and a dead reader would stall the functions.
            try:
                doc = json.loads(line)
                if not (isinstance(doc, dict) and registry.observe_document(doc)):
                    registry.skipped += 1
            except Exception:  # noqa: BLE001
                registry.skipped += 1


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, default=9464, help="port on 127.0.0.1 for /metrics (default 9464)")
    args = parser.parse_args()
    registry = Registry()
    try:
        server = ThreadingHTTPServer(("127.0.0.1", args.port), handler_for(registry))
    except OSError as e:
        sys.exit(f"emf-exporter: cannot listen on 127.0.0.1:{args.port}: {e.strerror}")
    threading.Thread(target=server.serve_forever, daemon=True).start()
    print(f"EMF exporter: Prometheus series at http://127.0.0.1:{args.port}/metrics", file=sys.stderr, flush=True)
    # Bytes that are not UTF-8 are replaced, not fatal.
    pump(io.TextIOWrapper(sys.stdin.buffer, encoding="utf-8", errors="replace"), sys.stdout, registry)


if __name__ == "__main__":
    main()
