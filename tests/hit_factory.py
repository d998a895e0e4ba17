"""Real ``Hit`` objects and settings for tests of the generation path (no index needed)."""

from __future__ import annotations

from typing import Any

from paperqa.config import Settings, load_config
from paperqa.models import Answer, AnswerStream, Chunk, Hit, Paper

PASSAGES = [
    ("An Image is Worth 16x16 Words",
     "We show that a pure transformer applied directly to sequences of image patches performs very well. "
     "Vision Transformer (ViT) attains 88.55% top-1 accuracy on ImageNet. It requires fewer resources to train."),
    ("A ConvNet for the 2020s",
     "We gradually modernize a standard ResNet toward the design of a vision Transformer. "
     "ConvNeXt is constructed entirely from standard ConvNet modules. It achieves 87.8% ImageNet top-1 accuracy."),
    ("Swin Transformer",
     "Swin Transformer is a hierarchical Transformer whose representation is computed with shifted windows. "
     "It achieves 87.3 top-1 accuracy on ImageNet-1K."),
    ("EfficientNet",
     "We systematically study model scaling and balance network depth, width and resolution. "
     "EfficientNet-B7 is a convolutional network that reaches 84.3% top-1 accuracy."),
]


def make_hit(rank: int, title: str, text: str, score: float | None = None) -> Hit:
    paper = Paper(paper_id=f"paper-{rank}", title=title, abstract=text, authors=["A. Author"], year=2021,
                  url=f"https://example.org/{rank}")
    chunk = Chunk(chunk_id=f"paper-{rank}#0", paper_id=paper.paper_id, title=title, text=text, position=0,
                  start_char=0, end_char=len(text))
    return Hit(chunk=chunk, paper=paper, score=score if score is not None else 1.0 / rank, rank=rank)


def sample_hits(n: int = len(PASSAGES)) -> list[Hit]:
    """The first ``n`` sample passages as hits ranked 1..n."""
    return [make_hit(i + 1, title, text) for i, (title, text) in enumerate(PASSAGES[:n])]


def llm_settings(base_url: str | None, **overrides: Any) -> Settings:
    """Defaults pointed at ``base_url`` with fast backoff, plus ``llm.*`` overrides given as keywords."""
    values: dict[str, Any] = {"llm.base_url": base_url, "llm.backoff_s": 0.01, "llm.timeout": 5.0}
    values.update({f"llm.{key}": value for key, value in overrides.items()})
    return load_config(overrides=values)


def drain(stream: AnswerStream) -> tuple[list[str], Answer]:
    """The text deltas of a stream, and its final Answer."""
    deltas = list(stream.deltas())
    return deltas, stream.get_response()
