"""The README's shell blocks as the tests see them.

Every ```sh or ```bash block of the README follows a marker line: `<!-- readme-block: NAME e2e -->`
(tests/e2e executes it against a local run) or `<!-- readme-block: NAME check -->` (it needs AWS,
or is the test command itself: tests/infra checks its syntax and that every command, flag, make
target and Terraform output it names exists); the walk-through sits between
`<!-- walkthrough:start -->` and `<!-- walkthrough:end -->` and is executed by tests/e2e.
"""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# Every fence a shell command could hide in; the checks refuse any without a marker.
FENCE = re.compile(r"^```(?:sh|bash|shell|console|zsh)\n(.*?)^```", re.S | re.M)
MARKER = re.compile(r"<!-- (?:readme-block: (?P<name>\S+) (?P<mode>e2e|check)|(?P<walk>walkthrough):start) -->")


class Block:
    def __init__(self, name, mode, text, line):
        self.name, self.mode, self.text, self.line = name, mode, text, line

    def __repr__(self):
        return f"README.md:{self.line} ({self.name or 'unmarked'})"


def blocks(readme=None):
    """Every sh/bash block, in order; one without a marker has name and mode None."""
    text = readme if readme is not None else (ROOT / "README.md").read_text()
    found = []
    for m in FENCE.finditer(text):
        before = text[: m.start()].rstrip("\n").rsplit("\n", 1)[-1].strip()
        marker = MARKER.fullmatch(before)
        if marker and marker["walk"]:
            name, mode = "walkthrough", "e2e"
        elif marker:
            name, mode = marker["name"], marker["mode"]
        else:
            name = mode = None
        found.append(Block(name, mode, m.group(1), text.count("\n", 0, m.start()) + 2))
    return found


def block(name):
    """The text of the one block called `name`."""
    named = [b for b in blocks() if b.name == name]
    assert len(named) == 1, f"the README has {len(named)} blocks named {name!r}"
    return named[0].text
