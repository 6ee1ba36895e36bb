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

from consistency import ROOT, load_tf, tf_locals

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


def instances(name, alarm, tf):
    """The dimensions (besides service) of each CloudWatch alarm a resource makes, for_each
    expanded: what its twin must select, no more and no less."""
    locals_ = tf_locals(tf)
    dims = first(alarm.get("dimensions")) or {}
    each = str(alarm.get("for_each", ""))
    if "toset(" in each:
        keys = re.findall(r"""["']([^"']+)["']""", each)
        assert keys, f"alarm {name}: cannot read its for_each {each}"
        return [{k: (key if "each.key" in str(v) else v) for k, v in dims.items() if k != "service"} for key in keys]
    if "local.latency_alarms" in each:
        return [{"function": fn, "route": r} for fn, routes in locals_["emf_routes"].items() for r in routes]
    if "local.anomaly_alarms" in each:
        return [dict(first(a["dimensions"]), metric=a["metric"]) for a in locals_["anomaly_alarms"].values()]
    by_map = re.fullmatch(r"\$\{local\.(\w+)\}", each)
    if by_map and "each.value" in str(dims):
        # for_each over a local map of dimension sets, each merged over the service.
        sets = locals_.get(by_map.group(1))
        assert isinstance(sets, dict) and all(isinstance(v, dict) for v in sets.values()), f"alarm {name}: cannot read {each}"
        return [dict(v) for v in sets.values()]
    return [{k: v for k, v in dims.items() if k != "service"}]


def selected(expr, key):
    """The values a PromQL text selects for `key`: {"v"} for key="v", the alternatives of
    key=~"a|b", {""} for key="" (absent), None when it does not mention the key."""
    exact = set(re.findall(rf'\b{key}="([^"]*)"', expr))
    regex = {v for alts in re.findall(rf'\b{key}=~"([^"]*)"', expr) for v in alts.split("|")}
    return (exact | regex) or None


def selector_problems(label, used, wanted):
    """`wanted`: the dimensions of each alarm instance. An instance without a dimension selects
    the series without that label (""); one without a route is a reasoned signal's set
    (service, function[, reason]), so its twin must also say which reason, "" for the total."""
    found = []
    keys = {k for w in wanted for k in w}
    if any("route" not in w for w in wanted):
        keys |= {"route", "reason"}
    for key in keys:
        values = {w.get(key, "") for w in wanted}
        if selected(used, key) != values:
            if values == {""}:
                found.append(f'{label}: CloudWatch matches dimension sets exactly; the twin needs {key}=""')
            else:
                found.append(f"{label}: selects {key} {sorted(selected(used, key) or [])}, the alarms cover {sorted(values)}")
        if len(values) > 1 and not re.search(rf"\bby \([^)]*\b{key}\b", used):
            found.append(f"{label}: one alarm per {key}, the twin does not group by it")
    if "sum by (" not in used and "histogram_quantile" not in used:
        found.append(f"{label}: the twin does not sum its series by the alarm's dimensions")
    return found


def used_text(rule, records):
    """An alert's expression with those of the recording rules it reads, transitively."""
    text, seen = rule["expr"], set()
    while True:
        more = [r for r in records if r in text and r not in seen]
        if not more:
            return text
        for r in more:
            seen.add(r)
            text += " " + records[r]


def window(used, period):
    return f"offset {period}s" in used or f"[{period}s]" in used


