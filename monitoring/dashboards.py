#!/usr/bin/env python3
"""One definition of the dashboard, rendered for Grafana's CloudWatch data source (AWS), for its
Prometheus data source (the local run's `make monitor`) and as Prometheus graph-page URLs for
the README, so the three cannot drift.

    python3 monitoring/dashboards.py          rewrite terraform/grafana/*.json
    python3 monitoring/dashboards.py --urls   the README's list of Prometheus graph URLs

tests/infra/test_monitoring.py fails when a committed file or the README differs from this.
"""

import json
import sys
import urllib.parse
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
GRAFANA = ROOT / "terraform/grafana"
FUNCTIONS = ["token", "secure-data", "search", "signin"]
MAIN_ROUTE = {"token": "/token", "secure-data": "/secure-data", "search": "/search", "signin": "/authorize"}
TOKEN = {"function": "token", "route": "/token"}
AUTHORIZE = {"function": "signin", "route": "/authorize"}
DEVICE = {"function": "signin", "route": "/device"}

# (title, unit, [(metric, dimensions besides service, statistic)]); "*" is every value.
PANELS = [
    ("Requests by function", "short", [("Requests", {"function": f, "route": "*"}, "Sum") for f in FUNCTIONS]),
    (
        "p99 latency by route (objective 200 ms)",
        "ms",
        [("Latency", {"function": f, "route": MAIN_ROUTE[f]}, "p99") for f in FUNCTIONS],
    ),
    (
        "Logins and lock-outs",
        "short",
        [(m, TOKEN, "Sum") for m in ["LoginSucceeded", "LoginFailed", "AccountLocked", "SourceLocked"]],
    ),
    ("Refresh rotation, grace and reuse", "short", [(m, TOKEN, "Sum") for m in ["RefreshRotated", "RefreshGraceUsed", "RefreshReuseDetected"]]),
    (
        "Tokens rejected (by reason)",
        "short",
        [("TokenRejected", {"function": f, "reason": "*"}, "Sum") for f in ["secure-data", "search"]],
    ),
    (
        "Inputs rejected and 5xx",
        "short",
        [
            ("InputRejected", {"function": "search", "reason": "*"}, "Sum"),
            ("Status5xx", {"function": "*", "route": "*"}, "Sum"),
            ("Unavailable", {"function": "*", "route": "*"}, "Sum"),
        ],
    ),
    (
        "Sign-in: authorization codes",
        "short",
        [
            ("CodeIssued", AUTHORIZE, "Sum"),
            ("ConsentDenied", AUTHORIZE, "Sum"),
            ("CodeRedeemed", TOKEN, "Sum"),
            ("CodeRefused", {"function": "token", "reason": "*"}, "Sum"),
            ("PkceRefused", {"function": "signin", "reason": "*"}, "Sum"),
            ("AuthorizeRefused", {"function": "signin", "reason": "*"}, "Sum"),
        ],
    ),
    (
        "Sign-in: devices",
        "short",
        [
            ("DeviceCodeIssued", {"function": "token", "route": "/device_authorization"}, "Sum"),
            ("DeviceCodeApproved", DEVICE, "Sum"),
            ("DeviceCodeDenied", DEVICE, "Sum"),
            ("DeviceCodeRedeemed", TOKEN, "Sum"),
            ("DeviceSlowDown", TOKEN, "Sum"),
            ("DeviceCodeRefused", {"function": "token", "reason": "*"}, "Sum"),
        ],
    ),
    (
        "Sign-in: guessing and forgery",
        "short",
        [
            ("DeviceCodeGuessing", {"function": "signin", "reason": "*"}, "Sum"),
            ("CsrfRefused", {"function": "signin", "reason": "*"}, "Sum"),
            ("CsrfRefused", TOKEN, "Sum"),
            ("LoginFailed", {"function": "signin", "route": "*"}, "Sum"),
            ("AccountLocked", {"function": "signin", "route": "*"}, "Sum"),
        ],
    ),
]
PERIOD = 60


