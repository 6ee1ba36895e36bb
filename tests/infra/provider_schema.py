"""What `terraform validate` would say about argument names, without a Terraform binary.

The AWS provider's schema comes from the jsii assembly of `@cdktf/provider-aws` (npm), which is
generated from `terraform providers schema -json` of one provider release: every resource and
data source, each argument (required or optional) and each nested block, with a link to the
provider's documentation whose anchor is the argument's Terraform name. `make infra` fetches the
pinned release; `problems()` holds every resource and data block of terraform/ against it, and
`reference_problems()` every `aws_x.name.attribute` reference.

It checks names, required arguments and nesting; it cannot check values or expressions (types,
references, functions), which only `terraform validate`/`plan` can. Where the assembly types a
block as `any` (WAF rule statements, which nest recursively), what is inside goes unchecked.
"""

import json
import re
from pathlib import Path

from consistency import ROOT, load_tf

# `@cdktf/provider-aws` 19.65.1 was generated from hashicorp/aws 5.99.1; `make infra` fetches it.
PROVIDER_VERSION = (5, 99, 1)
SCHEMA_FILE = ROOT / "target/provider-schema/aws-5.99.1.jsii"

ANCHOR = re.compile(r"docs/(resources|data-sources)/([a-z0-9_]+)#([a-z0-9_]+)")
# Meta-arguments of every resource and data block (Terraform's own, not the provider's).
META = {"count", "for_each", "depends_on", "provider", "lifecycle", "provisioner", "connection"}


def load(path=SCHEMA_FILE):
    """{("resource"|"data", "aws_…"): block}, a block being {name: (required, nested block or None)}."""
    if not Path(path).exists():
        raise AssertionError(f"{path} is missing: `make infra` fetches it (npm pack @cdktf/provider-aws)")
    types = json.loads(Path(path).read_text())["types"]
    memo = {}

    def nested_fqn(t):
        """The block type a property holds, if it is a block (a single one or a list of them)."""
        if "union" in t:
            return next(filter(None, (nested_fqn(u) for u in t["union"]["types"])), None)
        if "collection" in t and t["collection"]["kind"] == "array":
            return nested_fqn(t["collection"]["elementtype"])
        fqn = t.get("fqn", "")
        return fqn if fqn in types and types[fqn].get("datatype") else None

    def block(fqn):
        if fqn in memo:
            return memo[fqn]
        memo[fqn] = out = {}
        for p in types[fqn].get("properties", []):
            docs = p.get("docs", {})
            m = ANCHOR.search(docs.get("summary", "") + " " + docs.get("remarks", ""))
            if not m:
                continue
            inner = nested_fqn(p["type"])
            out[m.group(3)] = (not p.get("optional", False), block(inner) if inner else None)
        return out

    schema, attributes = {}, {}
    for fqn, t in types.items():
        if t.get("kind") != "interface" or "cdktf.TerraformMetaArguments" not in t.get("interfaces", []):
            continue
        for p in t.get("properties", []):
            m = ANCHOR.search(p.get("docs", {}).get("summary", "") + " " + p.get("docs", {}).get("remarks", ""))
            if m:
                key = ("resource" if m.group(1) == "resources" else "data", f"aws_{m.group(2)}")
                schema[key] = block(fqn)
                # The resource's class (same name without "Config") has a getter per attribute,
                # computed ones included: what `<type>.<name>.<attribute>` may reference.
                getters = types.get(fqn.removesuffix("Config"), {}).get("properties", [])
                attributes[key] = {snake(g["name"]) for g in getters if not g.get("static") and not g["name"].endswith("Input")}
                break
    return Schema(schema, attributes)


class Schema(dict):
    """Blocks by (kind, type), plus the attributes each type exposes to references."""

    def __init__(self, blocks, attributes):
        super().__init__(blocks)
        self.attributes = attributes


def snake(name):
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name).lower()


def _check(body, schema, where, top):
    problems = []
    given = set()
    for key, value in body.items():
        if key.startswith("__") or (top and key in META):
            continue
        if key == "dynamic":
            for dyn in value:
                for name, spec in dyn.items():
                    given.add(name)
                    entry = schema.get(name)
                    if entry is None or entry[1] is None:
                        problems.append(f"{where}: dynamic \"{name}\" is not a block of this type")
                        continue
                    for content in spec.get("content", []):
                        problems += _check(content, entry[1], f"{where}.{name}", False)
            continue
        given.add(key)
        entry = schema.get(key)
        if entry is None:
            problems.append(f"{where}: unknown argument or block \"{key}\"")
        elif entry[1] is not None:
            for item in value if isinstance(value, list) else [value]:
                if isinstance(item, dict):
                    problems += _check(item, entry[1], f"{where}.{key}", False)
    for name, (required, _) in schema.items():
        if required and name not in given:
            problems.append(f"{where}: required \"{name}\" is missing")
    return problems


def problems(tf, schema):
    """Every argument and block of terraform/'s resource and data blocks, against the schema."""
    out = []
    for file, parsed in tf.items():
        for kind in ("resource", "data"):
            for entry in parsed.get(kind, []):
                for type_name, instances in entry.items():
                    block = schema.get((kind, type_name))
                    if block is None:
                        out.append(f"{file}: {kind} type {type_name} does not exist in hashicorp/aws")
                        continue
                    for name, body in instances.items():
                        out += _check(body, block, f"{file}: {type_name}.{name}", True)
    return out


REFERENCE = re.compile(r"(?<![\w.])(data\.)?(aws_[a-z0-9_]+)\.([A-Za-z_][\w-]*)(?:\[[^\]]*\])?\.([a-z0-9_]+)")


def reference_problems(tf_dir, schema):
    """Each `aws_x.name.attribute` (and `data.aws_x.name.attribute`) in terraform/ names a block
    declared there and an attribute its type has."""
    declared = set()
    for parsed in load_tf(tf_dir).values():
        for kind in ("resource", "data"):
            for entry in parsed.get(kind, []):
                for type_name, instances in entry.items():
                    declared |= {(kind, type_name, name) for name in instances}
    out = []
    for f in sorted(Path(tf_dir).glob("*.tf")):
        for n, line in enumerate(f.read_text().splitlines(), 1):
            code = line.split("#", 1)[0] if not line.lstrip().startswith("#") else ""
            for m in REFERENCE.finditer(code):
                kind = "data" if m.group(1) else "resource"
                what = f"{f.name}:{n}: {m.group(0)}"
                if (kind, m.group(2), m.group(3)) not in declared:
                    out.append(f"{what}: no {kind} {m.group(2)}.{m.group(3)} is declared")
                elif m.group(4) not in schema.attributes.get((kind, m.group(2)), set()):
                    out.append(f"{what}: {m.group(2)} has no attribute {m.group(4)}")
    return out


def constraint_allows(constraint, version=PROVIDER_VERSION):
    """Whether a `~> X.Y` (or `>= X.Y`) provider constraint admits the schema's release."""
    ok = True
    for part in constraint.split(","):
        op, _, v = part.strip().partition(" ")
        want = tuple(int(x) for x in v.split("."))
        if op == "~>":
            ok &= version[: len(want) - 1] == want[:-1] and version >= want
        elif op == ">=":
            ok &= version >= want
        elif op == "<":
            ok &= version < want
        else:
            raise ValueError(f"constraint operator {op!r} is not handled here")
    return ok
