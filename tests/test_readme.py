"""The README is executable documentation: its generated sections are current and its commands exist."""

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()


def test_readme_opens_with_the_demo_and_test_commands():
    first_block = re.search(r"```bash\n(.*?)```", README, re.S).group(1)
    assert [line.split("#")[0].strip() for line in first_block.strip().splitlines()] == ["make demo", "make test"]
    makefile = (ROOT / "Makefile").read_text()
    assert "\ndemo:" in makefile and "\ntest:" in makefile
    assert "make test" in (ROOT / ".ci" / "run").read_text()


def test_generated_sections_are_current():
    result = subprocess.run([sys.executable, "-m", "cogapp", "--check", str(ROOT / "README.md")], capture_output=True, text=True)
    assert result.returncode == 0, "README.md is out of date: run `make readme`\n" + result.stdout + result.stderr


def test_every_command_is_documented():
    from stack_tracker.cli import cli

    for name in cli.commands:
        assert f"### stack-tracker {name}\n" in README, name
