"""The extractive path's refusal rules that need no model: named terms the passages never mention."""

from __future__ import annotations

import pytest

from paperqa.answering import missing_named_terms


@pytest.mark.parametrize(
    ("question", "passages", "missing"),
    [
        ("What mAP does YOLOv8 reach on COCO?", ["YOLOv5 reaches 50.7 mAP on COCO."], ["YOLOv8"]),
        ("How much energy was used to train GPT-3?", ["GPT models scale well."], ["GPT-3"]),
        ("What does EfficientNet-B7 reach?", ["EfficientNet-B0 reaches 77.1% top-1."], ["EfficientNet-B7"]),
        # Name-like parts of a hyphenated word are enough when it carries no digit.
        ("Which CNN-transformer hybrids report ADE20K mIoU?", ["A CNN ... 57.6% mIoU on ADE20K."], []),
        # Case, spacing and punctuation do not matter.
        ("What ImageNet-1K top-1 accuracy?", ["89.1% top 1 accuracy on ImageNet 1k"], []),
        # Plain words are not names: no check.
        ("Which papers study lane detection?", ["Traffic scene understanding."], []),
        ("What is it?", [], []),
    ],
)
def test_missing_named_terms(question, passages, missing):
    assert missing_named_terms(question, passages) == missing
