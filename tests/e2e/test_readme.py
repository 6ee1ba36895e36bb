"""The README's walk-through, run verbatim against the local run."""

import os
import re
import subprocess

from conftest import ROOT


def readme_block(name):
    text = (ROOT / "README.md").read_text()
    m = re.search(rf"<!-- {name}:start -->\s*```bash\n(.*?)```\s*<!-- {name}:end -->", text, re.S)
    assert m, f"README has no {name} block"
    return m.group(1), text[m.end():]


def run_walkthrough(server):
    script, after = readme_block("walkthrough")
    printed = re.search(r"It prints:\s*```\n(.*?)```", after, re.S).group(1)
    env = dict(os.environ, OASIS_URL=server.url, OASIS_DIR=str(server.state))
    out = subprocess.run(["bash", "-euo", "pipefail", "-c", script], cwd=ROOT, env=env, capture_output=True, text=True, timeout=180)
    assert out.returncode == 0, out.stderr
    assert out.stdout == printed, f"stdout:\n{out.stdout}\nstderr:\n{out.stderr}"


def test_the_readme_walkthrough_works_as_printed(server):
    run_walkthrough(server)


def test_the_walkthrough_works_the_same_on_the_dynamodb_backend(dynamodb_server):
    run_walkthrough(dynamodb_server)
