"""Who may read or change the keys every token depends on (terraform/key_guard.tf): the signing-key
and cursor secrets admit only their function's role and the operators; the JWKS every verifier
trusts can be written only by the operators; and any write to them raises an alarm on the alarm
topic.

No AWS account answers here, so the policies are evaluated by a small simulation of IAM's
explicit-deny rules (actions, NotAction, resources, principals and the Arn/String conditions the
policies use), over the Terraform's own expressions with example names, and the EventBridge
pattern by a matcher of the pattern syntax it uses. Each check returns its problems, and the
tests at the end remove each defence from a copy to show the check catches it."""

import fnmatch
import re
import shutil

import pytest

from consistency import ROOT, load_tf, tf_locals

TF = ROOT / "terraform"
AWS_RS = ROOT / "shared/auth/src/aws.rs"
README = ROOT / "README.md"

ACCOUNT, REGION, PREFIX = "123456789012", "eu-west-1", "oasis-prod"
# Example operators: a deployer role and an IAM Identity Center role by pattern.
OPERATORS = [f"arn:aws:iam::{ACCOUNT}:role/oasis-deployer", f"arn:aws:iam::{ACCOUNT}:role/aws-reserved/sso.amazonaws.com/*/AWSReservedSSO_OasisOperator_*"]
OPERATOR_SESSIONS = [OPERATORS[0], f"arn:aws:iam::{ACCOUNT}:role/aws-reserved/sso.amazonaws.com/eu-west-1/AWSReservedSSO_OasisOperator_0123abcd"]
# Principals of the same account that are not operators, whatever their IAM policies allow.
OUTSIDERS = [f"arn:aws:iam::{ACCOUNT}:role/ci-deployer", f"arn:aws:iam::{ACCOUNT}:user/admin", f"arn:aws:iam::{ACCOUNT}:root",
             f"arn:aws:iam::{ACCOUNT}:role/aws-reserved/sso.amazonaws.com/eu-west-1/AWSReservedSSO_Admin_0123abcd"]
AWS_SSM_KEY = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/aws-ssm-default-key"
SSM = f"ssm.{REGION}.amazonaws.com"


def one(v):
    """python-hcl2 wraps each value in a one-element list."""
    return v[0] if isinstance(v, list) and len(v) == 1 else v


# --- The Terraform's expressions, evaluated with example names --------------------------------

class Obj:
    """Attribute and index access for the evaluator: `local.x`, `each.value.reader`, `role["k"]`."""

    def __init__(self, get):
        self._get = get

    def __getattr__(self, name):
        if name.startswith("_"):
            raise AttributeError(name)
        return self._get(name)

    def __getitem__(self, key):
        return self._get(key)


def wrap(v):
    return Obj(lambda k: wrap(v[k])) if isinstance(v, dict) else v


def interpolations(s):
    """The `${...}` segments of a string, as (start, end, inner), braces balanced."""
    out, i = [], 0
    while (start := s.find("${", i)) >= 0:
        depth, j = 1, start + 2
        while depth:
            depth += {"{": 1, "}": -1}.get(s[j], 0)
            j += 1
        out.append((start, j, s[start + 2:j - 1]))
        i = j
    return out


def for_expressions(py):
    """`[for a in xs : f(a)]` as Python's `[f(a) for a in xs]`, brackets balanced."""
    while (m := re.search(r"\[for (\w+) in ([^:]+?) : ", py)):
        depth, j = 1, m.end()
        while depth:
            depth += {"[": 1, "]": -1}.get(py[j], 0)
            j += 1
        py = f"{py[:m.start()]}[{py[m.end():j - 1]} for {m.group(1)} in {m.group(2)}]{py[j:]}"
    return py


