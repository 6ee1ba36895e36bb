"""terraform/ and its OpenAPI document: parsed, scanned and held against the code.
No Terraform binary can run here; these stand in for `terraform validate` and a review."""

import json
import re
import shutil
import subprocess

import hcl2
import pytest
from openapi_spec_validator import validate

import provider_schema
from consistency import ROOT, all_problems, function_names, load_tf, render_openapi, tf_locals, tf_set

TF = ROOT / "terraform"


def test_every_terraform_file_parses():
    files = sorted(TF.glob("*.tf"))
    assert {f.name for f in files} >= {"versions.tf", "variables.tf", "outputs.tf", "api.tf", "functions.tf", "iam.tf", "dynamodb.tf", "keys.tf", "waf.tf"}
    for f in files:
        with open(f) as fh:
            hcl2.load(fh)


def test_every_variable_is_typed_and_described():
    with open(TF / "variables.tf") as fh:
        variables = hcl2.load(fh)["variable"]
    for block in variables:
        for name, body in block.items():
            assert "type" in body and body.get("description"), name


def test_checkov_finds_no_failed_check_and_every_skip_has_a_reason():
    out = subprocess.run(
        [str(ROOT / ".venv/bin/checkov"), "-d", str(TF), "--framework", "terraform", "--skip-download", "--quiet", "-o", "json"],
        capture_output=True, text=True, timeout=600,
    )
    report = json.loads(out.stdout)
    summary = report["summary"]
    failed = [f'{c["check_id"]} {c["resource"]}' for c in report["results"]["failed_checks"]]
    assert summary["failed"] == 0, failed
    assert summary["parsing_errors"] == 0
    assert summary["passed"] > 100
    for f in TF.glob("*.tf"):
        for m in re.finditer(r"#checkov:skip=([A-Z0-9_]+)(?::(.*))?", f.read_text()):
            assert m.group(2) and len(m.group(2).strip()) >= 20, f"{f.name}: {m.group(1)} skipped without a reason"


@pytest.mark.parametrize("enable_keys", [False, True])
def test_the_openapi_document_validates(enable_keys):
    validate(render_openapi(TF / "openapi.yaml", enable_keys))


def test_terraform_and_openapi_agree_with_the_code():
    assert all_problems(TF, TF / "openapi.yaml") == []


def test_drift_between_terraform_and_the_code_is_caught(tmp_path):
    tf = tmp_path / "terraform"
    shutil.copytree(TF, tf)
    openapi = (tf / "openapi.yaml").read_text()
    (tf / "openapi.yaml").write_text(openapi.replace("  /revoke:", "  /revoked:"))
    functions = (tf / "functions.tf").read_text()
    (tf / "functions.tf").write_text(functions.replace("OASIS_CURSOR_SECRET_ID = aws_secretsmanager_secret.cursor_key.name", ""))
    data = (tf / "dynamodb.tf").read_text()
    attempts = 'attempts    = { range_key = null, indexes = {}, ttl = "expires_at" }'
    assert attempts in data, "update this test: the attempts table's line changed"
    (tf / "dynamodb.tf").write_text(data.replace(attempts, attempts.replace('"expires_at"', "null")))
    iam = (tf / "iam.tf").read_text()
    (tf / "iam.tf").write_text(iam.replace('jwks_readers = toset(["secure-data", "search"])', 'jwks_readers = toset(["search"])'))
    problems = "\n".join(all_problems(tf, tf / "openapi.yaml"))
    assert "token serves POST /revoke but openapi.yaml does not route it there" in problems
    assert "search reads OASIS_CURSOR_SECRET_ID but Terraform does not set it" in problems
    assert "attempts: TTL differs" in problems
    assert "secure-data: reads the JWKS parameter = True, granted = False" in problems


@pytest.fixture(scope="module")
def aws_schema():
    return provider_schema.load()


