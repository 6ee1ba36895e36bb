"""Local monitoring against the AWS design: every CloudWatch alarm on the functions' metrics has
a Prometheus twin with the same metric, dimensions, window, threshold and comparison; the twins
fire at their thresholds and not below (promtool); the EMF exporter turns the functions'
documents into the series the rules read."""

import io
import json
import re
import shutil
import subprocess
import sys

import pytest
import yaml

from consistency import ROOT, load_tf

sys.path.insert(0, str(ROOT / "monitoring"))
import emf_exporter  # noqa: E402

TF = ROOT / "terraform"
RULES = ROOT / "monitoring/alerts.yml"
# Alarms on AWS services' own metrics, which a local run has no source for.
AWS_ONLY = {
    "lambda": "Lambda's Throttles and Errors: cargo lambda watch is not the Lambda service",
    "waf_blocked": "WAF's BlockedRequests: no WAF in front of the local run",
    "dynamodb_throttles": "DynamoDB's ThrottledRequests: moto never throttles",
}
# The API Gateway 5XXError average (the share of 5xx answers) is, locally, the functions' own
# Status5xx over Requests.
LOCAL_METRIC = {"server_errors": "Status5xx"}
OPERATORS = {"GreaterThanOrEqualToThreshold": ">=", "GreaterThanThreshold": ">", "LessThanThreshold": "<"}


def first(v):
    return v[0] if isinstance(v, list) and len(v) == 1 else v


def alarms(tf):
    defaults = {}
    for parsed in tf.values():
        for block in parsed.get("variable", []):
            for name, body in block.items():
                defaults[name] = first(body.get("default"))
    found = {}
    for parsed in tf.values():
        for block in parsed.get("resource", []):
            for name, body in block.get("aws_cloudwatch_metric_alarm", {}).items():
                threshold = first(body.get("threshold"))
                if isinstance(threshold, str) and threshold.startswith("${var."):
                    threshold = defaults[threshold[len("${var."):-1]]
                found[name] = {k: first(v) for k, v in body.items()} | {
                    "threshold": None if threshold is None else float(threshold),
                    "defaults": defaults,
                }
    return found


def anomaly_problems(alarm, rules, records):
    """The band alarms: one twin per metric of local.anomaly_alarms, each above the mean by
    the band width in standard deviations, over the same window and number of periods."""
    found = []
    text = (TF / "monitoring.tf").read_text()
    block = text.split("anomaly_alarms = merge(", 1)[1].split("\n  )\n", 1)[0]
    metrics = set(re.findall(r'metric = "(\w+)"', block))
    band_var = re.search(r"ANOMALY_DETECTION_BAND\(m1, \$\{var\.(\w+)\}\)", str(alarm["metric_query"]))
    band = alarm["defaults"][band_var.group(1)] if band_var else None
    period = re.search(r"'period': \[?(\d+)", str(alarm["metric_query"]))
    period = int(period.group(1)) if period else None
    by_signal = {r["labels"].get("signal"): r for r in rules}
    if set(by_signal) != metrics:
        found.append(f"alarm anomaly: metrics {sorted(metrics)}, twins for {sorted(k or '?' for k in by_signal)}")
    for metric, rule in by_signal.items():
        used = " ".join([rule["expr"]] + [e for name, e in records.items() if name in rule["expr"]])
        if f"{metric}_total" not in used or f"[{period}s]" not in used:
            found.append(f"alarm anomaly: the {metric} twin does not read {metric}_total over [{period}s]")
        if band is None or f"+ {band:g} * stddev_over_time(" not in rule["expr"]:
            found.append(f"alarm anomaly: the {metric} twin's band is not {band} standard deviations")
        hold = (alarm["evaluation_periods"] - 1) * (period or 0)
        if rule.get("for") != f"{hold}s":
            found.append(f"alarm anomaly: {alarm['evaluation_periods']} periods mean `for: {hold}s`, the {metric} twin has {rule.get('for')}")
    return found


