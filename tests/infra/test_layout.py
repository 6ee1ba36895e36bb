"""The README's layout section matches the tree: every path it names exists, and every crate,
tool and test suite in the repository is named there."""

import re
import tomllib

from consistency import ROOT


def layout_paths():
    readme = (ROOT / "README.md").read_text()
    block = readme.split("## Layout\n\n```\n", 1)[1].split("```", 1)[0]
    return [m.group(1) for line in block.splitlines() if (m := re.match(r"^(\S+)\s", line + " "))]


def test_every_path_in_the_readme_layout_exists():
    missing = [p for p in layout_paths() if not (ROOT / p).exists()]
    assert missing == [], f"the README's layout names paths that do not exist: {missing}"


def test_every_workspace_member_and_test_suite_is_in_the_readme_layout():
    named = {p.rstrip("/") for p in layout_paths()}
    members = tomllib.loads((ROOT / "Cargo.toml").read_text())["workspace"]["members"]
    dirs = set()
    for pattern in members:
        if pattern.endswith("/*"):
            dirs |= {f"{pattern[:-2]}/{d.name}" for d in (ROOT / pattern[:-2]).iterdir() if (d / "Cargo.toml").exists()}
        else:
            dirs.add(pattern)
    dirs |= {f"tests/{d.name}" for d in (ROOT / "tests").iterdir() if d.is_dir() and not d.name.startswith((".", "_"))}
    assert sorted(dirs - named) == [], "add these to the README's layout section"
