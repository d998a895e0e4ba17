"""The citation checker: parsing marks, invalid keys, renumbering, quotes, uncited sentences, refusals."""

from __future__ import annotations

import pytest
from hit_factory import sample_hits

from paperqa.citations import (
    KeyMap,
    StreamRewriter,
    check_answer,
    cited_keys,
    is_refusal,
    locate_quote,
    parse_citation_groups,
    passage_sentences,
    split_answer_sentences,
)

REFUSAL = "No passage in the index answers this question."


@pytest.mark.parametrize(
    ("text", "groups"),
    [
        ("Claim [1].", [(1,)]),
        ("Claim [1, 3].", [(1, 3)]),
        ("Claim [1,3;4].", [(1, 3, 4)]),
        ("Claim [1][2].", [(1,), (2,)]),
        ("Claim [1-3].", [(1, 2, 3)]),
        ("Claim [2\u20134].", [(2, 3, 4)]),
        ("Claim [ 2 ].", [(2,)]),
        ("Claim [1, 3-4].", [(1, 3, 4)]),
        ("No marks here.", []),
        ("Not a citation [a] or [1a] or [].", []),
        ("A year [2020].", [(2020,)]),
    ],
)
def test_parse_citation_groups(text: str, groups: list[tuple[int, ...]]) -> None:
    assert [g.keys for g in parse_citation_groups(text)] == groups


def test_parse_keeps_offsets_of_each_bracket() -> None:
    text = "X [1] and Y [2, 3]."
    spans = [text[g.start : g.end].strip() for g in parse_citation_groups(text)]
    assert spans == ["[1]", "[2, 3]"]


def test_reversed_or_huge_range_is_not_expanded() -> None:
    assert parse_citation_groups("[3-1]")[0].keys == (3, 1)
    assert parse_citation_groups("[1-999]")[0].keys == (1, 999)


def test_cited_keys_in_order_of_first_appearance() -> None:
    assert cited_keys("b [3]. a [1][3]. c [2-3].") == [3, 1, 2]


def test_keymap_renumbers_merges_and_drops_invalid() -> None:
    keymap = KeyMap(n_passages=3)
    text = keymap.rewrite("First [3]. Second [1][3]. Bad [7]. Mixed [2, 9]. Range [1-3].")
    assert text == "First [1]. Second [2, 1]. Bad. Mixed [3]. Range [2, 3, 1]."
    assert keymap.mapping == {3: 1, 1: 2, 2: 3}
    assert keymap.invalid == ["[7]", "[9]"]


def test_keymap_zero_is_invalid() -> None:
    keymap = KeyMap(n_passages=2)
    assert keymap.rewrite("Claim [0].") == "Claim."
    assert keymap.invalid == ["[0]"]


def test_split_answer_sentences_keeps_marks_with_their_sentence() -> None:
    text = "ViT uses patches [1]. ConvNeXt is a ConvNet. [2] It gets 87.8% accuracy [2].\n- a bullet [1]"
    assert split_answer_sentences(text) == [
        "ViT uses patches [1].",
        "ConvNeXt is a ConvNet. [2]",
        "It gets 87.8% accuracy [2].",
        "- a bullet [1]",
    ]


def test_split_does_not_break_decimals_or_eg() -> None:
    assert split_answer_sentences("It reaches 88.55% on e.g. ImageNet [1]. Next [2].") == [
        "It reaches 88.55% on e.g. ImageNet [1].",
        "Next [2].",
    ]


def test_passage_sentences_offsets() -> None:
    passage = "ViT reaches 88.55% top-1. It is a Transformer (Dosovitskiy et al.). Fewer resources."
    spans = passage_sentences(passage)
    assert [passage[s:e] for s, e in spans] == [
        "ViT reaches 88.55% top-1.",
        "It is a Transformer (Dosovitskiy et al.).",
        "Fewer resources.",
    ]


def test_locate_quote_picks_the_most_similar_sentence() -> None:
    hit = sample_hits(2)[1]
    start, end = locate_quote(hit.text, ["ConvNeXt is built only from standard ConvNet modules [1]."])
    assert hit.text[start:end] == "ConvNeXt is constructed entirely from standard ConvNet modules."


def test_locate_quote_without_overlap_falls_back_to_first_sentence() -> None:
    hit = sample_hits(1)[0]
    start, end = locate_quote(hit.text, ["Zebras [1]."])
    assert start == 0 and hit.text[start:end].endswith("performs very well.")