def test_every_block_and_reference_uses_only_what_the_aws_provider_defines(aws_schema):
    assert provider_schema.problems(load_tf(TF), aws_schema) == []
    assert provider_schema.reference_problems(TF, aws_schema) == []


def test_the_provider_schema_checked_is_a_release_the_version_constraint_admits():
    constraint = re.search(r'source\s*=\s*"hashicorp/aws"\s*version\s*=\s*"([^"]+)"', (TF / "versions.tf").read_text()).group(1)
    assert provider_schema.constraint_allows(constraint), f"{constraint} excludes {provider_schema.PROVIDER_VERSION}: update the schema in the Makefile"


def test_misspelt_arguments_missing_required_ones_unknown_types_and_bad_references_are_caught(tmp_path, aws_schema):
    tf = tmp_path / "terraform"
    shutil.copytree(TF, tf)
    edits = {
        "functions.tf": [("  memory_size ", "  memory_sizee "), ('  function_name = "${local.prefix}-${each.key}"\n', "")],
        "waf.tf": [('metric_name                = "${local.prefix}-rate-limit"', 'metric = "${local.prefix}-rate-limit"')],
        "iam.tf": [('actions = ["sts:AssumeRole"]', 'action = ["sts:AssumeRole"]')],
        "dynamodb.tf": [
            ('resource "aws_dynamodb_table" "this"', 'resource "aws_dynamo_table" "this"'),
            ("kms_key_arn = aws_kms_key.main.arn", "kms_key_arn = aws_kms_key.primary.arn"),
        ],
        "api.tf": [('aws_lambda_function.this["token"].invoke_arn', 'aws_lambda_function.this["token"].invoke_url')],
    }
    for file, replacements in edits.items():
        text = (tf / file).read_text()
        for old, new in replacements:
            assert old in text, f"{file} no longer contains {old!r}: update this test"
            text = text.replace(old, new, 1)
        (tf / file).write_text(text)
    problems = "\n".join(provider_schema.problems(load_tf(tf), aws_schema))
    assert 'aws_lambda_function.this: unknown argument or block "memory_sizee"' in problems
    assert 'aws_lambda_function.this: required "function_name" is missing' in problems
    assert 'aws_wafv2_web_acl.api.rule.visibility_config: unknown argument or block "metric"' in problems
    assert 'aws_wafv2_web_acl.api.rule.visibility_config: required "metric_name" is missing' in problems
    assert 'statement: unknown argument or block "action"' in problems
    assert "resource type aws_dynamo_table does not exist in hashicorp/aws" in problems
    references = "\n".join(provider_schema.reference_problems(tf, aws_schema))
    assert "aws_lambda_function has no attribute invoke_url" in references
    assert "no resource aws_kms_key.primary is declared" in references


def emitted_metric_names():
    """Metric names the code emits: the fixed ones in metrics.rs, every signal() and every Refusal."""
    names = {"Requests", "Latency", "Status2xx", "Status3xx", "Status4xx", "Status5xx", "Unavailable", "ColdStart"}
    sources = [ROOT / "functions", ROOT / "shared/lambda/src", ROOT / "shared/login/src"]
    for f in [f for d in sources for f in d.rglob("*.rs")]:
        text = f.read_text()
        names |= set(re.findall(r'metrics::signal\(\s*"([A-Za-z]+)"', text))
        # Refusals the shell counts for an error type (error::Refusal).
        names |= set(re.findall(r'Refusal \{\s*metric:\s*"([A-Za-z]+)"', text))
    names |= {"AccountLocked", "SourceLocked"}  # chosen by lock kind in shared/login
    return names


