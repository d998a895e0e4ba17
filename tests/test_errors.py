"""One error root: every error paperqa raises on purpose is a PaperQAError with its exit code,
and the faces catch that base only (a bug keeps its traceback)."""

from __future__ import annotations

import pytest
import typer
from typer.testing import CliRunner

from paperqa import cli, errors
from paperqa.cli import app


def test_every_error_class_derives_from_the_root_with_an_exit_code() -> None:
    for name in errors.__all__:
        cls = getattr(errors, name)
        assert issubclass(cls, errors.PaperQAError), name
        assert isinstance(cls.exit_code, int) and cls.exit_code in (1, 2), name
    assert errors.LLMUnavailableError.exit_code == 1 and errors.ConfigError.exit_code == 2


def test_old_import_paths_and_bases_still_work() -> None:
    from paperqa.api import QuestionError
    from paperqa.config import ConfigError
    from paperqa.eval.datasets import DatasetError
    from paperqa.index_store import IndexCorruptError, IndexMismatchError
    from paperqa.llm import LLMUnavailableError, ModelNotServedError
    from paperqa.sources import SourceError

    assert ConfigError is errors.ConfigError and SourceError is errors.SourceError
    assert QuestionError is errors.QuestionError and DatasetError is errors.DatasetError
    assert IndexMismatchError is errors.IndexMismatchError and IndexCorruptError is errors.IndexCorruptError
    assert issubclass(ModelNotServedError, LLMUnavailableError)
    assert issubclass(ConfigError, ValueError) and issubclass(LLMUnavailableError, RuntimeError)
    assert issubclass(errors.IndexNotFoundError, FileNotFoundError)


def test_cli_maps_paperqa_errors_to_their_exit_code() -> None:
    class Custom(errors.PaperQAError):
        exit_code = 1

    def fails(exc: Exception):
        def action() -> None:
            raise exc
        return action

    for exc, code in ((errors.ConfigError("bad [key]"), 2), (Custom("down"), 1),
                      (errors.LLMUnavailableError("no server"), 1)):
        with pytest.raises(typer.Exit) as info:
            cli._run(fails(exc))
        assert info.value.exit_code == code


def test_cli_does_not_hide_a_bug_as_a_user_error() -> None:
    """Before: any ValueError (bugs included) became 'error: ...' and exit 2."""
    def bug() -> None:
        raise ValueError("a bug")

    with pytest.raises(ValueError, match="a bug"):
        cli._run(bug)


def test_bad_mode_is_a_clear_error(bundled_index_dir) -> None:
    result = CliRunner().invoke(app, ["search", "ADE20K", "--mode", "fuzzy", "--index-dir", str(bundled_index_dir)])
    assert result.exit_code == 2, result.output
    assert "mode must be one of hybrid, dense, bm25" in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