def anomaly_problems(alarm, rules, records, tf):
    """The band alarms: one twin per metric, selecting what its alarms select, above the mean
    by the band width in standard deviations, over the same window and number of periods."""
    found = []
    by_metric = {}
    for inst in instances("anomaly", alarm, tf):
        by_metric.setdefault(inst.pop("metric"), []).append(inst)
    band_var = re.search(r"ANOMALY_DETECTION_BAND\(m1, \$\{var\.(\w+)\}\)", str(alarm["metric_query"]))
    band = alarm["defaults"][band_var.group(1)] if band_var else None
    period = re.search(r"'period': \[?(\d+)", str(alarm["metric_query"]))
    period = int(period.group(1)) if period else None
    twins = {}
    for rule in rules:
        twins.setdefault(rule["labels"].get("signal"), []).append(rule)
    if set(twins) != set(by_metric) or any(len(t) != 1 for t in twins.values()):
        found.append(f"alarm anomaly: metrics {sorted(by_metric)}, twins {[(k, len(v)) for k, v in twins.items()]}")
    for metric, wanted in by_metric.items():
        for rule in twins.get(metric, [])[:1]:
            used = used_text(rule, records)
            label = f"alarm anomaly ({metric})"
            if f"{metric}_total" not in used or not window(used, period):
                found.append(f"{label}: the twin does not read {metric}_total over {period} s")
            found += selector_problems(label, used, wanted)
            if band is None or not re.search(rf"^\S+ > avg_over_time\(.*\) \+ {band:g} \* stddev_over_time\(", rule["expr"]):
                found.append(f"{label}: the twin is not `value > mean + {band} x deviation`")
            hold = (alarm["evaluation_periods"] - 1) * (period or 0)
            if rule.get("for") != f"{hold}s":
                found.append(f"{label}: {alarm['evaluation_periods']} periods mean `for: {hold}s`, the twin has {rule.get('for')}")
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
            found += anomaly_problems(alarm, rules.pop(name, []), records, tf)
            continue
        twins = rules.pop(name, [])
        if len(twins) != 1:
            found.append(f"alarm {name}: {len(twins)} Prometheus twins in monitoring/alerts.yml")
            continue
        rule, expr = twins[0], twins[0]["expr"]
        used = used_text(rule, records)
        metric = LOCAL_METRIC.get(name, alarm["metric_name"])
        series = f"{metric}_milliseconds_bucket" if metric == "Latency" else f"{metric}_total"
        if series not in used:
            found.append(f"alarm {name}: the twin does not read {series}")
        m = re.search(r"(>=|>|<)\s*([0-9.]+)\s*$", expr)
        op = OPERATORS.get(alarm["comparison_operator"])
        if not m or m.group(1) != op or float(m.group(2)) != alarm["threshold"]:
            found.append(f"alarm {name}: {alarm['comparison_operator']} {alarm['threshold']:g}, twin says {m.groups() if m else expr!r}")
        if not window(used, alarm["period"]):
            found.append(f"alarm {name}: period {alarm['period']} s, twin's window differs: {used}")
        hold = (alarm["evaluation_periods"] - 1) * alarm["period"]
        if rule.get("for", "0s") != f"{hold}s":
            found.append(f"alarm {name}: {alarm['evaluation_periods']} periods mean `for: {hold}s`, twin has {rule.get('for')}")
        statistic = first(alarm.get("extended_statistic")) or first(alarm.get("statistic"))
        wanted = {"Sum": "offset", "p99": "histogram_quantile(0.99,", "Average": "/"}[statistic]
        if wanted not in used:
            found.append(f"alarm {name}: statistic {statistic}, twin lacks {wanted!r}")
        if first(alarm["namespace"]) == "${var.metrics_namespace}":
            found += selector_problems(f"alarm {name}", used, instances(name, alarm, tf))
    found += [f"rule {r['alert']} names alarm {a}, which monitoring.tf does not have" for a, rs in rules.items() for r in rs]
    return found


def test_every_alarm_on_the_functions_metrics_has_a_prometheus_twin_with_its_threshold():
    assert problems(load_tf(TF), RULES.read_text()) == []
    assert set(AWS_ONLY) <= set(alarms(load_tf(TF))), "an AWS-only exemption for an alarm that no longer exists"