class Terraform:
    def __init__(self, tf, operators=OPERATORS):
        self.tf = tf
        self.locals = tf_locals(tf)
        self.operators = operators
        self.fixed = {"prefix": PREFIX, "account_id": ACCOUNT, "region": REGION, "partition": "aws"}

    def resources(self, rtype):
        return {name: body for parsed in self.tf.values() for block in parsed.get("resource", []) for name, body in block.get(rtype, {}).items()}

    def data(self, dtype):
        return {name: body for parsed in self.tf.values() for block in parsed.get("data", []) for name, body in block.get(dtype, {}).items()}

    def variable(self, name):
        return next((body for parsed in self.tf.values() for block in parsed.get("variable", []) for n, body in block.items() if n == name), None)

    def local(self, name):
        if name in self.fixed:
            return self.fixed[name]
        return self.ev(self.locals[name])

    def attribute(self, rtype, name, key, attr):
        body = self.resources(rtype).get(name)
        assert body is not None, f"no resource {rtype}.{name} is declared"
        each = {"key": key, "value": key}
        rname = self.ev(one(body.get("name")), each) if "name" in body else name
        key_id = f"00000000-0000-4000-8000-{sum(map(ord, name)):012d}"
        fmt = {
            "aws_iam_role": {"arn": f"arn:aws:iam::{ACCOUNT}:role/{rname}"},
            "aws_secretsmanager_secret": {"arn": f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:{rname}-Ab12Cd"},
            "aws_ssm_parameter": {"arn": f"arn:aws:ssm:{REGION}:{ACCOUNT}:parameter{rname}"},
            "aws_kms_key": {"key_id": key_id, "arn": f"arn:aws:kms:{REGION}:{ACCOUNT}:key/{key_id}"},
            "aws_sns_topic": {"arn": f"arn:aws:sns:{REGION}:{ACCOUNT}:{rname}"},
            "aws_cloudwatch_event_rule": {"arn": f"arn:aws:events:{REGION}:{ACCOUNT}:rule/{rname}"},
        }.get(rtype, {"arn": f"arn:aws:{rtype}:{REGION}:{ACCOUNT}:{rname}"}) | {"name": rname, "id": rname}
        return fmt[attr]

    def ev(self, value, each=None):
        """A value as python-hcl2 gives it, its `${...}` expressions evaluated."""
        if isinstance(value, list):
            return [self.ev(v, each) for v in value]
        if isinstance(value, dict):
            return {k: self.ev(v, each) for k, v in value.items() if not k.startswith("__")}
        if not isinstance(value, str) or "${" not in value:
            return value
        parts = interpolations(value)
        if len(parts) == 1 and parts[0][0] == 0 and parts[0][1] == len(value):
            return self.expression(parts[0][2], each)
        out, i = "", 0
        for start, end, inner in parts:
            out += value[i:start] + str(self.expression(inner, each))
            i = end
        return out + value[i:]

    def expression(self, text, each):
        # python-hcl2 writes a string inside an expression in single quotes, its own ${...} kept.
        py = re.sub(r"'([^']*\$\{[^']*)'", lambda m: f"_s({m.group(1)!r})", text)
        py = for_expressions(py)
        py = py.replace("&&", " and ").replace("||", " or ")
        env = {
            "local": Obj(self.local),
            "var": Obj(lambda n: self.operators if n == "operator_principal_arns" else one(self.variable(n)["default"])),
            "each": wrap(each or {}),
            "concat": lambda *ls: [x for part in ls for x in part],
            "toset": lambda xs: sorted(set(xs)),
            "length": len, "alltrue": all, "contains": lambda xs, x: x in xs,
            "regex": lambda p, s: re.search(p, s), "can": lambda m: m is not None,
            "jsonencode": lambda v: v, "true": True, "false": False, "null": None,
            "_s": lambda s: self.ev(s, each),
        }
        for rtype in set(re.findall(r"\b(aws_\w+)\.", py)):
            env[rtype] = Obj(lambda name, rtype=rtype: _Res(self, rtype, name))
        return eval(py, {"__builtins__": {}, **env})  # the repository's own Terraform, rewritten as Python


class _Res:
    """`aws_x.name.attr` and `aws_x.name[key].attr`."""

    def __init__(self, t, rtype, label, key=None):
        self._t, self._type, self._label, self._key = t, rtype, label, key

    def __getitem__(self, key):
        return _Res(self._t, self._type, self._label, key)

    def __getattr__(self, attr):
        if attr.startswith("_"):
            raise AttributeError(attr)
        return self._t.attribute(self._type, self._label, self._key, attr)


# --- A simulation of IAM's evaluation, as far as these policies need it ------------------------

def statements(t, doc, each=None, function=None):
    """The statements of a policy document, each as a dict of evaluated fields. For a function's
    role document, `function` selects which dynamic statements it gets (by their condition on
    local.jwks_readers or local.secret_grants)."""
    out = []
    for s in doc.get("statement", []):
        out.append(s)
    for d in doc.get("dynamic", []):
        block = one(d["statement"])
        cond = one(block["for_each"])
        if function is not None:
            readers = t.local("jwks_readers")
            if "local.jwks_readers" in cond and function not in readers:
                continue
            if "local.secret_grants" in cond and not t.local("secret_grants")[function]:
                continue
            if "local.dynamodb_grants" in cond:
                continue
        out.append(one(block["content"]))
    result = []
    for s in out:
        st = {k: t.ev(one(s[k]), each) for k in ("sid", "effect", "actions", "not_actions", "resources", "not_resources") if k in s}
        st.setdefault("effect", "Allow")
        st["principals"] = [(t.ev(one(p["type"]), each), t.ev(one(p["identifiers"]), each)) for p in s.get("principals", [])]
        st["conditions"] = [(t.ev(one(c["test"]), each), t.ev(one(c["variable"]), each), t.ev(one(c["values"]), each)) for c in s.get("condition", [])]
        result.append(st)
    return result


def like(patterns, value, case=True):
    return any(fnmatch.fnmatchcase(value if case else value.lower(), p if case else p.lower()) for p in patterns)


def applies(st, principal, action, resource, context, kind="AWS"):
    if "actions" in st and not like(st["actions"], action, case=False):
        return False
    if "not_actions" in st and like(st["not_actions"], action, case=False):
        return False
    if "resources" in st and not like(st["resources"], resource):
        return False
    if "not_resources" in st and like(st["not_resources"], resource):
        return False
    if st["principals"]:
        def admits(ptype, ids):
            if ptype != kind:
                return ptype == "AWS" and "*" in ids
            return "*" in ids or principal in ids or (kind == "AWS" and f"arn:aws:iam::{ACCOUNT}:root" in ids and f"::{ACCOUNT}:" in principal)
        if not any(admits(ptype, ids) for ptype, ids in st["principals"]):
            return False
    for test, variable, values in st["conditions"]:
        have = principal if variable == "aws:PrincipalArn" else context.get(variable)
        negated = "Not" in test
        if have is None:
            if not negated:
                return False
            continue
        hit = like(values, have) if test.replace("Not", "") in ("ArnLike", "StringLike") else have in values
        if hit == negated:
            return False
    return True


def denied(sts, principal, action, resource="*", context=None, kind="AWS"):
    return any(st["effect"] == "Deny" and applies(st, principal, action, resource, context or {}, kind) for st in sts)


def allowed(sts, principal, action, resource="*", context=None, kind="AWS"):
    context = context or {}
    return not denied(sts, principal, action, resource, context, kind) and any(
        st["effect"] == "Allow" and applies(st, principal, action, resource, context, kind) for st in sts)


def doc_of(t, reference):
    m = re.fullmatch(r"\$\{data\.aws_iam_policy_document\.(\w+)(\[each\.key\])?\.json\}", str(reference))
    assert m, f"a policy that is not an aws_iam_policy_document: {reference}"
    return m.group(1), t.data("aws_iam_policy_document")[m.group(1)]


def role(t, fn):
    return t.attribute("aws_iam_role", "function", fn, "arn")


# --- The checks ------------------------------------------------------------------------------

SECRET_WRITES = ["secretsmanager:PutSecretValue", "secretsmanager:UpdateSecret", "secretsmanager:DeleteSecret",
                 "secretsmanager:PutResourcePolicy", "secretsmanager:DeleteResourcePolicy", "secretsmanager:RotateSecret",
                 "secretsmanager:UpdateSecretVersionStage", "secretsmanager:RestoreSecret", "secretsmanager:TagResource"]


def secret_problems(tf, operators=OPERATORS):
    t = Terraform(tf, operators)
    problems = []
    guarded = {k: t.ev(v) for k, v in t.locals.get("guarded_secrets", {}).items()}
    secrets = {name: t.attribute("aws_secretsmanager_secret", name, None, "arn") for name in t.resources("aws_secretsmanager_secret")}
    by_arn = {g["arn"]: k for k, g in guarded.items()}
    for name, arn in secrets.items():
        if arn not in by_arn:
            problems.append(f"secret {name} has no resource policy (it is not in local.guarded_secrets)")
    grants = t.local("secret_grants")
    for key, g in guarded.items():
        readers = sorted(fn for fn, arns in grants.items() if g["arn"] in arns)
        if readers != [g["reader"]]:
            problems.append(f"{key}: its resource policy admits {g['reader']}, but iam.tf grants the read to {readers}")
    policies = t.resources("aws_secretsmanager_secret_policy")
    attached = {}
    for name, body in policies.items():
        each_map = t.ev(one(body["for_each"])) if "for_each" in body else {None: None}
        for key, value in each_map.items():
            each = {"key": key, "value": value}
            doc_name, doc = doc_of(t, one(body["policy"]))
            if one(body.get("block_public_policy")) is not True:
                problems.append(f"aws_secretsmanager_secret_policy.{name}: block_public_policy is not true")
            attached[t.ev(one(body["secret_arn"]), each)] = statements(t, doc, each)
    for key, g in guarded.items():
        sts = attached.get(g["arn"])
        if sts is None:
            problems.append(f"{key}: no aws_secretsmanager_secret_policy is attached to it")
            continue
        reader = role(t, g["reader"])
        others = OUTSIDERS + [role(t, fn) for fn in sorted(grants) if fn != g["reader"]]
        for who in others:
            for action in ["secretsmanager:GetSecretValue"] + SECRET_WRITES:
                if not denied(sts, who, action):
                    problems.append(f"{key}: {who} may {action}")
        if denied(sts, reader, "secretsmanager:GetSecretValue"):
            problems.append(f"{key}: its function {g['reader']} may not read it")
        for action in SECRET_WRITES:
            if not denied(sts, reader, action):
                problems.append(f"{key}: its function {g['reader']} may {action}")
        for who in OPERATOR_SESSIONS:
            for action in ["secretsmanager:GetSecretValue"] + SECRET_WRITES:
                if denied(sts, who, action):
                    problems.append(f"{key}: the operator {who} may not {action}")
    return problems


KEY_WRITES = ["kms:Encrypt", "kms:GenerateDataKey", "kms:GenerateDataKeyWithoutPlaintext", "kms:ReEncryptTo", "kms:ReEncryptFrom",
              "kms:CreateGrant", "kms:PutKeyPolicy", "kms:DisableKey", "kms:ScheduleKeyDeletion", "kms:CreateAlias", "kms:ImportKeyMaterial"]


def jwks_problems(tf, aws_rs=AWS_RS, operators=OPERATORS):
    t = Terraform(tf, operators)
    problems = []
    param = t.resources("aws_ssm_parameter")["jwks"]
    if one(param.get("type")) != "SecureString":
        problems.append(f"the JWKS parameter is a {one(param.get('type'))}, not a SecureString: anyone with ssm:PutParameter can add a key")
    key_ref = re.fullmatch(r"\$\{aws_kms_key\.(\w+)\.(arn|key_id|id)\}", str(one(param.get("key_id"))))
    if not key_ref or key_ref.group(1) != "jwks":
        problems.append(f"the JWKS parameter is not under the JWKS key: key_id {one(param.get('key_id'))}")
        return problems
    key_arn = t.attribute("aws_kms_key", "jwks", None, "arn")
    param_arn = t.attribute("aws_ssm_parameter", "jwks", None, "arn")
    _, doc = doc_of(t, one(t.resources("aws_kms_key")["jwks"]["policy"]))
    key = statements(t, doc)
    readers = t.local("jwks_readers")
    functions = sorted(t.local("secret_grants"))
    for who in OUTSIDERS + [role(t, fn) for fn in functions]:
        for action in KEY_WRITES:
            if not denied(key, who, action):
                problems.append(f"JWKS key: {who} may {action} (and so write a JWKS verifiers accept)")
    for who in OUTSIDERS + [role(t, fn) for fn in functions if fn not in readers]:
        if not denied(key, who, "kms:Decrypt"):
            problems.append(f"JWKS key: {who} may kms:Decrypt")
    for who in OPERATOR_SESSIONS:
        for action in KEY_WRITES + ["kms:Decrypt"]:
            if not allowed(key, who, action):
                problems.append(f"JWKS key: the operator {who} may not {action}")
    ctx = {"kms:ViaService": SSM, "kms:EncryptionContext:PARAMETER_ARN": param_arn}
    for fn in readers:
        if not allowed(key, role(t, fn), "kms:Decrypt", "*", ctx):
            problems.append(f"JWKS key: the verifier {fn} may not decrypt the JWKS")
    doc = t.data("aws_iam_policy_document")["function"]
    main_key = t.attribute("aws_kms_key", "main", None, "arn")
    for fn in readers:
        own = statements(t, doc, {"key": fn, "value": fn}, function=fn)
        if not allowed(own, role(t, fn), "kms:Decrypt", key_arn, ctx):
            problems.append(f"iam.tf: the verifier {fn} is not granted kms:Decrypt of the JWKS through SSM")
        for other in (AWS_SSM_KEY, main_key):
            if not denied(own, role(t, fn), "kms:Decrypt", other, {"kms:ViaService": SSM}):
                problems.append(f"iam.tf: the verifier {fn} may decrypt a parameter under another key ({other}): a JWKS rewritten under aws/ssm would be trusted")
        if denied(own, role(t, fn), "kms:Decrypt", main_key, {"kms:ViaService": f"secretsmanager.{REGION}.amazonaws.com"}):
            problems.append(f"iam.tf: the verifier {fn} may no longer decrypt its secrets")
    code = aws_rs.read_text()
    load = code.split("impl PublicKeySource for SsmJwks", 1)[-1].split("\n}\n", 1)[0]
    if ".with_decryption(true)" not in load or "secure_value(" not in load:
        problems.append("SsmJwks::load_jwks does not read the JWKS decrypted through secure_value")
    m = re.search(r"fn secure_value\(.*?\n}\n", code, re.S)
    if not m or "Some(ParameterType::SecureString) =>" not in m.group(0) or "Err(" not in m.group(0):
        problems.append("secure_value does not refuse a JWKS parameter that is not a SecureString")
    write = code.split("pub async fn write(&self, jwks: &PublicJwks)", 1)[-1].split("\n    }\n", 1)[0]
    if "ParameterType::SecureString" not in write or ".set_key_id(key_id)" not in write:
        problems.append("SsmJwks::write does not write a SecureString under the parameter's key")
    return problems


def pattern_matches(pattern, event):
    """EventBridge's matching, for the syntax the pattern uses: nested fields, value lists (an
    array in the event matches if any element does), prefix, and $or."""
    for field, want in pattern.items():
        if field == "$or":
            if not any(pattern_matches(alternative, event) for alternative in want):
                return False
            continue
        if field not in event:
            return False
        have = event[field]
        if isinstance(want, dict):
            if not isinstance(have, dict) or not pattern_matches(want, have):
                return False
            continue
        assert isinstance(want, list), f"{field}: an EventBridge pattern's values are lists, not {want!r}"
        values = have if isinstance(have, list) else [have]

        def hit(w, v):
            if isinstance(w, dict):
                assert set(w) == {"prefix"}, f"matcher {w} is not simulated here"
                return isinstance(v, str) and v.startswith(w["prefix"])
            return w == v
        if not any(hit(w, v) for w in want for v in values):
            return False
    return True


def cloudtrail(source, name, params, error=None):
    detail = {"eventSource": f"{source}.amazonaws.com", "eventName": name, "requestParameters": params,
              "userIdentity": {"arn": f"arn:aws:sts::{ACCOUNT}:assumed-role/ci-deployer/session"}}
    if error:
        detail["errorCode"] = error
    return {"source": f"aws.{source}", "detail-type": "AWS API Call via CloudTrail", "detail": detail}


def alarm_problems(tf, readme_text):
    t = Terraform(tf)
    problems = []
    rules = t.resources("aws_cloudwatch_event_rule")
    rule = rules.get("key_writes")
    if rule is None:
        return ["no aws_cloudwatch_event_rule.key_writes"]
    if one(rule.get("state", ["ENABLED"])) != "ENABLED":
        problems.append(f"the key-write rule's state is {one(rule.get('state'))}, not ENABLED")
    pattern = t.ev(one(rule["event_pattern"]))
    signing = t.attribute("aws_secretsmanager_secret", "signing_keys", None, "name")
    cursor = t.attribute("aws_secretsmanager_secret", "cursor_key", None, "name")
    secret_arn = lambda n: t.attribute("aws_secretsmanager_secret", {signing: "signing_keys", cursor: "cursor_key"}[n], None, "arn")  # noqa: E731
    partial = lambda n: f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:{n}"  # noqa: E731
    jwks = t.attribute("aws_ssm_parameter", "jwks", None, "name")
    key_id, key_arn = (t.attribute("aws_kms_key", "jwks", None, a) for a in ("key_id", "arn"))
    writes = [
        cloudtrail("secretsmanager", "PutSecretValue", {"secretId": signing}),
        cloudtrail("secretsmanager", "PutSecretValue", {"secretId": secret_arn(signing)}),
        cloudtrail("secretsmanager", "PutSecretValue", {"secretId": partial(cursor)}),
        cloudtrail("secretsmanager", "PutResourcePolicy", {"secretId": cursor}),
        cloudtrail("secretsmanager", "DeleteResourcePolicy", {"secretId": signing}, error="AccessDeniedException"),
        cloudtrail("secretsmanager", "UpdateSecret", {"secretId": signing, "kmsKeyId": "alias/other"}),
        cloudtrail("secretsmanager", "DeleteSecret", {"secretId": cursor, "forceDeleteWithoutRecovery": True}),
        cloudtrail("secretsmanager", "CreateSecret", {"name": signing}),
        cloudtrail("ssm", "PutParameter", {"name": jwks, "type": "SecureString", "overwrite": True}),
        cloudtrail("ssm", "PutParameter", {"name": jwks, "type": "String", "keyId": "alias/aws/ssm"}, error="AccessDeniedException"),
        cloudtrail("ssm", "DeleteParameter", {"name": jwks}),
        cloudtrail("ssm", "DeleteParameters", {"names": [f"/{PREFIX}/other", jwks]}),
        cloudtrail("ssm", "LabelParameterVersion", {"name": jwks, "labels": ["x"]}),
        cloudtrail("kms", "PutKeyPolicy", {"keyId": key_id, "policyName": "default"}),
        cloudtrail("kms", "CreateGrant", {"keyId": key_arn, "operations": ["Encrypt"]}),
        cloudtrail("kms", "ScheduleKeyDeletion", {"keyId": key_id}),
    ]
    main_key = t.attribute("aws_kms_key", "main", None, "key_id")
    others = [
        cloudtrail("secretsmanager", "PutSecretValue", {"secretId": f"{PREFIX}-other"}),
        cloudtrail("ssm", "PutParameter", {"name": f"/{PREFIX}/other"}),
        cloudtrail("kms", "PutKeyPolicy", {"keyId": main_key}),
        cloudtrail("kms", "Decrypt", {"keyId": key_id}),
    ]
    try:
        for e in writes:
            if not pattern_matches(pattern, e):
                problems.append(f"the key-write rule misses {e['detail']['eventName']} {e['detail']['requestParameters']}")
        for e in others:
            if pattern_matches(pattern, e):
                problems.append(f"the key-write rule matches {e['detail']['eventName']} {e['detail']['requestParameters']}, which is no write to the keys")
    except AssertionError as e:
        problems.append(f"the key-write pattern: {e}")
    topic = t.attribute("aws_sns_topic", "alarms", None, "arn")
    if t.local("alarm_actions") != [topic]:
        problems.append("the alarms no longer publish to aws_sns_topic.alarms: update this test")
    targets = [b for b in t.resources("aws_cloudwatch_event_target").values()
               if t.ev(one(b["rule"])) == t.attribute("aws_cloudwatch_event_rule", "key_writes", None, "name")]
    if [t.ev(one(b["arn"])) for b in targets] != [topic]:
        problems.append("the key-write rule does not target the alarm topic (alone)")
    for b in targets:
        template = str(t.ev(one(one(b.get("input_transformer", [{}])).get("input_template", "")))) if "input_transformer" in b else ""
        if template and "README, key-write" not in template:
            problems.append("the key-write notification does not name its runbook")
    rule_arn = t.attribute("aws_cloudwatch_event_rule", "key_writes", None, "arn")
    policies = [b for b in t.resources("aws_sns_topic_policy").values() if t.ev(one(b["arn"])) == topic]
    if len(policies) != 1:
        problems.append("the alarm topic has no topic policy: EventBridge may not publish to it")
    else:
        _, doc = doc_of(t, one(policies[0]["policy"]))
        sts = statements(t, doc)
        if not allowed(sts, "events.amazonaws.com", "sns:Publish", topic, {"aws:SourceArn": rule_arn}, kind="Service"):
            problems.append("the alarm topic's policy does not let the key-write rule publish")
        if allowed(sts, "events.amazonaws.com", "sns:Publish", topic, {"aws:SourceArn": f"arn:aws:events:{REGION}:999999999999:rule/x"}, kind="Service"):
            problems.append("the alarm topic's policy lets any EventBridge rule publish")
        alarm = f"arn:aws:cloudwatch:{REGION}:{ACCOUNT}:alarm:{PREFIX}-brute-force-logins"
        if not allowed(sts, "cloudwatch.amazonaws.com", "sns:Publish", topic, {"aws:SourceArn": alarm, "aws:SourceAccount": ACCOUNT}, kind="Service"):
            problems.append("the alarm topic's policy no longer lets the stack's CloudWatch alarms publish")
        for name, body in t.resources("aws_cloudwatch_metric_alarm").items():
            if not str(one(body["alarm_name"])).startswith("${local.prefix}-"):
                problems.append(f"alarm {name}'s name does not start with the prefix the topic's policy admits")
    topic_key = re.fullmatch(r"\$\{aws_kms_key\.(\w+)\.(arn|key_id|id)\}", str(one(t.resources("aws_sns_topic")["alarms"].get("kms_master_key_id"))))
    if topic_key:
        _, doc = doc_of(t, one(t.resources("aws_kms_key")[topic_key.group(1)]["policy"]))
        sts = statements(t, doc)
        for action in ("kms:GenerateDataKey", "kms:Decrypt"):
            if not allowed(sts, "events.amazonaws.com", action, kind="Service"):
                problems.append(f"the alarm topic's KMS key does not let EventBridge {action} (unconditioned: its requests carry no source)")
    if "Runbook: README, key-write." not in str(one(rule.get("description"))):
        problems.append("the key-write rule's description does not name its runbook")
    runbook = readme_text.split("### Alarms and what to do first", 1)[-1].split("\n## ", 1)[0]
    entry = re.search(r"^- \*\*key-write\*\* — (.*?)(?=^- \*\*|\Z)", runbook, re.S | re.M)
    if not entry:
        problems.append("README \"Alarms and what to do first\" has no key-write entry")
    elif not all(w in entry.group(1) for w in ("oasis-admin keys", "terraform apply", "errorCode", "userIdentity")):
        problems.append("the key-write runbook does not say which writes are expected and how to tell them from an attack")
    return problems


def operator_problems(tf):
    t = Terraform(tf)
    problems = []
    var = t.variable("operator_principal_arns")
    if var is None:
        return ["no variable operator_principal_arns"]
    if "default" in var:
        problems.append("operator_principal_arns has a default: every deployment must name its own operators")
    if one(var.get("type")) != "${list(string)}" or not one(var.get("description")):
        problems.append("operator_principal_arns is not a described list(string)")
    condition = one(one(var.get("validation", [{}])).get("condition", ""))

    def valid(arns):
        try:
            return bool(Terraform(tf, arns).ev(condition))
        except (KeyError, TypeError, SyntaxError, NameError):
            return False
    for arns in ([OPERATORS[0]], OPERATORS, [f"arn:aws:iam::{ACCOUNT}:user/ops"], [f"arn:aws-us-gov:iam::{ACCOUNT}:role/ops"]):
        if not valid(arns):
            problems.append(f"operator_principal_arns refuses {arns}")
    for arns in ([], ["*"], [f"arn:aws:iam::*:role/ops"], [f"arn:aws:iam::{ACCOUNT}:role/*"], [f"arn:aws:iam::{ACCOUNT}:*"],
                 [f"arn:aws:sts::{ACCOUNT}:assumed-role/ops/me"], [OPERATORS[0], "arn:aws:iam::*:root"]):
        if valid(arns):
            problems.append(f"operator_principal_arns accepts {arns}")
    return problems


# --- The tests -------------------------------------------------------------------------------

def test_a_principal_outside_the_owning_role_and_the_operators_can_neither_read_nor_rewrite_the_signing_or_cursor_secret():
    """An administrator, a CI role or another function whose IAM policy allows secretsmanager:*
    is denied by each secret's resource policy; its own function may only read it; the
    operators (who run terraform apply and oasis-admin) keep every action."""
    assert secret_problems(load_tf(TF)) == []


def test_a_principal_with_ssm_put_parameter_cannot_extend_the_jwks_every_verifier_trusts():
    """SSM has no resource policies: the JWKS is a SecureString under a key only the operators
    may encrypt with; the verifiers decrypt parameters under no other key and refuse anything
    but a SecureString, so a JWKS written by anyone else is refused, not trusted."""
    assert jwks_problems(load_tf(TF)) == []


def test_any_write_to_the_key_secrets_or_the_jwks_raises_an_alarm_on_the_alarm_topic():
    """Allowed or refused, by name or by ARN: the write reaches the alarm topic, which lets that
    rule (and the stack's alarms) publish and whose key lets EventBridge encrypt; reads do not."""
    assert alarm_problems(load_tf(TF), README.read_text()) == []


def test_the_operator_list_can_neither_be_empty_nor_admit_every_principal():
    assert operator_problems(load_tf(TF)) == []


# Each defence removed from a copy, and what the checks then say.
MUTATIONS = {
    "public policy allowed": ("key_guard.tf", "block_public_policy = true", "block_public_policy = false", secret_problems,
                              "block_public_policy is not true"),
    "root admitted to the secrets": ("key_guard.tf", "values   = concat([aws_iam_role.function[each.value.reader].arn], var.operator_principal_arns)",
                                     'values   = concat([aws_iam_role.function[each.value.reader].arn], var.operator_principal_arns, ["arn:${local.partition}:iam::${local.account_id}:root"])',
                                     secret_problems, f"arn:aws:iam::{ACCOUNT}:root may secretsmanager:GetSecretValue"),
    "the reader may write": ("key_guard.tf", 'sid         = "ItsFunctionOnlyReads"\n    effect      = "Deny"', 'sid         = "ItsFunctionOnlyReads"\n    effect      = "Allow"',
                             secret_problems, "its function token may secretsmanager:PutSecretValue"),
    "cursor secret unguarded": ("key_guard.tf", "    cursor_key   = {", "    # cursor_key   = {", secret_problems,
                                "secret cursor_key has no resource policy"),
    "the JWKS a String": ("keys.tf", 'type        = "SecureString"', 'type        = "String"', jwks_problems, "not a SecureString"),
    "the JWKS under the stack key": ("keys.tf", "key_id      = aws_kms_key.jwks.arn", "key_id      = aws_kms_key.main.arn", jwks_problems,
                                     "not under the JWKS key"),
    "anyone encrypts with the JWKS key": ("key_guard.tf", 'not_actions = concat(["kms:Decrypt"], local.key_metadata_reads)',
                                          'not_actions = concat(["kms:Decrypt", "kms:Encrypt"], local.key_metadata_reads)', jwks_problems,
                                          f"arn:aws:iam::{ACCOUNT}:role/ci-deployer may kms:Encrypt"),
    "verifiers decrypt under any key": ("iam.tf", 'sid           = "NoParameterUnderAnotherKey"', 'sid           = "NoParameterUnderAnotherKeyX"\n      effect = "Allow"',
                                        jwks_problems, "may decrypt a parameter under another key"),
    "no write to the JWKS alarms": ("key_guard.tf", "{ eventSource = [\"ssm.amazonaws.com\"], requestParameters = { name = local.jwks_parameter_ids } },", "",
                                    alarm_problems, "misses PutParameter"),
    "the cursor secret's writes unwatched": ("key_guard.tf", "aws_secretsmanager_secret.cursor_key.name, { prefix", "{ prefix", alarm_problems,
                                             "misses PutResourcePolicy"),
    "reads raise the alarm": ("key_guard.tf", 'state         = "ENABLED"', 'state         = "ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS"',
                              alarm_problems, "not ENABLED"),
    "the rule cannot publish": ("monitoring.tf", 'identifiers = ["events.amazonaws.com"]', 'identifiers = ["sns.amazonaws.com"]', alarm_problems,
                                "does not let the key-write rule publish"),
    "the topic key refuses EventBridge": ("kms.tf", 'identifiers = ["events.amazonaws.com"]', 'identifiers = ["scheduler.amazonaws.com"]', alarm_problems,
                                          "does not let EventBridge kms:GenerateDataKey"),
    "alarms locked out of the topic": ("monitoring.tf", 'values   = ["arn:${local.partition}:cloudwatch:${local.region}:${local.account_id}:alarm:${local.prefix}-*"]',
                                       'values   = ["arn:${local.partition}:cloudwatch:${local.region}:${local.account_id}:alarm:other-*"]', alarm_problems,
                                       "no longer lets the stack's CloudWatch alarms publish"),
    "no operators needed": ("variables.tf", "length(var.operator_principal_arns) > 0 && ", "", operator_problems, "accepts []"),
    "any role an operator": ("variables.tf", "[A-Za-z0-9+=,.@_/*-]*[A-Za-z0-9+=,.@_-][A-Za-z0-9+=,.@_/*-]*", "[A-Za-z0-9+=,.@_/*-]+", operator_problems,
                             f"accepts ['arn:aws:iam::{ACCOUNT}:role/*']"),
}


@pytest.mark.parametrize("mutation", sorted(MUTATIONS))
def test_removing_any_of_these_defences_is_caught(tmp_path, mutation):
    file, old, new, check, says = MUTATIONS[mutation]
    tf = tmp_path / "terraform"
    shutil.copytree(TF, tf)
    text = (tf / file).read_text()
    assert old in text, f"{file} no longer contains {old!r}: update this test"
    (tf / file).write_text(text.replace(old, new, 1))
    args = (load_tf(tf), README.read_text()) if check is alarm_problems else (load_tf(tf),)
    problems = "\n".join(check(*args))
    assert says in problems, problems


@pytest.mark.parametrize("old,new,says", [
    (".with_decryption(true)\n", "\n", "does not read the JWKS decrypted"),
    ("Some(ParameterType::SecureString) => parameter.value.ok_or(KeyError::Empty),", "_ => parameter.value.ok_or(KeyError::Empty),", "does not refuse"),
    (".set_key_id(key_id)", ".set_key_id(None::<String>)", "does not write a SecureString under the parameter's key"),
])
def test_a_verifier_that_trusts_a_plain_or_undecrypted_jwks_is_caught(tmp_path, old, new, says):
    code = AWS_RS.read_text()
    assert old in code, f"aws.rs no longer contains {old!r}: update this test"
    copy = tmp_path / "aws.rs"
    copy.write_text(code.replace(old, new, 1))
    assert says in "\n".join(jwks_problems(load_tf(TF), aws_rs=copy))


def test_an_alarm_without_its_runbook_entry_is_caught():
    readme = README.read_text().replace("- **key-write** —", "- **key-writes** —")
    assert "has no key-write entry" in "\n".join(alarm_problems(load_tf(TF), readme))