def test_alarms_dashboards_and_the_readme_catalog_use_only_metrics_the_code_emits():
    emitted = emitted_metric_names()
    monitoring = (TF / "monitoring.tf").read_text()
    used = set(re.findall(r'metric_name\s*=\s*"([A-Za-z0-9]+)"', monitoring))
    aws_metrics = {"5XXError", "Throttles", "Errors", "BlockedRequests", "ThrottledRequests"}
    assert used - aws_metrics <= emitted, used - aws_metrics - emitted
    grafana = json.loads((TF / "grafana/oasis-dashboard.json").read_text())
    grafana_metrics = {t["metricName"] for p in grafana["panels"] for t in p["targets"]}
    assert grafana_metrics <= emitted, grafana_metrics - emitted
    readme = (ROOT / "README.md").read_text()
    catalog = readme.split("## Metric catalog", 1)[1].split("\n## ", 1)[0]
    documented = set(re.findall(r"^\| `([A-Za-z0-9]+)` \|", catalog, re.M))
    assert documented == emitted, f"undocumented {emitted - documented}, stale {documented - emitted}"
    for alarm in ["brute-force-logins", "accounts-locked", "refresh-reuse", "tokens-rejected", "5xx-rate", "p99-latency",
                  "lambda-throttles", "lambda-errors", "waf-blocked", "dynamodb-throttles",
                  "device-code-guessing", "code-replay", "csrf-refused"]:
        assert f"**{alarm}**" in readme, f"no runbook entry for {alarm}"


def test_waf_logs_redact_every_credential_header():
    """Authorization (bearer tokens, client secrets), cookies (refresh tokens) and x-api-key
    (partner keys) are credentials: none may be written to the WAF log group in clear."""
    logging = [b for parsed in load_tf(TF).values() for block in parsed.get("resource", [])
               for b in block.get("aws_wafv2_web_acl_logging_configuration", {}).values()]
    assert len(logging) == 1, logging
    redacted = {f["single_header"][0]["name"][0] if isinstance(f["single_header"][0]["name"], list) else f["single_header"][0]["name"]
                for f in logging[0]["redacted_fields"]}
    assert redacted == {"authorization", "cookie", "x-api-key"}, redacted


# Exceptions to checkov's OpenAPI checks, each with its reason.
OPENAPI_SKIPS = {
    "CKV_OPENAPI_5": "it fails any operation with `security: []`; the token, revocation, device authorization, "
    "JWKS and metadata endpoints are public by their RFCs (6749, 7009, 8628, 8414; clients authenticate in the "
    "request), the sign-in pages (authorization endpoint, device page and its QR code, sign-out) and their stylesheet are where a "
    "person without a token yet signs in (RFC 6749 §3.1, RFC 8628 §3.3), and CORS preflights carry no credentials, "
    "so they opt out of the global bearer requirement explicitly",
}
PUBLIC_OPERATIONS = {
    ("/token", "post"), ("/token", "options"), ("/revoke", "post"), ("/revoke", "options"),
    ("/device_authorization", "post"), ("/device", "get"), ("/device", "post"), ("/assets/signin.css", "get"),
    ("/authorize", "get"), ("/authorize", "post"), ("/signout", "post"), ("/device/qr", "get"),
    ("/.well-known/jwks.json", "get"), ("/.well-known/oauth-authorization-server", "get"),
    ("/secure-data", "options"), ("/secure-data/{user_id}", "options"), ("/search", "options"),
}


@pytest.mark.parametrize("enable_keys", [False, True])
def test_checkov_finds_nothing_in_the_api_contract_and_only_the_public_operations_skip_authentication(tmp_path, enable_keys):
    doc = render_openapi(TF / "openapi.yaml", enable_keys)
    assert doc["security"] == [{"bearer": []}], "authentication is the default"
    public = {(p, m) for p, ops in doc["paths"].items() for m, op in ops.items() if op.get("security") == []}
    assert public == PUBLIC_OPERATIONS
    unset = [(p, m) for p, ops in doc["paths"].items() for m, op in ops.items() if "security" not in op]
    assert unset == [], f"operations relying on the default silently: {unset}"
    path = tmp_path / "openapi.json"
    path.write_text(json.dumps(doc))
    out = subprocess.run(
        [str(ROOT / ".venv/bin/checkov"), "-f", str(path), "--framework", "openapi", "--skip-download", "--quiet",
         "-o", "json", "--skip-check", ",".join(OPENAPI_SKIPS)],
        capture_output=True, text=True,
    )
    report = json.loads(out.stdout)
    summary = report["summary"]
    assert summary["failed"] == 0, [c["check_id"] for c in report["results"]["failed_checks"]]
    assert summary["passed"] >= 4, summary


