"""Holds terraform/ and terraform/openapi.yaml against the code. Each check returns a list of
problems (empty when everything agrees), so tests can show both the clean state and that a
drift is caught."""

import json
import re
import subprocess
from pathlib import Path

import hcl2
import yaml

ROOT = Path(__file__).resolve().parents[2]
FUNCTIONS = ROOT / "functions"

# Read by the code but only for local runs; in AWS their AWS counterparts are set instead.
LOCAL_ONLY = {"OASIS_SQLITE_PATH", "OASIS_KEYS_FILE", "OASIS_JWKS_FILE", "OASIS_CURSOR_KEY_FILE", "OASIS_AWS_ENDPOINT"}
# Set by the Lambda runtime (logging_config) or optional overrides with defaults.
RUNTIME = {"AWS_LAMBDA_LOG_LEVEL", "RUST_LOG"}
# Read by a library, not by our code.
LIBRARY = {"AWS_LAMBDA_HTTP_IGNORE_STAGE_IN_PATH"}

ENV_RE = re.compile(r'"((?:OASIS|AWS_LAMBDA|RUST)_[A-Z0-9_]*)"')


def function_names():
    return sorted(p.name for p in FUNCTIONS.iterdir() if (p / "Cargo.toml").exists())


def load_tf(tf_dir):
    out = {}
    for f in sorted(Path(tf_dir).glob("*.tf")):
        with open(f) as fh:
            out[f.name] = hcl2.load(fh)
    return out


def tf_locals(tf):
    """The locals of all files; python-hcl2 wraps each value in a one-element list."""
    merged = {}
    for parsed in tf.values():
        for block in parsed.get("locals", []):
            for k, v in block.items():
                merged[k] = v[0] if isinstance(v, list) and len(v) == 1 else v
    return merged


def tf_set(expr):
    """The names in a `toset([...])` expression."""
    return set(re.findall(r"'([^']+)'", str(expr)))


def render_openapi(path, enable_keys=False):
    text = Path(path).read_text()
    for name in ("token", "secure_data", "search", "signin"):
        text = text.replace("${%s_invoke_arn}" % name, f"arn:aws:apigateway:eu-west-1:lambda:path/2015-03-31/functions/arn:aws:lambda:eu-west-1:123456789012:function:{name}/invocations")
    security = [{"bearer": [], "partner_key": []}] if enable_keys else [{"bearer": []}]
    text = text.replace("${search_security}", json.dumps(security))
    assert "${" not in text, "an unrendered template placeholder is left in openapi.yaml"
    return yaml.safe_load(text)


def openapi_routes(spec):
    """{function: {(METHOD, path)}} from each operation's integration URI."""
    routes = {}
    for path, item in spec["paths"].items():
        for method, op in item.items():
            uri = op.get("x-amazon-apigateway-integration", {}).get("uri", "")
            m = re.search(r"function:([a-z_]+)/invocations", uri)
            fn = m.group(1).replace("_", "-") if m else "?"
            routes.setdefault(fn, set()).add((method.upper(), path))
    return routes


def code_routes(fn):
    text = (FUNCTIONS / fn / "src/lib.rs").read_text()
    m = re.search(r"pub const ROUTES: &\[\(&str, &str\)\] = &\[(.*?)\];", text, re.S)
    return set(re.findall(r'\("([A-Z]+)",\s*"([^"]+)"\)', m.group(1))) if m else set()


def watch_router():
    text = (ROOT / "Cargo.toml").read_text()
    block = text.split("[workspace.metadata.lambda.watch.router]", 1)[1].split("\n[", 1)[0]
    return dict(re.findall(r'^"([^"]+)"\s*=\s*"([^"]+)"', block, re.M))


def code_env(fn):
    """Environment variables the function's code reads, including the shared config it uses."""
    src = "\n".join(p.read_text() for p in (FUNCTIONS / fn / "src").rglob("*.rs"))
    names = set(ENV_RE.findall(src))
    config = (ROOT / "shared/lambda/src/config.rs").read_text()
    parts = {
        "StoreConfig": config.split("impl StoreConfig", 1)[1].split("\n}\n", 1)[0],
        "VerifierConfig": config.split("impl VerifierConfig", 1)[1].split("\n}\n", 1)[0],
        "argon2_params": config.split("pub const ARGON2_VARS", 1)[1].split("\n", 1)[0],
    }
    for marker, body in parts.items():
        if marker in src:
            names |= set(ENV_RE.findall(body))
    # What the shell reads for every function: the AWS SDK, metrics, logging.
    names |= set(ENV_RE.findall(config.split("impl Aws", 1)[1].split("\n}\n", 1)[0]))
    metrics = (ROOT / "shared/lambda/src/metrics.rs").read_text()
    names |= set(ENV_RE.findall(metrics.split("pub fn from_env", 1)[1].split("\n    }\n", 1)[0]))
    names |= set(ENV_RE.findall((ROOT / "shared/lambda/src/lib.rs").read_text().split("pub fn init_tracing", 1)[1]))
    return names