def layout(i):
    return {"x": 12 * (i % 2), "y": 8 * (i // 2), "w": 12, "h": 8}


def dashboard(kind, datasource_label, service, targets):
    return {
        "title": "Oasis API security and latency" + ("" if kind == "cloudwatch" else " (local, Prometheus)"),
        "uid": "oasis-api" if kind == "cloudwatch" else "oasis-api-local",
        "schemaVersion": 39,
        "time": {"from": "now-6h", "to": "now"} if kind == "cloudwatch" else {"from": "now-30m", "to": "now"},
        "refresh": "1m" if kind == "cloudwatch" else "10s",
        "templating": {
            "list": [
                {"name": "datasource", "type": "datasource", "query": kind, "label": datasource_label},
                {
                    "name": "service",
                    "type": "textbox",
                    "label": "service (name_prefix)" if kind == "cloudwatch" else "service (OASIS_SERVICE_NAME)",
                    "query": service,
                    "current": {"value": service, "text": service},
                },
            ]
        },
        "panels": [
            {
                "id": i + 1,
                "type": "timeseries",
                "title": title,
                "gridPos": layout(i),
                "datasource": {"type": kind, "uid": "${datasource}"},
                "fieldConfig": {"defaults": {"unit": unit}, "overrides": []},
                "targets": [
                    dict({"refId": chr(ord("A") + j), "datasource": {"type": kind, "uid": "${datasource}"}}, **targets(q))
                    for j, q in enumerate(queries)
                ],
            }
            for i, (title, unit, queries) in enumerate(PANELS)
        ],
    }


def cloudwatch_target(query):
    metric, dims, statistic = query
    return {
        "region": "default",
        "namespace": "Oasis",
        "metricName": metric,
        "dimensions": {"service": "$service", **dims},
        "statistic": statistic,
        "period": str(PERIOD),
        "matchExact": True,
        "queryMode": "Metrics",
        "metricQueryType": 0,
        "metricEditorMode": 0,
    }


def promql(query, service='"$service"'):
    """The same query over the EMF exporter's series: CloudWatch's exact dimension sets become
    `label!=""` for a wildcard and the absence of the other set's label."""
    metric, dims, statistic = query
    matchers = [f"service={service}"]
    by = []
    for key, value in dims.items():
        if value == "*":
            matchers.append(f'{key}!=""')
            by.append(key)
        else:
            matchers.append(f'{key}="{value}"')
    if "reason" in dims:
        matchers.append('route=""')
    selector = "{" + ",".join(matchers) + "}"
    window = f"[{PERIOD}s]"
    if statistic == "p99":
        return f"histogram_quantile(0.99, sum by (le) (rate({metric}_milliseconds_bucket{selector}{window})))"
    group = f" by ({', '.join(by)})" if by else ""
    return f"sum{group} (increase({metric}_total{selector}{window}))"


def prometheus_target(query):
    metric, dims, _ = query
    legend = " ".join([metric] + [f"{{{{{k}}}}}" if v == "*" else v for k, v in dims.items()])
    return {"expr": promql(query), "legendFormat": legend, "interval": f"{PERIOD}s"}


def rendered():
    return {
        GRAFANA / "oasis-dashboard.json": dashboard("cloudwatch", "CloudWatch", "oasis-prod", cloudwatch_target),
        GRAFANA / "oasis-dashboard-prometheus.json": dashboard("prometheus", "Prometheus", "oasis", prometheus_target),
    }


def text(d):
    return json.dumps(d, indent=2, ensure_ascii=False) + "\n"


def urls(base="http://127.0.0.1:9090"):
    """Markdown: each panel as a link to Prometheus's graph page with its queries, for the
    local run (service `oasis`, the default OASIS_SERVICE_NAME)."""
    lines = []
    for title, _, queries in PANELS:
        params = {}
        for i, q in enumerate(queries):
            params[f"g{i}.expr"] = promql(q, service='"oasis"')
            params[f"g{i}.tab"] = "0"
            params[f"g{i}.range_input"] = "30m"
        lines.append(f"- [{title}]({base}/graph?{urllib.parse.urlencode(params)})")
    return "\n".join(lines) + "\n"


def main():
    if sys.argv[1:] == ["--urls"]:
        print(urls(), end="")
        return
    for path, d in rendered().items():
        path.write_text(text(d))
        print(f"wrote {path.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