def one(v):
    """python-hcl2 wraps each value in a one-element list."""
    return v[0] if isinstance(v, list) and len(v) == 1 else v


def web_acl_rules(tf):
    acl = next(b for parsed in tf.values() for block in parsed.get("resource", []) for b in block.get("aws_wafv2_web_acl", {}).values())
    return acl, {one(r["name"]): r for r in acl["rule"]}


def resolved(value, loc):
    """A `${local.x}` reference replaced by its value."""
    m = re.fullmatch(r"\$\{local\.(\w+)\}", one(value))
    return loc[m.group(1)] if m else one(value)


def variable_defaults(tf):
    return {name: one(body.get("default")) for parsed in tf.values() for block in parsed.get("variable", []) for name, body in block.items()}


def regex_of(statement, loc):
    s = one(one(statement)["regex_match_statement"])
    return s, re.compile(resolved(s["regex_string"], loc))


def test_the_token_routes_have_their_own_lower_per_ip_rate_limit():
    """POST /token's stage throttle is shared by all callers: without a per-IP limit of their
    own, a few addresses under the general limit could spend every user's logins. The device
    flow's and the code flow's routes that start grants or check codes and passwords share that
    limit; the sign-in stylesheet and sign-out do not, and neither do device polls (their own
    limit, below)."""
    tf = load_tf(TF)
    loc = tf_locals(tf)
    acl, rules = web_acl_rules(tf)
    rule = rules["rate-limit-token-routes-per-ip"]
    text = json.dumps(rule)
    assert "block" in json.dumps(rule["action"])
    both = one(one(one(one(rule["statement"])["rate_based_statement"])["scope_down_statement"])["and_statement"])["statement"]
    path, pattern = regex_of(next(s for s in both if "regex_match_statement" in s), loc)
    assert "uri_path" in json.dumps(path["field_to_match"]) and "LOWERCASE" in json.dumps(path["text_transformation"])
    limited = ["/token", "/revoke", "/device_authorization", "/device", "/authorize"]
    for p in limited + [f"/v1{p}" for p in limited]:
        assert pattern.search(p), p
    for p in ["/tokens", "/secure-data", "/search", "/.well-known/jwks.json", "/token/x", "/assets/signin.css",
              "/v1/assets/signin.css", "/devices", "/device/x", "/x_device_authorization", "/signout", "/v1/signout",
              "/authorized", "/authorize/x"]:
        assert not pattern.search(p), p
    excluded = one(one(one(next(s for s in both if "not_statement" in s)["not_statement"])["statement"])["label_match_statement"])
    assert one(excluded["scope"]) == "LABEL" and resolved(excluded["key"], loc) == loc["device_poll_label"]
    defaults = variable_defaults(tf)
    assert "${var.waf_token_rate_limit}" in text
    assert defaults["waf_token_rate_limit"] < defaults["waf_rate_limit"], defaults
    priorities = [one(r["priority"]) for r in acl["rule"]]
    assert len(priorities) == len(set(priorities)), priorities