def problems(tf, rules_text):
    rules, records = {}, {}
    for group in yaml.safe_load(rules_text)["groups"]:
        for rule in group["rules"]:
            if "record" in rule:
                records[rule["record"]] = rule["expr"]
            else:
                rules.setdefault(rule["labels"]["alarm"], []).append(rule)
    found = []
    for name, alarm in alarms(tf).items():
        if name in AWS_ONLY:
            continue
        if name == "anomaly":
            found += anomaly_problems(alarm, rules.pop(name, []), records)
            continue
        twins = rules.pop(name, [])
        if len(twins) != 1:
            found.append(f"alarm {name}: {len(twins)} Prometheus twins in monitoring/alerts.yml")
            continue
        rule, expr = twins[0], twins[0]["expr"]
        metric = LOCAL_METRIC.get(name, alarm["metric_name"])
        series = f"{metric}_milliseconds_bucket" if metric == "Latency" else f"{metric}_total"
        if series not in expr:
            found.append(f"alarm {name}: the twin does not read {series}")
        m = re.search(r"(>=|>|<)\s*([0-9.]+)\s*$", expr)
        op = OPERATORS.get(alarm["comparison_operator"])
        if not m or m.group(1) != op or float(m.group(2)) != alarm["threshold"]:
            found.append(f"alarm {name}: {alarm['comparison_operator']} {alarm['threshold']:g}, twin says {m.groups() if m else expr!r}")
        if f"[{alarm['period']}s]" not in expr:
            found.append(f"alarm {name}: period {alarm['period']} s, twin's window differs: {expr}")
        hold = (alarm["evaluation_periods"] - 1) * alarm["period"]
        if rule.get("for", "0s") != f"{hold}s":
            found.append(f"alarm {name}: {alarm['evaluation_periods']} periods mean `for: {hold}s`, twin has {rule.get('for')}")
        statistic = first(alarm.get("extended_statistic")) or first(alarm.get("statistic"))
        wanted = {"Sum": "increase(", "p99": "histogram_quantile(0.99,", "Average": "/"}[statistic]
        if wanted not in expr:
            found.append(f"alarm {name}: statistic {statistic}, twin lacks {wanted!r}")
        if first(alarm["namespace"]) == "${var.metrics_namespace}":
            dims = first(alarm["dimensions"])
            for key, value in dims.items():
                if key == "service":
                    continue
                if "each." in str(value):
                    if not re.search(rf"\bby \([^)]*\b{key}\b", expr):
                        found.append(f"alarm {name}: one alarm per {key}, twin does not group by it")
                elif f'{key}="{value}"' not in expr:
                    found.append(f"alarm {name}: dimension {key}={value} not selected by the twin")
            for absent in ["route", "reason"] if "route" not in dims else []:
                if f'{absent}=""' not in expr:
                    found.append(f"alarm {name}: CloudWatch matches dimension sets exactly; the twin needs {absent}=\"\"")
    found += [f"rule {r['alert']} names alarm {a}, which monitoring.tf does not have" for a, rs in rules.items() for r in rs]
    return found


def test_every_alarm_on_the_functions_metrics_has_a_prometheus_twin_with_its_threshold():
    assert problems(load_tf(TF), RULES.read_text()) == []
    assert set(AWS_ONLY) <= set(alarms(load_tf(TF))), "an AWS-only exemption for an alarm that no longer exists"


@pytest.mark.parametrize("change, says", [
    (lambda t: t.replace("[300s])) >= 50", "[300s])) >= 51"), "brute_force_logins: GreaterThanOrEqualToThreshold 50"),
    (lambda t: t.replace("[60s])) >= 1", "[300s])) >= 1"), "refresh_reuse: period 60"),
    (lambda t: t.replace('reason="", ', ""), "token_rejected: CloudWatch matches dimension sets exactly"),
    (lambda t: t.replace("for: 600s", "for: 300s"), "latency_p99: 3 periods"),
    (lambda t: t.replace("alarm: accounts_locked", "alarm: accounts_lock"), "alarm accounts_locked: 0 Prometheus twins"),
    (lambda t: t.replace("+ 3 * stddev_over_time(oasis:login_failed", "+ 2 * stddev_over_time(oasis:login_failed"), "the LoginFailed twin's band"),
    (lambda t: t.replace("signal: Status4xx", "signal: Status5xx"), "alarm anomaly: metrics"),
])
def test_a_twin_that_drifts_from_its_alarm_is_caught(change, says):
    drifted = change(RULES.read_text())
    assert drifted != RULES.read_text(), "the planted change did not apply"
    assert any(says in p for p in problems(load_tf(TF), drifted)), problems(load_tf(TF), drifted)


def promtool():
    path = shutil.which("promtool")
    assert path, "promtool is missing: install Debian's prometheus package (make test does: make monitoring-tools)"
    return path