def tf_env(tf):
    """{function: set of variable names} from functions.tf's locals: the names a function's
    entry sets itself and those of every map local it merges in (local.common_env, ...)."""
    loc = tf_locals(tf)
    out = {}
    for fn, expr in loc["function_env"].items():
        names = set(re.findall(r"\b((?:OASIS|AWS)_[A-Z0-9_]+)\b", str(expr))) - {"OASIS_"}
        for ref in re.findall(r"\blocal\.([a-z0-9_]+)\b", str(expr)):
            assert isinstance(loc.get(ref), dict), f"function_env.{fn} merges local.{ref}, which is not a map of variables"
            names |= set(loc[ref].keys())
        out[fn] = names
    return out


def check_functions(tf):
    want = set(function_names())
    declared = tf_set(tf_locals(tf)["functions"])
    problems = []
    if declared != want:
        problems.append(f"function crates {sorted(want)} but Terraform deploys {sorted(declared)}")
    text = json.dumps(tf)
    for resource in ("aws_lambda_function", "aws_iam_role", "aws_cloudwatch_log_group"):
        if resource not in text:
            problems.append(f"no {resource} in Terraform")
    return problems


def check_routes(spec):
    problems = []
    api = openapi_routes(spec)
    for fn in function_names():
        code, doc = code_routes(fn), api.get(fn, set())
        for r in sorted(code - doc):
            problems.append(f"{fn} serves {r[0]} {r[1]} but openapi.yaml does not route it there")
        for r in sorted(doc - code):
            problems.append(f"openapi.yaml routes {r[0]} {r[1]} to {fn}, which does not serve it")
    unknown = set(api) - set(function_names())
    if unknown:
        problems.append(f"openapi.yaml integrates unknown functions {sorted(unknown)}")
    router = watch_router()
    # The local run's catch-all: unknown paths reach a function's shell for its own 404.
    if router.pop("/", None) not in function_names() or router.pop("/{*path}", None) not in function_names():
        problems.append("cargo lambda watch router has no catch-all \"/{*path}\" and \"/\" to a function (unknown paths would get cargo-lambda's page)")
    doc_paths = {path: fn for fn, rs in api.items() for _, path in rs}
    if router != doc_paths:
        problems.append(f"cargo lambda watch router {router} differs from openapi.yaml {doc_paths}")
    return problems


def check_env(tf):
    problems = []
    env = tf_env(tf)
    for fn in function_names():
        code = code_env(fn)
        needed = code - LOCAL_ONLY - RUNTIME
        have = env.get(fn, set())
        for name in sorted(needed - have):
            problems.append(f"{fn} reads {name} but Terraform does not set it")
        for name in sorted(have - code - LIBRARY):
            problems.append(f"Terraform sets {name} for {fn}, which never reads it")
    return problems


def check_key_access(tf):
    """Secrets Manager and SSM grants follow the key sources each function's code builds."""
    problems = []
    loc = tf_locals(tf)
    for fn in function_names():
        main = "\n".join(p.read_text() for p in (FUNCTIONS / fn / "src").rglob("*.rs"))
        reads_secret = "SecretsManagerKeySet" in main
        granted_secret = len(loc["secret_grants"].get(fn, [])) > 0
        if reads_secret != granted_secret:
            problems.append(f"{fn}: reads a secret = {reads_secret}, granted one = {granted_secret}")
        reads_jwks = "key_ring(" in main
        granted_jwks = fn in tf_set(loc["jwks_readers"])
        if reads_jwks != granted_jwks:
            problems.append(f"{fn}: reads the JWKS parameter = {reads_jwks}, granted = {granted_jwks}")
    return problems


def check_tables(tf):
    admin = ROOT / "target/debug/oasis-admin"
    specs = json.loads(subprocess.run([str(admin), "tables", "describe"], capture_output=True, text=True, check=True).stdout)
    code = {s["suffix"]: s for s in specs}
    tables = tf_locals(tf)["tables"]
    problems = []
    if set(code) != set(tables):
        problems.append(f"code tables {sorted(code)} vs Terraform {sorted(tables)}")
    for name in set(code) & set(tables):
        c, t = code[name], tables[name]
        if c["hash_key"] != "pk" or c["range_key"] != t["range_key"]:
            problems.append(f"{name}: keys differ (code {c['hash_key']}/{c['range_key']}, Terraform pk/{t['range_key']})")
        if dict(c["indexes"]) != (t["indexes"] or {}):
            problems.append(f"{name}: indexes differ (code {c['indexes']}, Terraform {t['indexes']})")
        if c["ttl_attribute"] != t["ttl"]:
            problems.append(f"{name}: TTL differs (code {c['ttl_attribute']}, Terraform {t['ttl']})")
    return problems


def all_problems(tf_dir, openapi_path):
    tf = load_tf(tf_dir)
    spec = render_openapi(openapi_path)
    return check_functions(tf) + check_routes(spec) + check_env(tf) + check_key_access(tf) + check_tables(tf)