def test_check_answer_valid_citations() -> None:
    hits = sample_hits(3)
    text = "ConvNeXt is built from standard ConvNet modules [2]. ViT applies a transformer to image patches [1]."
    checked = check_answer(text, hits, REFUSAL)
    assert checked.text == (
        "ConvNeXt is built from standard ConvNet modules [1]. ViT applies a transformer to image patches [2]."
    )
    assert [c.paper_id for c in checked.citations] == ["paper-2", "paper-1"]
    assert [c.key for c in checked.citations] == [1, 2]
    first = checked.citations[0]
    assert first.quote == "ConvNeXt is constructed entirely from standard ConvNet modules."
    assert first.passage[first.quote_start : first.quote_end] == first.quote
    assert first.chunk_id == "paper-2#0" and first.url == "https://example.org/2" and first.year == 2021
    assert checked.invalid_citations == [] and checked.uncited_sentences == [] and not checked.refused


def test_check_answer_removes_invented_citations() -> None:
    hits = sample_hits(2)
    checked = check_answer("ViT uses patches [1][5]. Swin uses windows [4].", hits, REFUSAL)
    assert checked.text == "ViT uses patches [1]. Swin uses windows."
    assert checked.invalid_citations == ["[5]", "[4]"]
    assert [c.paper_id for c in checked.citations] == ["paper-1"]
    assert checked.uncited_sentences == ["Swin uses windows."]


def test_check_answer_uncited_sentences_kept_or_dropped() -> None:
    hits = sample_hits(2)
    text = "Transformers are popular. ViT uses image patches [1]. Nobody knows why."
    kept = check_answer(text, hits, REFUSAL, keep_uncited=True)
    assert kept.uncited_sentences == ["Transformers are popular.", "Nobody knows why."]
    assert kept.text == text
    dropped = check_answer(text, hits, REFUSAL, keep_uncited=False)
    assert dropped.text == "ViT uses image patches [1]."
    assert dropped.uncited_sentences == kept.uncited_sentences


def test_check_answer_without_any_citation() -> None:
    checked = check_answer("Vision transformers are great. They scale well.", sample_hits(2), REFUSAL)
    assert checked.citations == []
    assert checked.uncited_sentences == ["Vision transformers are great.", "They scale well."]
    assert not checked.refused


def test_check_answer_quote_uses_every_citing_sentence() -> None:
    hits = sample_hits(1)
    checked = check_answer("ViT is good [1]. It attains 88.55% top-1 accuracy on ImageNet [1].", hits, REFUSAL)
    assert checked.citations[0].quote == "Vision Transformer (ViT) attains 88.55% top-1 accuracy on ImageNet."


@pytest.mark.parametrize(
    "text",
    [REFUSAL, "no passage in the index answers this question", "  No passage in the index answers this question!  ",
     "I am sorry. No passage in the index answers this question."],
)
def test_refusal_detected(text: str) -> None:
    checked = check_answer(text, sample_hits(2), REFUSAL)
    assert checked.refused and checked.text == REFUSAL and checked.citations == []


def test_refusal_with_an_invented_citation_is_still_a_refusal() -> None:
    checked = check_answer(f"{REFUSAL} [9]", sample_hits(2), REFUSAL)
    assert checked.refused and checked.invalid_citations == ["[9]"] and checked.citations == []


def test_is_refusal_rejects_other_text() -> None:
    assert not is_refusal("The passages answer this [1].", REFUSAL)


def test_stream_rewriter_matches_final_text_whatever_the_chunking() -> None:
    hits = sample_hits(3)
    text = "ViT is a transformer [5]. ConvNeXt is a ConvNet [2][2]. Both compete [1-2]. Swin [3, 1]."
    final = check_answer(text, hits, REFUSAL).text
    for size in (1, 2, 3, 7, 100):
        rewriter = StreamRewriter(len(hits))
        shown = "".join(rewriter.feed(text[i : i + size]) for i in range(0, len(text), size)) + rewriter.flush()
        assert shown == final, size
        assert "[5]" not in shown


def test_stream_rewriter_releases_a_bracket_that_is_not_a_citation() -> None:
    rewriter = StreamRewriter(2)
    assert rewriter.feed("see [figure") == "see [figure"
    assert rewriter.feed(" 2] ok") == " 2] ok"
