"""One typed answer stream (deltas, then the authoritative Answer) and typed generation stats."""

from __future__ import annotations

import re
from collections.abc import Generator
from pathlib import Path

from paperqa import Answer, AnswerStats
from paperqa.models import AnswerStream, GenerationInfo

SRC = Path(__file__).resolve().parents[1] / "src" / "paperqa"


def _source(closed: list[bool]) -> Generator[str, None, Answer]:
    try:
        yield "Swin "
        yield "wins [1]."
    finally:
        closed.append(True)
    return Answer(question="q", text="Swin wins [1].")


def test_deltas_then_the_answer() -> None:
    stream = AnswerStream(_source([]))
    assert stream.answer is None
    assert list(stream.deltas()) == ["Swin ", "wins [1]."]
    assert stream.answer is not None and stream.get_response() is stream.answer


def test_get_response_runs_the_rest_and_iteration_keeps_the_old_shape() -> None:
    assert AnswerStream(_source([])).get_response().text == "Swin wins [1]."
    items = list(AnswerStream(_source([])))
    assert items[:2] == ["Swin ", "wins [1]."] and isinstance(items[2], Answer) and len(items) == 3
    stream = AnswerStream(_source([]))
    assert next(stream) == "Swin "
    assert stream.get_response().text == "Swin wins [1]."  # picks up where next() left off


def test_close_ends_the_source() -> None:
    closed: list[bool] = []
    stream = AnswerStream(_source(closed))
    next(stream)
    stream.close()
    assert closed == [True]


def test_generation_info_is_typed_and_still_reads_like_a_dict() -> None:
    stats = AnswerStats(settings={"finish_reason": "length", "passages_dropped": 2, "new_key": "kept"})
    info = stats.settings
    assert isinstance(info, GenerationInfo)
    assert info.finish_reason == "length" and info["passages_dropped"] == 2 and info.get("attempts", 0) == 0
    assert info.model_dump()["new_key"] == "kept"


def test_stream_of_the_api_matches_its_answer(bundled_qa) -> None:
    stream = bundled_qa.stream("What top-1 accuracy does MOAT reach on ImageNet-1K?")
    assert isinstance(stream, AnswerStream)
    text = "".join(stream.deltas())
    answer = stream.get_response()
    assert text == answer.text and answer.citations


def test_no_face_collects_the_last_answer_by_hand() -> None:
    """Before: "run the stream, keep the last Answer" was written in api, generation, cli and ui."""
    copies = [p.name for p in SRC.rglob("*.py") if re.search(r"isinstance\(\w+, Answer\)", p.read_text())]
    assert copies == []
