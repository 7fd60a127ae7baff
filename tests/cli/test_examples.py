"""Every verb's --help ends with examples, and every example parses against its verb's options.

Running them all (a few minutes: training, MD, a screen) is ``benchmarks/cli_examples.py``.
"""

from __future__ import annotations

import shlex
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from molfit.cli import app
from molfit.cli._examples import EXAMPLES, epilog


def _leaves(group: Any, prefix: tuple[str, ...] = ()) -> dict[str, Any]:
    """Every runnable command under ``group`` by its path (``"data split"``)."""
    out = {}
    for name, cmd in group.commands.items():
        if hasattr(cmd, "commands"):  # a group (typer bundles its own copy of click)
            out.update(_leaves(cmd, (*prefix, name)))
        else:
            out[" ".join((*prefix, name))] = cmd
    return out


ROOT = typer.main.get_command(app)
LEAVES = _leaves(ROOT)


def test_every_verb_has_an_example_and_every_example_names_a_verb() -> None:
    verbs_with_examples = {verb for verb, _ in EXAMPLES}
    assert set(LEAVES) - verbs_with_examples == set()
    assert verbs_with_examples - set(LEAVES) == set()
    with pytest.raises(KeyError, match="no example for 'nonsense'"):
        epilog("nonsense")


@pytest.mark.parametrize(("verb", "command"), EXAMPLES, ids=[c for _, c in EXAMPLES])
def test_example_is_in_its_help_and_parses(verb: str, command: str) -> None:
    words = shlex.split(command)
    path = verb.split()
    assert words[: 1 + len(path)] == ["molfit", *path]
    result = CliRunner().invoke(app, [*path, "--help"])
    assert result.exit_code == 0
    assert command in result.output
    # click parses the arguments as the real command would (unknown options, missing
    # arguments, values of the wrong type raise), without running the command
    args = words[1 + len(path) :]
    LEAVES[verb].make_context(" ".join(["molfit", *path]), args)


def _usage_error(exc: BaseException) -> bool:
    return any(cls.__name__ == "UsageError" for cls in type(exc).__mro__)


def test_a_wrong_example_would_not_parse() -> None:
    for verb, args in [
        ("train", ["b3db", "--no-such-option"]),
        ("md", ["ethanol-xtb", "CCO", "--steps", "many"]),
        ("predict", ["qm9-u0"]),  # the input is missing
    ]:
        with pytest.raises(Exception) as info:
            LEAVES[verb].make_context(f"molfit {verb}", args)
        assert _usage_error(info.value), (verb, repr(info.value))
