"""The README's self-contained Python examples run as written (against their own sandbox)."""

import re
from pathlib import Path

import pytest

README = (Path(__file__).resolve().parents[1] / "README.md").read_text()
EXAMPLES = [b for b in re.findall(r"```python\n(.*?)```", README, re.S) if "with Sandbox() as sb, " in b]


def test_readme_has_examples_for_each_service():
    assert {name for name in ("OrqClient", "BasetenClient", "GalteaClient") if any(name in b for b in EXAMPLES)} == {
        "OrqClient", "BasetenClient", "GalteaClient"}


@pytest.mark.parametrize("code", EXAMPLES, ids=lambda c: re.search(r"import (\w+)", c).group(1))
def test_readme_example_runs(code, capsys):
    exec(compile(code, "README.md", "exec"), {})
    assert capsys.readouterr().out.strip()


def test_readme_commands_are_present():
    assert 'ORQMAGIC_SANDBOX=1 .venv/bin/python -m orqmagic.execute notebooks/01-quickstart.ipynb' in README
    assert "<!-- test-command -->" in README