@pytest.mark.parametrize("change, says", [
    (lambda t: t.replace('route="/token"}) >= 50', 'route="/token"}) >= 51'), "brute_force_logins: GreaterThanOrEqualToThreshold 50"),
    (lambda t: t.replace("offset 60s", "offset 300s"), "refresh_reuse: period 60"),
    (lambda t: t.replace('function=~"secure-data|search", reason="", route=""}) >= 100', 'function=~"secure-data|search", route=""}) >= 100'), 'token_rejected: CloudWatch matches dimension sets exactly'),
    (lambda t: t.replace('TokenRejected:sum300s{function=~"secure-data|search", reason="", route=""}) >= 100', 'TokenRejected:sum300s{function="search", reason="", route=""}) >= 100'), "token_rejected: selects function ['search']"),
    (lambda t: t.replace("for: 600s\n        labels: {alarm: latency_p99", "for: 300s\n        labels: {alarm: latency_p99"), "latency_p99: 3 periods"),
    (lambda t: t.replace('|/secure-data/{user_id}|/search"}[300s]', '|/search"}[300s]'), "latency_p99: selects route"),
    (lambda t: t.replace("alarm: accounts_locked", "alarm: accounts_lock"), "alarm accounts_locked: 0 Prometheus twins"),
    (lambda t: t.replace("+ 3 * stddev_over_time(oasis:anomaly:LoginFailed", "+ 2 * stddev_over_time(oasis:anomaly:LoginFailed"), "(LoginFailed): the twin is not `value > mean + 3"),
    (lambda t: t.replace("oasis:anomaly:LoginFailed > avg", "oasis:anomaly:LoginFailed < avg"), "(LoginFailed): the twin is not `value > mean + 3"),
    (lambda t: t.replace("signal: Status4xx", "signal: Status5xx"), "alarm anomaly: metrics"),
    (lambda t: t.replace('route=~"/token|/secure-data|/search"})', 'route=~"/token"})'), "(Status4xx): selects route ['/token']"),
    (lambda t: t.replace('oasis:anomaly:TokenRejected\n        expr: sum by (service, function) (oasis:TokenRejected:sum300s{function=~"secure-data|search", reason="", route=""})', 'oasis:anomaly:TokenRejected\n        expr: sum by (service, function) (oasis:TokenRejected:sum300s{function=~"secure-data|search"})'), "(TokenRejected): CloudWatch matches dimension sets exactly"),
    (lambda t: t.replace("sum by (service) (oasis:LoginFailed:sum300s", "(oasis:LoginFailed:sum300s"), "brute_force_logins: the twin does not sum"),
    (lambda t: t.replace('function="signin", route=~"/authorize|/device"}) >= 50', 'function="signin", route=~"/authorize"}) >= 50'), "signin_brute_force_logins: selects route ['/authorize']"),
    (lambda t: t.replace('sum by (service, route) (oasis:AccountLocked', 'sum by (service) (oasis:AccountLocked'), "signin_accounts_locked: one alarm per route, the twin does not group by it"),
    (lambda t: t.replace('|/device/qr|/signout|/assets/signin.css|', '|/device/qr|/assets/signin.css|'), "latency_p99: selects route"),
    (lambda t: t.replace('function=~"token|signin|secure-data|search"', 'function=~"token|secure-data|search"'), "latency_p99: selects function"),
    (lambda t: t.replace('DeviceCodeGuessing:sum300s{function="signin", reason="", route=""}', 'DeviceCodeGuessing:sum300s{function="signin", route=""}'), 'device_code_guessing: CloudWatch matches dimension sets exactly; the twin needs reason=""'),
    (lambda t: t.replace('reason="", route=""}) >= 50', 'reason="", route=""}) >= 40'), "device_code_guessing: GreaterThanOrEqualToThreshold 50"),
    (lambda t: t.replace('CodeRefused:sum60s{function="token", reason="replayed", route=""}', 'CodeRefused:sum60s{function="token", reason="", route=""}'), "code_replay: selects reason ['']"),
    (lambda t: t.replace("CodeRefused_total offset 60s", "CodeRefused_total offset 300s"), "code_replay: period 60"),
    (lambda t: t.replace(' or oasis:CsrfRefused:sum300s{function="token", route="/token"}', ""), "csrf_refused: selects function ['signin']"),
    (lambda t: t.replace('sum by (service, function, route) (oasis:CsrfRefused', 'sum by (service, route) (oasis:CsrfRefused'), "csrf_refused: one alarm per function, the twin does not group by it"),
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


@pytest.mark.parametrize("change", [
    lambda t: t.replace('route="/token"}) >= 50', 'route="/token"}) >= 51'),
    lambda t: t.replace('route="/token"}) >= 50', 'route="/token"}) >= 49'),
    lambda t: t.replace('route=""}) >= 100', 'route=""}) >= 99'),
    lambda t: t.replace("[300s]))) > 200", "[300s]))) > 450"),
    lambda t: t.replace("[300s]))) > 200", "[300s]))) > 198"),
    lambda t: t.replace("for: 300s\n        labels: {alarm: server_errors", "labels: {alarm: server_errors"),
    lambda t: t.replace("+ 3 * stddev_over_time(oasis:anomaly:LoginFailed", "+ 1 * stddev_over_time(oasis:anomaly:LoginFailed"),
    lambda t: t.replace("+ 3 * stddev_over_time(oasis:anomaly:TokenRejected", "+ 9 * stddev_over_time(oasis:anomaly:TokenRejected"),
    lambda t: t.replace("+ 3 * stddev_over_time(oasis:anomaly:Status4xx", "+ 9 * stddev_over_time(oasis:anomaly:Status4xx"),
    lambda t: t.replace('route=~"/authorize|/device"}) >= 50', 'route=~"/authorize|/device"}) >= 51'),
    lambda t: t.replace('route=~"/authorize|/device"}) >= 50', 'route=~"/authorize|/device"}) >= 49'),
    lambda t: t.replace('route=~"/authorize|/device"}) >= 5\n', 'route=~"/authorize|/device"}) >= 6\n'),
    lambda t: t.replace('reason="", route=""}) >= 50', 'reason="", route=""}) >= 51'),
    lambda t: t.replace('reason="", route=""}) >= 50', 'reason="", route=""}) >= 49'),
    lambda t: t.replace('reason="replayed", route=""}) >= 1', 'reason="replayed", route=""}) >= 2'),
    lambda t: t.replace('function="signin", reason="", route=""} or', 'function="signin", route=""} or'),
    lambda t: t.replace('route="/token"}) >= 20', 'route="/token"}) >= 21'),
    lambda t: t.replace('route="/token"}) >= 20', 'route="/token"}) >= 19'),
], ids=["brute-force up", "brute-force down", "tokens 99", "p99 450", "p99 198", "5xx no hold", "band 1", "tokens band 9", "4xx band 9",
        "signin logins 51", "signin logins 49", "signin locks 6", "code guessing 51", "code guessing 49", "code replay 2", "csrf reasons added", "csrf 21", "csrf 19"])
def test_the_rule_tests_fail_when_a_threshold_band_or_hold_moves(tmp_path, change):
    moved = change(RULES.read_text())
    assert moved != RULES.read_text(), "the planted change did not apply"
    shutil.copy(ROOT / "monitoring/alerts.test.yml", tmp_path)
    (tmp_path / "alerts.yml").write_text(moved)
    out = subprocess.run([promtool(), "test", "rules", "alerts.test.yml"], cwd=tmp_path, capture_output=True, text=True)
    assert out.returncode != 0, "promtool's tests did not notice"


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
    lambda d: d["_aws"]["CloudWatchMetrics"].append("not a directive"),
    lambda d: d["_aws"]["CloudWatchMetrics"][0].update(Dimensions=7),
    lambda d: d["_aws"]["CloudWatchMetrics"][0]["Dimensions"].append("service"),
    lambda d: d["_aws"]["CloudWatchMetrics"][0]["Metrics"].append(["Name"]),
    lambda d: d["_aws"]["CloudWatchMetrics"][0]["Metrics"].append({"Name": ["LoginFailed"], "Unit": "Count"}),
    lambda d: d["_aws"]["CloudWatchMetrics"][0]["Metrics"].append({"Name": "Big", "Unit": ["Count"]}),
    lambda d: d.update(LoginFailed=10**400),
    lambda d: d.update(LoginFailed=True),
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


def test_counters_keep_every_digit_past_a_million():
    registry = emf_exporter.Registry()
    doc = json.loads(json.dumps(EMF))
    doc["Requests"] = 1_234_567.0
    emf_exporter.pump([json.dumps(doc) + "\n"] * 2, io.StringIO(), registry)
    registry.exposition()
    assert 'Requests_total{function="token",namespace="Oasis",route="/token",service="oasis"} 2469134\n' in registry.exposition()


def test_the_exporter_survives_bytes_that_are_not_utf8_and_lines_that_are_not_json():
    lines = b'{"_aws": nonsense\n\xff\xfe not utf-8\n' + json.dumps(EMF).encode() + b"\n"
    out = subprocess.run([sys.executable, str(ROOT / "monitoring/emf_exporter.py"), "--port", "0"], input=lines, capture_output=True, timeout=30)
    assert out.returncode == 0, out.stderr
    assert out.stdout.count(b"\n") == 3, out.stdout
