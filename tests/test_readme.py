"""The README's examples run as tests, so they never rot."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

from click.testing import CliRunner

from aekit.cli import main

README = Path(__file__).resolve().parents[1] / "README.md"
#: The examples on the shared data name it as ``../shared/...``, from the repository's root.
SHARED = Path(__file__).resolve().parents[2] / "shared"


def _workdir(tmp_path: Path) -> Path:
    """A fresh folder whose ``../shared`` is the repository's, as the examples expect."""
    work = tmp_path / "work"
    work.mkdir()
    if SHARED.is_dir():
        (tmp_path / "shared").symlink_to(SHARED)
    return work


def _runnable(code: str) -> bool:
    """An example on the shared data is skipped where ``../shared`` is absent."""
    return SHARED.is_dir() or "../shared" not in code


def _blocks(lang: str) -> list[str]:
    return re.findall(rf"```{lang}\n(.*?)```", README.read_text(), flags=re.S)


def test_python_examples_run(tmp_path, monkeypatch):
    monkeypatch.chdir(_workdir(tmp_path))
    blocks = _blocks("python")
    assert blocks
    for code in filter(_runnable, blocks):
        exec(compile(code, str(README), "exec"), {"__name__": "__readme__"})


def test_cli_examples_run(tmp_path, monkeypatch):
    monkeypatch.chdir(_workdir(tmp_path))
    lines = [
        line for block in filter(_runnable, _blocks("sh")) for line in block.splitlines() if line.startswith("aekit ")
    ]
    assert len(lines) >= 4
    for line in lines:
        args = shlex.split(line.split("#")[0])[1:]
        result = CliRunner().invoke(main, args, catch_exceptions=False)
        assert result.exit_code == 0, f"{line}\n{result.output}"


def test_make_commands_are_documented():
    text = README.read_text()
    assert "make demo" in text and "make test" in text
