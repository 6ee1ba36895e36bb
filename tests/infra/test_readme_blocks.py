"""Every shell block of the README is executed or checked by a test.

The blocks the local run can execute are run by tests/e2e (`block("NAME")` there); the ones that
need AWS, or are the test command itself, are checked here: valid bash, and every command,
subcommand, flag, make target, Terraform output and file they name exists.
"""

import os
import re
import shlex
import subprocess
import sys

import pytest

from consistency import ROOT

sys.path.insert(0, str(ROOT / "tests"))
from readme_blocks import blocks  # noqa: E402

ADMIN = ROOT / "target/debug/oasis-admin"
# Terraform's own subcommands the README may use (no binary here to ask).
TERRAFORM_COMMANDS = {"init", "plan", "apply", "output", "state", "destroy", "fmt", "validate", "import"}
# Commands whose use needs no check beyond bash's syntax check.
PLAIN = {"export", "sleep", "python3", "curl", "echo", "source", "set", "printf"}


def test_every_shell_block_is_marked_and_each_name_is_executed_or_checked_by_a_test():
    found = blocks()
    unmarked = [b for b in found if b.name is None]
    assert unmarked == [], "mark each block with <!-- readme-block: NAME e2e|check --> (see tests/readme_blocks.py)"
    names = [b.name for b in found]
    assert len(names) == len(set(names)), f"block names repeat: {names}"
    e2e = "\n".join(p.read_text() for p in (ROOT / "tests/e2e").glob("*.py"))
    for b in found:
        if b.mode == "e2e" and b.name != "walkthrough":
            assert f'block("{b.name}")' in e2e, f"{b}: no test in tests/e2e executes it"
    assert {b.mode for b in found} == {"e2e", "check"}, found


@pytest.mark.parametrize("b", blocks(), ids=lambda b: b.name or str(b.line))
def test_every_shell_block_is_valid_bash(b):
    out = subprocess.run(["bash", "-n"], input=b.text, capture_output=True, text=True)
    assert out.returncode == 0, f"{b}: {out.stderr}"


def commands(text):
    """The simple commands of a block, each a list of words (command substitutions become
    commands of their own), with the directory it runs in."""
    text = text.replace("\\\n", " ")
    inner = re.findall(r"\$\(([^()]*)\)", text)
    text = re.sub(r"\$\(([^()]*)\)", "SUBSTITUTED", text)
    cwd = ROOT
    for line in text.splitlines() + inner:
        lexer = shlex.shlex(line, posix=True, punctuation_chars=";&|")
        lexer.whitespace_split = True
        lexer.commenters = "#"
        words = []
        for token in list(lexer) + [";"]:
            if token and set(token) <= set(";&|"):
                while words and re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*=.*", words[0]):
                    words.pop(0)
                if words:
                    if words[0] == "cd":
                        cwd = (cwd / words[1]).resolve()
                    yield words, cwd
                words = []
            else:
                words.append(token)


def makefile_targets():
    text = (ROOT / "Makefile").read_text()
    return set(re.findall(r"^([a-z][a-z0-9-]*)\s*:", text, re.M))


def terraform_outputs():
    text = "\n".join(p.read_text() for p in (ROOT / "terraform").glob("*.tf"))
    return set(re.findall(r'^output "([^"]+)"', text, re.M))


def check_aws_cli(words):
    import botocore.session

    service, operation = words[1], words[2]
    model = botocore.session.get_session().get_service_model(service)
    names = {re.sub(r"(?<!^)(?=[A-Z])", "-", op).lower(): op for op in model.operation_names}
    assert operation in names, f"aws {service} has no {operation}"
    members = model.operation_model(names[operation]).input_shape.members
    flags = {re.sub(r"(?<!^)(?=[A-Z])", "-", m).lower() for m in members}
    for w in words[3:]:
        if w.startswith("--"):
            flag = w[2:].split("=")[0].removeprefix("no-")
            assert flag in flags, f"aws {service} {operation} has no --{flag}"


def check_admin(words):
    args = [w for w in words[1:] if not w.startswith("-")][:2]
    out = subprocess.run([str(ADMIN), *args, "--help"], capture_output=True, text=True, env={"PATH": os.environ["PATH"]})
    assert out.returncode == 0, f"oasis-admin {' '.join(args)}: {out.stderr}"
    for w in words[1:]:
        if w.startswith("--"):
            flag = w.split("=")[0]
            assert re.search(rf"(?<![\w-]){re.escape(flag)}(?![\w-])", out.stdout), f"oasis-admin {' '.join(args)} has no {flag}"


@pytest.mark.parametrize("b", [b for b in blocks() if b.mode == "check"], ids=lambda b: b.name)
def test_blocks_that_need_aws_name_only_commands_flags_targets_and_outputs_that_exist(b):
    assert ADMIN.exists(), "build it first: cargo build -p oasis-admin (make infra does)"
    targets, outputs, seen = makefile_targets(), terraform_outputs(), []
    for words, cwd in commands(b.text):
        program = words[0]
        seen.append(program)
        if program == "make":
            missing = [t for t in words[1:] if not t.startswith("-") and t not in targets]
            assert missing == [], f"{b}: no make target {missing}"
        elif program == "terraform":
            rest = [w for w in words[1:] if not w.startswith("-chdir=")]
            assert rest[0] in TERRAFORM_COMMANDS, f"{b}: terraform {rest[0]}?"
            if rest[0] == "output":
                name = rest[-1]
                assert name in outputs, f"{b}: terraform/ has no output {name!r}"
        elif program == "aws":
            check_aws_cli(words)
        elif program.endswith("oasis-admin"):
            check_admin(words)
        elif program == "cp":
            assert (cwd / words[1]).exists(), f"{b}: {words[1]} does not exist in {cwd}"
        elif program == "cd":
            assert cwd.is_dir(), f"{b}: cd {words[1]}: no such directory"
        else:
            assert program in PLAIN, f"{b}: add a check for {program!r} to this test"
    assert seen, f"{b}: found no commands"


def test_the_block_checker_finds_a_wrong_output_a_wrong_flag_and_a_missing_target():
    """The checks above can fail: each kind of mistake, planted in a copy of a block."""
    for wrong, says in [
        ("terraform -chdir=terraform output -raw no_such_output", "no output 'no_such_output'"),
        ("target/debug/oasis-admin keys stage --no-such-flag", "has no --no-such-flag"),
        ("target/debug/oasis-admin keys promote --signing-cach 1", "has no --signing-cach"),
        ("make no-such-target", "no make target"),
        ("aws secretsmanager put-secret-value --secret-idd x", "has no --secret-idd"),
        ("cp no-such.example here", "no-such.example does not exist"),
        ("rm -rf /", "add a check for 'rm'"),
    ]:
        fake = type(blocks()[0])("planted", "check", wrong + "\n", 0)
        with pytest.raises(AssertionError, match=re.escape(says)):
            test_blocks_that_need_aws_name_only_commands_flags_targets_and_outputs_that_exist(fake)


def test_blocks_in_any_shell_fence_are_found_marked_or_not():
    readme = "text\n```shell\necho a\n```\n<!-- readme-block: x check -->\n```sh\necho b\n```\n```console\n$ echo c\n```\n"
    found = blocks(readme)
    assert [(b.name, b.text) for b in found] == [(None, "echo a\n"), ("x", "echo b\n"), (None, "$ echo c\n")]
