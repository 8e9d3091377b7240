"""The README's examples run as tests, so they never rot."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

from click.testing import CliRunner

from aekit.cli import main

README = Path(__file__).resolve().parents[1] / "README.md"


def _blocks(lang: str) -> list[str]:
    return re.findall(rf"```{lang}\n(.*?)```", README.read_text(), flags=re.S)


def test_python_examples_run(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    blocks = _blocks("python")
    assert blocks
    for code in blocks:
        exec(compile(code, str(README), "exec"), {"__name__": "__readme__"})


def test_cli_examples_run(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    lines = [line for block in _blocks("sh") for line in block.splitlines() if line.startswith("aekit ")]
    assert len(lines) >= 4
    for line in lines:
        args = shlex.split(line.split("#")[0])[1:]
        result = CliRunner().invoke(main, args, catch_exceptions=False)
        assert result.exit_code == 0, f"{line}\n{result.output}"


def test_make_commands_are_documented():
    text = README.read_text()
    assert "make demo" in text and "make test" in text