# A TV's poll of the token endpoint as clients send it (RFC 8628 §3.4), in any parameter order,
# the URN's colons encoded or not.
DEVICE_POLLS = [
    "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Adevice_code&device_code=abc&client_id=oasis-tv",
    "client_id=oasis-tv&grant_type=urn:ietf:params:oauth:grant-type:device_code&device_code=abc",
    "device_code=abc&client_id=oasis-tv&grant_type=urn%3aietf%3aparams%3aoauth%3agrant-type%3adevice_code",
]
# Bodies that must stay under the token routes' limit: other grants, and everything that would
# slip a password (or a code) past it by looking like a poll to a careless match.
NOT_DEVICE_POLLS = [
    "grant_type=password&client_id=oasis-demo&username=demo&password=x",
    "grant_type=refresh_token&refresh_token=x",
    "grant_type=authorization_code&code=x&redirect_uri=https%3A%2F%2Fa.example%2Fcb&code_verifier=v",
    # The poll's parameter inside another value: %26 and %3D are a value's characters, not separators.
    "grant_type=password&username=demo&password=x%26grant_type%3Durn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Adevice_code",
    # A parameter the token function does not read (names are case-sensitive), beside a password grant.
    "GRANT_TYPE=urn:ietf:params:oauth:grant-type:device_code&grant_type=password&username=demo&password=x",
    "xgrant_type=urn:ietf:params:oauth:grant-type:device_code&grant_type=password&username=demo&password=x",
    # Another value that starts or ends like the URN.
    "grant_type=urn:ietf:params:oauth:grant-type:device_codex&username=demo&password=x",
    "grant_type=xurn:ietf:params:oauth:grant-type:device_code&username=demo&password=x",
    "grant_type=URN:IETF:PARAMS:OAUTH:GRANT-TYPE:DEVICE_CODE&username=demo&password=x",
]


def test_device_polls_have_a_per_ip_limit_of_their_own_so_two_tvs_behind_one_router_can_sign_in():
    """A TV polls POST /token every 5 s (60 times in 5 minutes) while its user signs in: under
    the token routes' limit, two TVs behind one home router would get 403s. Polls are labelled
    by an earlier counting rule (POST /token whose form's grant_type is exactly the device_code
    URN, matched on the raw body), left out of the token routes' limit, and limited by their
    own, higher one, which is still below the general limit that counts them too."""
    tf = load_tf(TF)
    loc = tf_locals(tf)
    acl, rules = web_acl_rules(tf)
    label_rule = rules["label-device-polls"]
    assert json.dumps(label_rule["action"]) == json.dumps([{"count": [{}]}]), "the labelling rule only counts"
    assert resolved(one(label_rule["rule_label"])["name"], loc) == loc["device_poll_label"]
    path_and_body = one(one(label_rule["statement"])["and_statement"])["statement"]
    assert len(path_and_body) == 2
    (path, path_pattern), (body, body_pattern) = (regex_of(s, loc) for s in path_and_body)
    assert "uri_path" in json.dumps(path["field_to_match"])
    for p in ["/token", "/v1/token"]:
        assert path_pattern.search(p), p
    for p in ["/revoke", "/device", "/device_authorization", "/authorize", "/token/x", "/tokens"]:
        assert not path_pattern.search(p), p
    assert "body" in json.dumps(body["field_to_match"])
    assert one(one(one(body["field_to_match"])["body"])["oversize_handling"]) == "NO_MATCH", "an uninspected body is no poll"
    # No decoding or case folding before the match: either would let a crafted body pose as a poll.
    assert [one(one(tt)["type"]) for tt in body["text_transformation"]] == ["NONE"]
    for b in DEVICE_POLLS:
        assert body_pattern.search(b), b
    for b in NOT_DEVICE_POLLS:
        assert not body_pattern.search(b), b

    polls = rules["rate-limit-device-polls-per-ip"]
    assert "block" in json.dumps(polls["action"])
    rate = one(one(polls["statement"])["rate_based_statement"])
    assert one(rate["limit"]) == "${var.waf_device_poll_rate_limit}" and one(rate["aggregate_key_type"]) == "IP"
    only = one(one(rate["scope_down_statement"])["label_match_statement"])
    assert resolved(only["key"], loc) == loc["device_poll_label"]

    priority = {name: one(r["priority"]) for name, r in rules.items()}
    assert priority["label-device-polls"] < min(priority["rate-limit-token-routes-per-ip"], priority["rate-limit-device-polls-per-ip"]), (
        "a label exists only for the rules evaluated after the one that adds it"
    )
    defaults = variable_defaults(tf)
    polls_per_tv = 300 // 5  # one poll every 5 s (RFC 8628 §3.5's default interval), in the 5-minute window
    assert defaults["waf_device_poll_rate_limit"] >= 2 * polls_per_tv + defaults["waf_token_rate_limit"], defaults
    assert defaults["waf_token_rate_limit"] < defaults["waf_device_poll_rate_limit"] < defaults["waf_rate_limit"], defaults
    condition = one(one(one(acl["lifecycle"])["precondition"])["condition"])
    assert condition == "${var.waf_device_poll_rate_limit < var.waf_rate_limit}", condition


def test_a_custom_domain_serves_the_issuer_at_its_root_so_rfc_8414_metadata_is_where_clients_look():
    """RFC 8414 §3.1: the metadata of issuer https://host/p is at
    https://host/.well-known/oauth-authorization-server/p, outside any API Gateway stage or base
    path. With a custom domain the stage is mapped at the root and the issuer must be the bare
    domain, so the metadata the token function serves is at the RFC's location."""
    tf = load_tf(TF)
    mapping = next(
        b["api"] for parsed in tf.values() for block in parsed.get("resource", []) for t, b in block.items()
        if t == "aws_api_gateway_base_path_mapping"
    )
    assert "base_path" not in mapping or one(mapping["base_path"]) in ("", None), "the stage is mapped at the root"
    condition = one(one(one(mapping["lifecycle"])["precondition"])["condition"])
    assert condition == '${var.issuer_url == "https://${var.domain_name}"}', condition


def test_the_stricter_stage_throttle_names_operations_of_the_api():
    """Each stricter method setting names an operation openapi.yaml declares (a typo would make
    API Gateway refuse the setting, or throttle nothing), and covers every route that checks a
    password or a code or starts a device sign-in. POST /token, which also carries the devices'
    polls, has a rate of its own that leaves the logins' rate free beside 150 devices polling
    every 5 s."""
    strict = tf_locals(load_tf(TF))["strict_throttle"]
    doc = render_openapi(TF / "openapi.yaml")
    operations = {f"{path.lstrip('/')}/{method.upper()}" for path, ops in doc["paths"].items() for method in ops}
    assert set(strict) <= operations, set(strict) - operations
    assert set(strict) >= {"token/POST", "device_authorization/POST", "device/POST", "authorize/POST"}, strict
    assert strict["token/POST"] == "${var.token_endpoint_throttle_rate_limit}", strict
    assert {v for k, v in strict.items() if k != "token/POST"} == {"${var.token_throttle_rate_limit}"}, strict
    defaults = variable_defaults(load_tf(TF))
    assert defaults["token_endpoint_throttle_rate_limit"] >= defaults["token_throttle_rate_limit"] + 150 / 5, defaults


def test_every_per_function_setting_covers_exactly_the_functions():
    """A function missing from one of these maps fails only at plan, and a variable that does not
    require it lets a tfvars file written before the function existed through validation:
    each names exactly the function crates."""
    tf = load_tf(TF)
    loc = tf_locals(tf)
    want = set(function_names())
    per_function = {name: set(loc[name]) for name in ("function_env", "function_timeout", "dynamodb_grants", "secret_grants")}
    for parsed in tf.values():
        for block in parsed.get("variable", []):
            for name, body in block.items():
                if name in ("function_memory_mb", "reserved_concurrency"):
                    default = body["default"][0] if isinstance(body["default"], list) else body["default"]
                    per_function[f"var.{name}"] = set(default)
                    condition = str(body["validation"][0]["condition"])
                    per_function[f"var.{name} validation"] = set(re.findall(r"'([a-z-]+)'", condition))
                    assert f"contains(keys(var.{name})" in condition.replace(" ", ""), f"{name}: validation does not require every function"
    assert len(per_function) == 8, sorted(per_function)
    assert {k: sorted(v) for k, v in per_function.items() if v != want} == {}, sorted(want)