def test_each_alert_fires_at_its_threshold_and_not_below():
    out = subprocess.run([promtool(), "test", "rules", "alerts.test.yml"], cwd=ROOT / "monitoring", capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr


def test_the_rule_tests_fail_when_a_threshold_moves(tmp_path):
    shutil.copy(ROOT / "monitoring/alerts.test.yml", tmp_path)
    (tmp_path / "alerts.yml").write_text(RULES.read_text().replace("[300s])) >= 50", "[300s])) >= 51"))
    out = subprocess.run([promtool(), "test", "rules", "alerts.test.yml"], cwd=tmp_path, capture_output=True, text=True)
    assert out.returncode != 0, "promtool accepted a brute-force threshold above the tested one"


# An EMF document as the functions print it (oasis_lambda::metrics), and one with a reason.
EMF = {
    "_aws": {"Timestamp": 1796135076872, "CloudWatchMetrics": [
        {"Namespace": "Oasis", "Dimensions": [["service", "function", "route"]],
         "Metrics": [{"Name": "Requests", "Unit": "Count"}, {"Name": "LoginFailed", "Unit": "Count"}, {"Name": "Latency", "Unit": "Milliseconds"}]},
    ]},
    "service": "oasis", "function": "token", "route": "/token", "Requests": 1.0, "LoginFailed": 1.0, "Latency": 150.0,
}
REASONED = {
    "_aws": {"Timestamp": 1796135076872, "CloudWatchMetrics": [
        {"Namespace": "Oasis", "Dimensions": [["service", "function", "reason"], ["service", "function"]],
         "Metrics": [{"Name": "TokenRejected", "Unit": "Count"}]},
    ]},
    "service": "oasis", "function": "search", "reason": "expired", "TokenRejected": 1.0,
}


def test_the_exporter_turns_emf_documents_into_counters_and_histograms_and_passes_every_line_on():
    lines = [json.dumps(EMF) + "\n"] * 3 + [json.dumps(REASONED) + "\n", '{"level":"INFO","fields":{}}\n', "plain text\n"]
    out, registry = io.StringIO(), emf_exporter.Registry()
    emf_exporter.pump(lines, out, registry)
    assert out.getvalue() == "".join(lines), "every line reaches the terminal unchanged"
    first_scrape = registry.exposition()
    assert 'LoginFailed_total{function="token",namespace="Oasis",route="/token",service="oasis"} 0' in first_scrape, (
        "a new series starts at zero, or increase() never counts its first increments"
    )
    text = registry.exposition()
    token = 'function="token",namespace="Oasis",route="/token",service="oasis"'
    assert f"LoginFailed_total{{{token}}} 3" in text
    assert f"Requests_total{{{token}}} 3" in text
    assert f'Latency_milliseconds_bucket{{{token},le="100"}} 0' in text
    assert f'Latency_milliseconds_bucket{{{token},le="200"}} 3' in text
    assert f"Latency_milliseconds_count{{{token}}} 3" in text
    assert f"Latency_milliseconds_sum{{{token}}} 450" in text
    # One series per dimension set, as CloudWatch keeps them.
    assert 'TokenRejected_total{function="search",namespace="Oasis",reason="expired",service="oasis"} 1' in text
    assert 'TokenRejected_total{function="search",namespace="Oasis",service="oasis"} 1' in text


@pytest.mark.parametrize("break_it", [
    lambda d: d.update(LoginFailed="1"),
    lambda d: d.update(Latency=float("nan")),
    lambda d: d["_aws"]["CloudWatchMetrics"][0]["Metrics"].append({"Name": "Bad Name", "Unit": "Count"}),
    lambda d: d["_aws"]["CloudWatchMetrics"][0]["Metrics"].append({"Name": "Bytes", "Unit": "Bytes"}),
    lambda d: d.pop("route"),
    lambda d: d.update(route='x"} 1\nfake_total{a="b'),
])
def test_a_malformed_document_is_skipped_whole_and_cannot_inject_series(break_it):
    doc = json.loads(json.dumps(EMF))
    break_it(doc)
    registry = emf_exporter.Registry()
    emf_exporter.pump([json.dumps(doc) + "\n"], io.StringIO(), registry)
    registry.exposition()
    text = registry.exposition()
    if 'fake_total' in json.dumps(doc):
        # A label value is escaped, never a line of its own.
        assert "\nfake_total" not in text, text
    else:
        assert "LoginFailed_total" not in text and "emf_exporter_skipped_documents_total 1" in text, text


def test_the_grafana_dashboards_and_the_readme_links_are_what_the_one_definition_renders():
    import dashboards

    for path, d in dashboards.rendered().items():
        assert path.read_text() == dashboards.text(d), f"{path.name} drifted: run python3 monitoring/dashboards.py"
    readme = (ROOT / "README.md").read_text()
    links = readme.split("<!-- prometheus-urls:start -->\n", 1)[1].split("<!-- prometheus-urls:end -->", 1)[0]
    assert links == dashboards.urls(), "the README's Prometheus links drifted: python3 monitoring/dashboards.py --urls"
    # Both dashboards draw the same metrics in the same panels.
    cloudwatch, prometheus = (json.loads(p.read_text()) for p in dashboards.rendered())
    for cw, prom in zip(cloudwatch["panels"], prometheus["panels"], strict=True):
        assert cw["title"] == prom["title"]
        assert [t["metricName"] for t in cw["targets"]] == [t["expr"].split("(")[-1].split("{")[0].rsplit("_", 1)[0].removesuffix("_milliseconds") for t in prom["targets"]]


def test_every_dashboard_query_is_valid_promql():
    import dashboards

    rules = {"groups": [{"name": "queries", "rules": [
        {"record": f"panel:{i}", "expr": dashboards.promql(q, service='"oasis"')}
        for i, q in enumerate(q for _, _, qs in dashboards.PANELS for q in qs)
    ]}]}
    path = ROOT / "target/dashboard-queries.yml"
    path.parent.mkdir(exist_ok=True)
    path.write_text(yaml.safe_dump(rules))
    out = subprocess.run([promtool(), "check", "rules", str(path)], capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr
