"""The lexicon and the rule extractor, on sentences taken from the bundled corpus and ml_abstracts."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from paperqa.lexicon import Lexicon, LexiconError, get_lexicon, normalise
from paperqa.models import Paper
from paperqa.results import RuleExtractor, format_value, sentence_spans
from paperqa.sources import bundled_corpus_paths, load_papers

HAND_TABLE = Path(__file__).resolve().parents[1] / "eval" / "datasets" / "bundled_results.jsonl"


def rows_of(abstract: str, title: str = "Untitled"):
    paper = Paper(paper_id="p", title=title, abstract=abstract)
    return [r for r in RuleExtractor().extract(paper) if r.value is not None]


def triples(abstract: str, title: str = "Untitled"):
    return [(r.dataset, r.metric, r.value) for r in rows_of(abstract, title)]


# ----- lexicon ------------------------------------------------------------------------------------


@pytest.mark.parametrize("surface", ["ADE20K", "ADE-20K", "ADE 20K", "ade20k", "ADE20k"])
def test_dataset_spellings_normalise_to_one_name(surface):
    lexicon = get_lexicon()
    assert lexicon.resolve_dataset(surface) == "ADE20K"
    found = lexicon.find_datasets(f"52.7 mIoU on {surface} val.")
    assert [(m.name, m.surface) for m in found] == [("ADE20K", surface if surface != "ADE20K" else "ADE20K val")] \
        or [m.name for m in found] == ["ADE20K"]


def test_imagenet_1k_is_imagenet_but_22k_is_not():
    lexicon = get_lexicon()
    assert lexicon.resolve_dataset("ImageNet-1K") == lexicon.resolve_dataset("imagenet") == "ImageNet"
    assert lexicon.resolve_dataset("ImageNet-22K") == "ImageNet-21K"


def test_find_returns_spans_and_longest_names():
    text = "We report COCO-Stuff and COCO box AP, and top-1 accuracy on ImageNet."
    lexicon = get_lexicon()
    datasets = lexicon.find_datasets(text)
    assert [(m.name, text[m.start:m.end]) for m in datasets] == [
        ("COCO-Stuff", "COCO-Stuff"), ("COCO", "COCO"), ("ImageNet", "ImageNet")]
    metrics = lexicon.find_metrics(text)
    assert [(m.name, text[m.start:m.end]) for m in metrics] == [("AP", "box AP"), ("Top-1 Accuracy", "top-1 accuracy")]


def test_names_are_matched_as_whole_words_and_cased_names_only_as_written():
    lexicon = get_lexicon()
    assert lexicon.find_datasets("the ADE20KX set") == []
    assert [m.name for m in lexicon.find_datasets("results on RACE")] == ["RACE"]
    assert lexicon.find_datasets("a race between models") == []


def test_mnist_variants_are_benchmarks_of_their_own_and_humaneva_is_not_humaneval():
    lexicon = get_lexicon()
    text = "We reach 98.3% on permuted MNIST, 99.1% on sequential MNIST, 97.0% on rotated MNIST and 99.7% on MNIST."
    assert [m.name for m in lexicon.find_datasets(text)] == [
        "Permuted MNIST", "Sequential MNIST", "Rotated MNIST", "MNIST"]
    assert ("MNIST", None, 99.7) in triples(text) and ("Permuted MNIST", None, 98.3) in triples(text)
    assert lexicon.resolve_dataset("HumanEva-I") == "HumanEva-I"  # not HumanEval by typo tolerance
    assert lexicon.resolve_dataset("HumanEval") == "HumanEval"


@pytest.mark.parametrize(("typed", "dataset", "metric"), [
    ("COCO box AP", "COCO", "AP"),
    ("top-1 on ImageNet", "ImageNet", "Top-1 Accuracy"),
    ("ADE20K mIoU", "ADE20K", "mIoU"),
    ("mean IoU", None, "mIoU"),
    ("Cityscpaes", "Cityscapes", None),  # a typo still resolves
    ("FID", None, "FID"),
])
def test_user_typed_names_resolve(typed, dataset, metric):
    lexicon = get_lexicon()
    assert lexicon.resolve_dataset(typed) == dataset
    assert lexicon.resolve_metric(typed) == metric


def test_metric_direction():
    lexicon = get_lexicon()
    assert lexicon.direction("FID") == "lower" and lexicon.direction("WER") == "lower"
    assert lexicon.direction("mIoU") == "higher" and lexicon.direction("unknown metric") == "higher"


def test_the_lexicon_covers_the_field_beyond_the_dev_set():
    lexicon = get_lexicon()
    for name in ["ImageNet", "COCO", "ADE20K", "Cityscapes", "SQuAD 1.1", "GLUE", "WMT14 En-De", "LibriSpeech",
                 "CIFAR-10", "Kinetics-400", "nuScenes", "ScanNet", "BraTS", "MovieLens", "ETTh1", "Cora", "QM9",
                 "Atari 2600", "MuJoCo", "HumanEval", "GSM8K", "MMLU", "CNN/Daily Mail", "FFHQ", "ModelNet40"]:
        assert name in lexicon.datasets, name
    assert len(lexicon.datasets) > 1000 and len(lexicon.metrics) > 80


def test_user_lexicon_files_add_datasets_and_aliases(tmp_path):
    extra = tmp_path / "extra.yaml"
    extra.write_text(
        "datasets:\n"
        "  - {name: PlantDoc, aliases: [Plant-Doc], area: agriculture}\n"
        "  - {name: ADE20K, aliases: [ADE-Full-150]}\n"
        "metrics:\n"
        "  - {name: Balanced Error, aliases: [BER], direction: lower}\n", "utf-8")
    lexicon = Lexicon.load([extra])
    assert lexicon.resolve_dataset("plant doc") == "PlantDoc"
    assert lexicon.resolve_dataset("ADE-Full-150") == "ADE20K"  # merged into the packaged entry
    assert lexicon.direction("BER") == "lower" or lexicon.direction(lexicon.resolve_metric("BER")) == "lower"
    assert get_lexicon().resolve_dataset("PlantDoc") != "PlantDoc"  # the packaged one is unchanged


def test_a_bad_lexicon_file_names_the_file_and_entry(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("metrics:\n  - {name: Foo, direction: sideways}\n", "utf-8")
    with pytest.raises(LexiconError, match=r"bad\.yaml: metrics\[1\] \(Foo\): direction"):
        Lexicon.load([bad])
    bad.write_text("datasets: [unclosed\n", "utf-8")
    with pytest.raises(LexiconError, match=r"bad\.yaml: not valid YAML"):
        Lexicon.load([bad])
    with pytest.raises(LexiconError, match="missing.yaml: cannot read"):
        Lexicon.load([tmp_path / "missing.yaml"])
    assert LexiconError.exit_code == 2


def test_normalise():
    assert normalise("ADE-20K") == normalise("ade 20k") == "ade20k"
    assert normalise("J&F") == "j&f"
    assert normalise("R@1") == "r@1" != normalise("R-1")


def test_at_k_metrics_are_matched_whole_and_not_taken_for_rouge():
    lexicon = get_lexicon()
    text = "It reaches 43.8 R@1 and 78.1 Recall@5 on MSRVTT, 54.3 AR@100 on ActivityNet and R-1 of 40.2 on XSum."
    assert [(m.name, m.surface) for m in lexicon.find_metrics(text)] == [
        ("Recall@1", "R@1"), ("Recall@5", "Recall@5"), ("Average Recall", "AR@100"), ("ROUGE-1", "R-1")]
    assert lexicon.resolve_metric("text-to-video R@1") == "Recall@1"
    assert ("MSR-VTT", "Recall@1", 43.8) in triples(text)


# ----- the shapes abstracts use (real sentences) ------------------------------------------------


def test_three_results_in_one_sentence():
    # SG-Former (bundled corpus), with the glued "52.7mIoU" of the original
    text = ("The proposed SG-Former achieves performance superior to state of the art: our base size model "
            "achieves 84.7\\% Top-1 accuracy on ImageNet-1K, 51.2mAP bbAP on CoCo, 52.7mIoU on ADE20K surpassing "
            "the Swin Transformer by +1.3\\% / +2.7 mAP/ +3 mIoU, with lower computation costs and fewer parameters.")
    rows = rows_of(text, "SG-Former: Self-guided Transformer with Evolving Token Reallocation")
    absolute = [(r.dataset, r.metric, r.value) for r in rows if not r.is_delta]
    assert absolute == [("ImageNet", "Top-1 Accuracy", 84.7), ("COCO", "mAP", 51.2), ("ADE20K", "mIoU", 52.7)]
    assert all(r.model == "SG-Former" for r in rows)
    first = rows[0]
    assert first.value_text == "84.7\\%" and first.unit == "%" and format_value(first) == "84.7%"
    assert sorted(r.value for r in rows if r.is_delta) == [1.3, 2.7, 3.0]


def test_metric_before_number_and_model_and_params_qualifiers():
    text = ("As a result, on COCO object detection, MOAT achieves 59.2% box AP with 227M model parameters "
            "(single-scale inference, and hard NMS), and on ADE20K semantic segmentation, MOAT attains 57.6% mIoU "
            "with 496M model parameters (single-scale inference).")
    rows = rows_of(text)
    assert [(r.model, r.dataset, r.metric, r.value) for r in rows] == [
        ("MOAT", "COCO", "AP", 59.2), ("MOAT", "ADE20K", "mIoU", 57.6)]
    assert rows[0].qualifiers == ["single-scale", "227M params"]
    assert rows[1].qualifiers == ["single-scale", "496M params"]


def test_dataset_before_its_figures_with_split():
    text = ("kMaX-DeepLab also attains 58.0% PQ on COCO val set, and 68.4% PQ, 44.0% AP, 83.5% mIoU on Cityscapes "
            "val set, and ADE20K val set with 50.9% PQ and 55.2% mIoU without test-time augmentation or external "
            "dataset.")
    rows = rows_of(text)
    got = [(r.dataset, r.metric, r.value) for r in rows]
    assert ("ADE20K", "PQ", 50.9) in got and ("ADE20K", "mIoU", 55.2) in got and ("COCO", "PQ", 58.0) in got
    assert all(r.model == "kMaX-DeepLab" for r in rows)
    assert "val" in rows[0].qualifiers


def test_deltas_are_marked():
    text = ("Its performance surpasses the previous state-of-the-art by a large margin of +2.7 box AP and +2.6 mask "
            "AP on COCO, and +3.2 mIoU on ADE20K, demonstrating the potential of Transformer-based models.")
    rows = rows_of(text)
    assert [(r.dataset, r.metric, r.value, r.is_delta) for r in rows] == [
        ("COCO", "AP", 2.7, True), ("COCO", "mask AP", 2.6, True), ("ADE20K", "mIoU", 3.2, True)]
    assert format_value(rows[2]) == "+3.2"


def test_respectively_pairs_numbers_with_datasets_in_order():
    # ml_abstracts 1906.03158 (TRE)
    text = ("TRE obtains a new state-of-the-art result on the TACRED and SemEval 2010 Task 8 datasets, achieving a "
            "test F1 of 67.4 and 87.1, respectively.")
    assert triples(text) == [("TACRED", "F1", 67.4), ("SemEval-2010 Task 8", "F1", 87.1)]


def test_previous_sentence_gives_the_dataset_when_unambiguous():
    text = ("In this paper, we discuss practical training and decoding issues. We performed experiments on the "
            "TIMIT dataset. We achieved 17.3% phone error rate (PER) from the first-pass decoding.")
    assert triples(text) == [("TIMIT", "PER", 17.3)]


def test_comparison_in_parentheses_and_from_to():
    text = ("Our approach significantly improves the state-of-the-art execution accuracy on WikiSQL from 69.0% to "
            "74.4%.")
    rows = rows_of(text)
    assert [(r.dataset, r.metric, r.value) for r in rows] == [("WikiSQL", "Accuracy", 69.0),
                                                             ("WikiSQL", "Accuracy", 74.4)]
    assert rows[0].qualifiers == ["previous result"] and rows[0].model is None  # 69.0 was the state of the art
    assert "previous result" not in rows[1].qualifiers
    text = "GammaNet reaches 82.4% (+5.1% increase over the previous best) top-1 accuracy on UCF101."
    rows = rows_of(text)
    assert [(r.dataset, r.value, r.is_delta) for r in rows] == [("UCF101", 82.4, False), ("UCF101", 5.1, True)]


def test_lower_is_better_metric_and_units():
    text = "Restormer-Local improves the state-of-the-art result in single image deblurring to 33.57 dB on GoPro."
    rows = rows_of(text)
    assert [(r.model, r.dataset, r.value, r.unit) for r in rows] == [("Restormer-Local", "GoPro", 33.57, "dB")]
    assert format_value(rows[0]) == "33.57 dB"
    text = "The proposed HiT achieves state-of-the-art FID scores of 30.83 and 2.95 on unconditional ImageNet and FFHQ, respectively."
    assert triples(text) == [("ImageNet", "FID", 30.83), ("FFHQ", "FID", 2.95)]


def test_counts_years_sizes_and_names_are_not_results():
    text = ("We evaluate ResNet-50 and ViT-B/16 on ImageNet and COCO 2017 using 8 GPUs for 300 epochs, with 1.2M "
            "images and a batch size of 4096, released in 2021; it is the first model exceeding 87% accuracy.")
    assert rows_of(text) == []


def test_dataset_named_without_a_figure_gives_a_value_less_row():
    paper = Paper(paper_id="p", title="T", abstract="Extensive experiments on ImageNet, COCO, and ADE20K show that "
                  "our SOFT significantly improves the computational efficiency of existing ViT variants.")
    rows = RuleExtractor().extract(paper)
    assert [(r.dataset, r.value) for r in rows] == [("ImageNet", None), ("COCO", None), ("ADE20K", None)]
    assert all(paper.abstract[r.start_char:r.end_char] == r.sentence for r in rows)


def test_sentences_keep_offsets_and_do_not_split_on_vs():
    text = "We get 90.2% vs. 91.1% on MNLI. A second sentence, e.g. this one. Third."
    spans = sentence_spans(text)
    assert [text[s:e] for s, e in spans] == ["We get 90.2% vs. 91.1% on MNLI.", "A second sentence, e.g. this one.",
                                             "Third."]


def test_abstracts_without_maths_do_not_break_the_extractor():
    # ml_abstracts removed LaTeX: "1.13 bits per character on and 1.06 on ."
    text = ("We show that a deep (64-layer) transformer model achieves state of the art on two popular benchmarks: "
            "1.13 bits per character on and 1.06 on . Accuracy of % on .")
    assert rows_of(text) == []


# ----- the bundled corpus against the hand-made table ---------------------------------------------


@pytest.fixture(scope="module")
def bundled_papers():
    return {p.paper_id: p for p in load_papers(bundled_corpus_paths()).papers}


@pytest.fixture(scope="module")
def hand_table():
    return [json.loads(line) for line in HAND_TABLE.read_text("utf-8").splitlines() if line.strip()]


def test_hand_table_papers_exist_and_values_are_written_in_their_sentences(bundled_papers, hand_table):
    assert {row["paper_id"] for row in hand_table} == set(bundled_papers)  # every paper was read
    assert len([row for row in hand_table if row["value"] is not None]) > 50
    for row in hand_table:
        paper = bundled_papers[row["paper_id"]]
        assert row["split"] in ("tune", "heldout")
        if row["value"] is None:  # a paper that states no result on a named dataset
            continue
        assert row["sentence"] in paper.abstract, row
        assert row["value_text"] in row["sentence"], row
        assert float(row["value"]) == pytest.approx(float(row["value_text"].lstrip("+")))
    splits = {row["split"] for row in hand_table}
    assert splits == {"tune", "heldout"}


def test_bundled_ade20k_miou_rows_match_the_hand_table(bundled_papers, hand_table):
    from paperqa.results_table import ResultsTable

    expected = sorted(((r["paper_id"], float(r["value"])) for r in hand_table
                       if r["dataset"] == "ADE20K" and r["metric"] == "mIoU" and not r["is_delta"]),
                      key=lambda x: -x[1])
    table = ResultsTable.from_papers(bundled_papers.values())
    got = [(r.paper_id, r.value) for r in table.query(dataset="ADE20K", metric="mIoU")]
    assert got == expected
    titles = {r.title.split(":")[0] for r in table.query(dataset="ADE20K", metric="mIoU")}
    assert {"MOAT", "kMaX-DeepLab", "SG-Former", "VOLO"} <= titles


def test_precision_samples_are_checked_rows_whose_values_are_in_their_sentences():
    folder = HAND_TABLE.parent
    for name in ("extraction_precision_sample.jsonl", "extraction_precision_sample_v2.jsonl"):
        lines = [json.loads(line) for line in (folder / name).read_text("utf-8").splitlines() if line.strip()]
        assert len(lines) == 100, name
        assert {line["verdict"] for line in lines} <= {"correct", "wrong"}
        for line in lines:
            row = line["row"]
            assert line["reason"], line
            assert row["value_text"] in row["sentence"], line
    looked_at = {json.loads(line)["paper_id"] for line in
                 (folder / "extraction_precision_lookahead.jsonl").read_text("utf-8").splitlines() if line.strip()}
    reported = {json.loads(line)["row"]["paper_id"] for line in
                (folder / "extraction_precision_sample.jsonl").read_text("utf-8").splitlines() if line.strip()}
    assert not looked_at & reported  # the reported sample comes from papers not looked at while tuning


@pytest.mark.parametrize("name, size", [("extraction_precision_sample_v3.jsonl", 100),
                                        ("extraction_precision_sample_v4.jsonl", 100),
                                        ("extraction_precision_sample_v5.jsonl", 100),
                                        ("extraction_precision_sample_v6.jsonl", 100),
                                        ("extraction_precision_sample_v7.jsonl", 25)])
def test_later_precision_samples_are_checked_rows_of_papers_no_earlier_sample_holds(name, size):
    folder = HAND_TABLE.parent
    lines = [json.loads(line) for line in (folder / name).read_text("utf-8").splitlines() if line.strip()]
    assert len(lines) == size
    for line in lines:
        assert line["verdict"] in ("correct", "wrong") and line["reason"]
        assert line["row"]["value_text"] in line["row"]["sentence"]
    earlier = sorted(folder.glob("extraction_precision_sample*.jsonl"))
    earlier = [path for path in earlier if path.name < name and path.name != name]
    seen = {json.loads(line)["row"]["paper_id"] for path in earlier
            for line in path.read_text("utf-8").splitlines() if line.strip()}
    assert not seen & {line["row"]["paper_id"] for line in lines}


# ----- precision filters and shapes added for rules-4 (sentences from ml_abstracts, outside the dev set) ----


@pytest.mark.parametrize("text", [
    # a count: "10 camera views"
    "On the CMU Panoptic dataset, the system can run at 6 FPS, processing up to 10 camera views on a single GPU.",
    # a setting written with a symbol lost from the LaTeX
    "On Speech Commands, the method improves accuracy while keeping a privacy target at =0.01 with a fixed =10.",
    # human performance is not the paper's figure
    "On the Hateful Memes dataset our classifier surpasses the human performance of 82.65.",
    # a fraction ("4/255") and a range ("3%-8%")
    "We achieve strong adversarial accuracy for ImageNet with perturbations of radius 4/255.",
])
def test_counts_settings_human_figures_and_fractions_are_not_results(text):
    values = [r.value for r in rows_of(text)]
    assert 10 not in values and 82.65 not in values and 255 not in values


def test_a_range_is_not_a_negative_result():
    rows = rows_of("Our method outperforms the FSAD methods by 3%-8% in AUC on the MVTec AD benchmark.")
    assert all(r.value is None or r.value >= 0 for r in rows)


def test_the_metric_written_on_the_figure_wins():
    text = "On the COCO dataset the policy achieves a state-of-the-art accuracy of 50.7 mAP."
    assert triples(text) == [("COCO", "mAP", 50.7)]


def test_a_figure_on_a_name_the_lexicon_does_not_know_is_not_given_to_another_dataset():
    text = ("Our work outperforms the state-of-the-art approaches in terms of F-Score, being 10.6% higher on the "
            "OpenLane dataset and 5.9% higher on the Apollo 3D synthetic dataset.")
    assert [(r.dataset, r.value) for r in rows_of(text)] == [("OpenLane", 10.6)]


def test_improvement_lists_and_margins_are_deltas():
    rows = rows_of("We outperform the best published results on the BUCC mining task by more than 10 F1 and 30 "
                   "precision points.")
    assert [(r.value, r.is_delta) for r in rows] == [(10, True), (30, True)]
    rows = rows_of("Our model outperforms state-of-the-art on the VisDial dataset by a significant margin "
                   "(2.67% on recall@10).")
    assert [(r.dataset, r.value, r.is_delta) for r in rows] == [("VisDial", 2.67, True)]


def test_signed_delta_with_a_space_and_a_figure_right_after_its_dataset():
    text = ("For Abt-Buy, we reach an F1-score of 94.29 (+3.24 compared to the previous state-of-the-art), "
            "for Amazon-Google 79.28 (+ 3.7).")
    assert [(r.dataset, r.value, r.is_delta) for r in rows_of(text)] == [
        ("Abt-Buy", 94.29, False), ("Abt-Buy", 3.24, True), ("Amazon-Google", 79.28, False),
        ("Amazon-Google", 3.7, True)]


def test_pearson_is_not_spearman():
    lexicon = get_lexicon()
    assert lexicon.resolve_metric("Pearson correlation") == "Pearson Correlation"
    assert lexicon.resolve_metric("SROCC") == "Spearman Correlation"


def test_a_list_of_figures_pairs_with_the_datasets_the_sentence_before_listed():
    text = ("MCN outperforms state-of-the-art approaches on UCF101 and HMDB51 datasets. To be more specific, "
            "MCN achieves Top-1 accuracies of 84.8% and 54.5% for video action recognition.")
    assert triples(text) == [("UCF101", "Top-1 Accuracy", 84.8), ("HMDB51", "Top-1 Accuracy", 54.5)]


def test_names_ranges_and_settings_with_percent_are_not_results():
    rows = rows_of("The NDA-based SNN achieves accuracy gain on CIFAR10-DVS and N-Caltech 101 by 10.1% and 13.7%, "
                   "respectively.")
    assert 101 not in [r.value for r in rows]
    rows = rows_of("On CIFAR-10-C we obtain a mean corruption error of 13.50% even in the presence of an 80% noise "
                   "ratio.")
    assert 80 not in [r.value for r in rows]
    rows = rows_of("Our models reach ImageNet top-1 accuracies ranging from 76.5% to 80.9%.")
    assert [r.value for r in rows] == []


# ----- rules-5 ------------------------------------------------------------------------------------


def test_dataset_names_glued_to_other_letters_or_digits_are_not_matched():
    lexicon = get_lexicon()
    assert lexicon.find_datasets("E2EC runs at 36 fps on an EC2 instance.") == []
    assert lexicon.find_datasets("accuracy on ImageNet100") == []  # a 100-class subset, not ImageNet
    assert [m.name for m in lexicon.find_datasets("VOT2017 and COCO2017 val")] == ["VOT", "COCO"]  # a year stays
    assert [m.name for m in lexicon.find_datasets("52.7mIoU on ADE20K.")] == ["ADE20K"]


def test_names_the_lexicon_does_not_know_in_a_list_with_known_datasets():
    text = ("We improve over the state of the art by a margin of 6.9%, 8.1%, and 2.6% on the VOC07, VOC12, "
            "and COCO20K datasets, respectively.")
    assert [(r.dataset, r.value) for r in rows_of(text)] == [
        ("PASCAL VOC", 6.9), ("PASCAL VOC", 8.1), ("COCO20K", 2.6)]
    text = "The model is state of the art on CoNLL-2003 and SocialDisNER, improving F1 by 1.3 and 0.6 F1 respectively."
    assert [(r.dataset, r.value, r.is_delta) for r in rows_of(text)] == [
        ("CoNLL-2003", 1.3, True), ("SocialDisNER", 0.6, True)]
    # a dataset and the model after it are not a list
    assert [r.dataset for r in rows_of("On COCO, ViLD outperforms the previous best by 4.8 AP.")] == ["COCO"]


def test_a_sentence_that_names_where_its_figures_are_measured_does_not_inherit_the_earlier_dataset():
    first = "We evaluate on the VTAB-1k benchmark. "
    assert rows_of(first + "Our method achieves 16.08 and 11.52 average accuracy improvement on FGVC, respectively.") \
        == []
    assert rows_of(first + "On image inputs, we achieve 72.7% accuracy on a test dataset of 2.4K photos.") == []
    # a clause of its own: the first clause still reports on VTAB
    rows = rows_of(first + "We reach 71.2% accuracy on average; and comparable results on the FooBench task: 97% "
                           "accuracy.")
    assert [(r.dataset, r.value) for r in rows] == [("VTAB", 71.2)]
    # training data named in the sentence is not where the figure is measured
    rows = rows_of("We reach 28.2 BLEU on WMT14 English-German. We further improve this to 29.8 BLEU by training "
                   "on the much larger Paracrawl dataset.")
    assert [r.value for r in rows] == [28.2, 29.8]


@pytest.mark.parametrize("text", [
    "On LibriSpeech our model outperforms the best published hybrid result by 19% to 26% relative.",
    "On Open Graph Benchmark (OGB), the test accuracy of various GCNs increases by 1.21%2.84%.",  # the dash lost
    "On Human3.6M, we achieve 25.8 mm MPJPE with only 5M parameters on 256 256 resolution.",  # the × lost
    "On iHarmony4, HDNet reduces the total model parameters by more than 80% compared to previous methods.",
    "On CIFAR-10, TE-NAS only costs 0.5 and 4 GPU hours.",
])
def test_ranges_sizes_costs_and_count_lists_are_not_results(text):
    values = [r.value for r in rows_of(text)]
    assert not {19, 26, 1.21, 2.84, 256, 80, 0.5, 4} & set(values), values


def test_a_gain_then_the_new_figure_is_not_a_range():
    rows = rows_of("On COCO, our head improves the detector's AP by 2.1 to 45.3.")
    assert [(r.value, r.is_delta) for r in rows] == [(2.1, True), (45.3, False)]


def test_domain_adaptation_figures_are_measured_on_the_target():
    text = ("We report the best results: mIoU of 53.2%/51.7% when transferring from GTA5/SYNTHIA to Cityscapes, "
            "respectively.")
    rows = rows_of(text)
    assert [(r.dataset, r.value, r.qualifiers) for r in rows] == [
        ("Cityscapes", 53.2, ["adapted from GTA5"]), ("Cityscapes", 51.7, ["adapted from SYNTHIA"])]
    text = "Our method is state of the art on GTAV Cityscapes (74.4 mIoU, standard deviation: 0.32)."  # arrow lost
    assert [(r.dataset, r.value, r.qualifiers) for r in rows_of(text)] == [("Cityscapes", 74.4, ["adapted from GTAV"])]
    text = "On GTA5 → Cityscapes, we improve the previous best by 4.9% mIoU."
    assert [(r.dataset, r.value, r.is_delta) for r in rows_of(text)] == [("Cityscapes", 4.9, True)]


def test_gains_written_without_a_verb_of_improvement_are_deltas():
    rows = rows_of("The method outperforms existing methods by large margins (5.37 mAP on HICO-DET, and 5.7 mAP on "
                   "V-COCO).")
    assert [(r.dataset, r.value, r.is_delta) for r in rows] == [("HICO-DET", 5.37, True), ("V-COCO", 5.7, True)]
    rows = rows_of("The relative improvement in the sentence-level semantic frame accuracy of our model is 3.79% and "
                   "5.42% on ATIS and Snips datasets, respectively.")
    assert [(r.dataset, r.value, r.is_delta) for r in rows] == [("ATIS", 3.79, True), ("SNIPS", 5.42, True)]
    rows = rows_of("Evaluated on nine datasets it shows state-of-the-art performance over strong baselines e.g. "
                   "TabFact (4.3%), FUNSD (1%).")
    assert [(r.dataset, r.value, r.is_delta) for r in rows] == [("TabFact", 4.3, True), ("FUNSD", 1, True)]
    rows = rows_of("On ImageNet, ShuffleNet has a lower top-1 error (absolute 7.8%) than MobileNet.")
    assert [(r.value, r.is_delta) for r in rows] == [(7.8, True)]


def test_a_drop_of_a_higher_is_better_metric_is_a_negative_delta():
    rows = rows_of("We speed up the retrieval by ten times with a minor accuracy drop of 2.92% on Market-1501.")
    assert [(r.dataset, r.metric, r.value, r.is_delta, format_value(r)) for r in rows] == [
        ("Market-1501", "Accuracy", -2.92, True, "-2.92%")]
    # an error rate that drops is an improvement, and a drop avoided is not a drop
    rows = rows_of("On LibriSpeech the word error rate drops by 1.3% absolute.")
    assert [(r.value, r.is_delta) for r in rows] == [(1.3, True)]
    rows = rows_of("On COCO, imitation alleviates up to 74% of the mAP drop of the student model.")
    assert all(r.value > 0 for r in rows)


def test_each_metric_of_a_list_of_changes_keeps_its_own_figure():
    rows = rows_of("On the SOON benchmark, our search improves the success rate by 17.1% and SPL by 20.6%.")
    assert [(r.metric, r.value) for r in rows] == [("Success Rate", 17.1), ("SPL", 20.6)]
    rows = rows_of("On MultiWOZ, SimpleTOD improves inform rate by 8.1 points and success rate by 9.7 points.")
    assert [(r.metric, r.value) for r in rows] == [("Inform Rate", 8.1), ("Success Rate", 9.7)]
    assert triples("On the VOT2017 dataset, Siam-BM achieves an EAO of 0.335.") == [("VOT", "EAO", 0.335)]


def test_list_items_that_are_several_words_or_language_pairs():
    text = ("Our F2DNet achieves 8.7%, 2.2%, and 6.1% on City Persons, Caltech Pedestrian, and Euro City Person "
            "datasets respectively.")
    assert [(r.dataset, r.value) for r in rows_of(text)] == [
        ("CityPersons", 8.7), ("Caltech Pedestrian", 2.2), ("EuroCity Persons", 6.1)]  # the lexicon's name
    text = ("Our method achieves BLEU scores of 30.7 and 43.7 in the WMT'14 English-German and English-French "
            "translation tasks, respectively.")
    assert [(r.dataset, r.value) for r in rows_of(text)] == [("WMT14 En-De", 30.7), ("WMT14 En-Fr", 43.7)]


def test_figures_in_brackets_belong_to_the_dataset_or_figure_before_the_bracket():
    text = ("We achieve new state-of-the-art results on WMT14 English-French (43.8 BLEU and 46.4 BLEU with "
            "back-translation) and WMT14 English-German (30.1 BLEU).")
    assert [(r.dataset, r.value) for r in rows_of(text)] == [
        ("WMT14 En-Fr", 43.8), ("WMT14 En-Fr", 46.4), ("WMT14 En-De", 30.1)]
    text = ("We reach 82.4% (+5.1% increase over the previous best) top-1 accuracy on UCF101 and 52.9% (+5.4% "
            "increase) on HMDB51.")
    assert [(r.dataset, r.value) for r in rows_of(text)] == [
        ("UCF101", 82.4), ("UCF101", 5.1), ("HMDB51", 52.9), ("HMDB51", 5.4)]
    text = ("We reach state-of-the-art results on the ICDAR-2013 dataset with an average F-Measure of 95.05 (94.6 for "
            "rows and 96.32 for columns) and beat the baseline on the TabStructDB dataset with 94.17.")
    assert [(r.dataset, r.value) for r in rows_of(text)] == [
        ("ICDAR 2013", 95.05), ("ICDAR 2013", 94.6), ("ICDAR 2013", 96.32), ("TabStructDB", 94.17)]


def test_the_long_name_of_a_dataset_before_its_acronym_is_not_another_target():
    text = "MMSFormer achieves 52.05% mIoU, outperforming the state of the art on Multimodal Material Segmentation (MCubeS) dataset."
    assert triples(text) == [("MCubeS", "mIoU", 52.05)]
    text = "We present results on the publicly available CMMD dataset with a mean AUC score of 0.6688."
    assert triples(text) == [("CMMD", "AUC", 0.6688)]


def test_slash_pairs_of_metrics_and_arrowed_language_pairs():
    text = "On Market-1501 in single query mode, we obtain Rank-1/mAP=96.6%/94.2% after re-ranking."
    assert [(r.metric, r.value) for r in rows_of(text)] == [("Recall@1", 96.6), ("mAP", 94.2)]
    text = ("On the WMT 2014 English-to-German and English-to-French translation tasks, this approach yields "
            "improvements of 1.3 BLEU and 0.3 BLEU, respectively.")
    assert [(r.dataset, r.value) for r in rows_of(text)] == [("WMT14 En-De", 1.3), ("WMT14 En-Fr", 0.3)]


def test_figures_of_the_previous_state_of_the_art_and_of_humans_are_flagged_or_dropped():
    rows = rows_of("Our method achieves a classification mAP of 22.4% on the Charades benchmark, outperforming the "
                   "state-of-the-art (17.2% mAP).")
    assert [(r.value, "previous result" in r.qualifiers) for r in rows] == [(22.4, False), (17.2, True)]
    rows = rows_of("On CALLHOME, the proposed method achieved a diarization error rate of 12.28%, while a conventional "
                   "clustering-based system produced a diarization error rate of 28.77%.")
    assert [(r.value, "previous result" in r.qualifiers) for r in rows] == [(12.28, False), (28.77, True)]
    rows = rows_of("On WinoGAViL the associations are intuitive for humans (90% Jaccard index) but hard for models.")
    assert [r.value for r in rows] == []


def test_a_sentence_about_the_dataset_the_abstract_introduces_by_name_reports_on_it():
    text = ("We introduce GLAMI-1M: the largest multilingual image-text classification dataset and benchmark. "
            "The dataset contains images of fashion products. The paper presents baselines showing that the dataset "
            "is challenging: the best scoring EmbraceNet model achieves 69.7% accuracy.")
    assert triples(text) == [("GLAMI-1M", "Accuracy", 69.7)]
    # an own dataset without a name: the figure is not the other dataset's
    text = ("Models are usually evaluated on MNIST. We introduce a new dataset of handwritten Tamil digits. "
            "Our model achieves 91.2% accuracy on the dataset.")
    assert triples(text) == []


def test_shapes_of_the_v5_sample():
    assert triples("We achieve 80.3% mAP on the ImageNet VID dataset.") == [("ImageNet VID", "mAP", 80.3)]
    rows = rows_of("Our method surpasses the state of the art by considerable 16.7% and 7.9% on Market-1501 and MSMT17.")
    assert [(r.dataset, r.value, r.is_delta) for r in rows] == [("Market-1501", 16.7, True), ("MSMT17", 7.9, True)]
    rows = rows_of("Transferred to HowTo100M, our representation increases the accuracy by 15 - 20%.")
    assert [r.value for r in rows] == []
    rows = rows_of("Our system achieves 79.8% top-1 accuracy on the ImageNet dataset without fine-tuning model parameters.")
    assert [(r.value, r.qualifiers) for r in rows] == [(79.8, [])]
    rows = rows_of("On ImageNet-1K, we obtain top-1 accuracy of 88% under DP guarantee of (8, ) and 84.3% under (0.1, ).")
    assert [r.value for r in rows] == [88, 84.3]
    assert [r.value for r in rows_of("The parser shows similar or better accuracy on AMR 2.0 and 3.0.")] == []
    rows = rows_of("We achieve 71.3 F1 on TriviaQA, a large improvement from the 56.7 F1 of the previous best system.")
    assert [(r.value, "previous result" in r.qualifiers) for r in rows] == [(71.3, False), (56.7, True)]
    rows = rows_of("Experiments demonstrate significant improvements (4.8% and 5.5%) in accuracy on Office-31 and "
                   "Office-Home, respectively.")
    assert [(r.dataset, r.value, r.is_delta) for r in rows] == [("Office-31", 4.8, True), ("Office-Home", 5.5, True)]
    rows = rows_of("Our approach achieved 10% relative improvement (36.1 mAP → 39.9 mAP) on the HICO dataset.")
    assert [(r.value, r.is_delta) for r in rows if r.value != 10] == [(36.1, False), (39.9, False)]
    # a method that shares a dataset's name is the subject of the sentence, not where it is measured
    rows = rows_of("On the COCO keypoint set, AID consistently boosts the baseline by around 0.6 AP.")
    assert [(r.dataset, r.value) for r in rows] == [("COCO", 0.6)]


def test_shapes_of_the_v6_sample():
    rows = rows_of("On SemanticKITTI, we outperform all previous methods by at least 3.7% mIoU.")
    assert [(r.value, r.is_delta) for r in rows] == [(3.7, True)]
    rows = rows_of("Our Ada-Segment brings 2.7% panoptic quality (PQ) improvement on COCO val split.")
    assert [(r.value, r.is_delta) for r in rows] == [(2.7, True)]
    rows = rows_of("Our method outperforms the state of the art (e.g., up to 3%, 17%, and 14% error reductions on "
                   "Human3.6M, HumanEva-I, and MPI-INF-3DHP, respectively).")
    assert [(r.dataset, r.value, r.is_delta) for r in rows] == [
        ("Human3.6M", 3, True), ("HumanEva-I", 17, True), ("MPI-INF-3DHP", 14, True)]
    # a list of one unit: "MPJPE: 31.9, 8.4% improvement" keeps 31.9 absolute
    rows = rows_of("On Human3.6M we outperform the previous best by 2mm (MPJPE: 31.9, 8.4% improvement).")
    assert [(r.value, r.is_delta) for r in rows] == [(2, True), (31.9, False), (8.4, True)]
    assert triples("On unconditional CIFAR-10 our method achieves FID 9.58 and inception score 8.30.") == [
        ("CIFAR-10", "FID", 9.58), ("CIFAR-10", "Inception Score", 8.30)]
    rows = rows_of("Our method achieves APs of 95.7, 94.9 and 89.7 on the easy, medium and hard subsets of WIDER FACE.")
    assert {r.metric for r in rows} == {"AP"}
    rows = rows_of("On DocRED, our model exceeds the previous SOTA by 1.36 F1 and 1.46 Ign_F1 score.")
    assert [(r.metric, r.value) for r in rows] == [("F1", 1.36), (None, 1.46)]
    assert rows_of("On Pascal VOC, weak supervision achieves about 95% of fully-supervised performance.") == []
    assert rows_of("We can reduce the annotation demands to 50% without performance loss on MultiWOZ.") == []
    rows = rows_of("Compared with wav2vec 2.0 on LibriSpeech, our model shows 5% to 10% relative WER reduction.")
    assert rows == []
    rows = rows_of("On FUNSD, the F1 score of relation extraction is boosted from 80.35% to 89.45%.")
    assert [(r.value, "previous result" in r.qualifiers) for r in rows] == [(80.35, True), (89.45, False)]
    rows = rows_of("On ImageNet, it attains 86.5% and 87.3% top-1 accuracy when finetuned with resolution 224 and 384, "
                   "respectively.")
    assert [r.value for r in rows] == [86.5, 87.3]
    rows = rows_of("Our ensemble model achieves 87.4 F1 and 87.0 F1 on the CoNLL-2005 and 2012 datasets, respectively.")
    assert [(r.dataset, r.value) for r in rows] == [("CoNLL-2005", 87.4), ("OntoNotes 5.0", 87.0)]
    # a dataset named only as pre-training data is not the abstract's dataset
    text = ("We build on an ImageNet pre-trained backbone for salient object detection. The model runs at a real-time "
            "speed of 32 FPS and reaches an accuracy of 91.2%.")
    assert rows_of(text) == []
    # "based on YOLOv3" names the base model, not a dataset
    assert rows_of("We develop a detector based on YOLOv3. It reaches 45.2% mAP.") == []


@pytest.mark.parametrize(("abstract", "expected"), [
    ("ConvNeXts compete favorably with Transformers, achieving 87.8% ImageNet top-1 accuracy and outperforming "
     "Swin Transformers on COCO detection.", [("ImageNet", "Top-1 Accuracy", 87.8)]),
    ("Our model achieves 47.0 COCO box AP and 52.1 ADE20K mIoU.", [("COCO", "AP", 47.0), ("ADE20K", "mIoU", 52.1)]),
])
def test_metric_named_after_the_dataset(abstract, expected):
    """'87.8% ImageNet top-1 accuracy': figure, dataset, then metric (rules-6)."""
    got = [(r.dataset, r.metric, r.value) for r in rows_of(abstract) if r.value is not None]
    assert got == expected


@pytest.mark.parametrize(("text", "expected"), [
    # real sentences of ml_abstracts: the count after the figure has its own number
    ("The discovered model obtains a test error of 2.82% with only 2.5M parameters on CIFAR-10.",
     ("CIFAR-10", "Error Rate", 2.82)),
    ("On the Google speech commands dataset we obtain an accuracy of 95.55% using 75.7k parameters.",
     ("Speech Commands", "Accuracy", 95.55)),
])
def test_a_figure_followed_by_a_model_size_is_still_a_result(text, expected):
    assert expected in triples(text)


def test_percentages_followed_by_a_cost_word_are_costs_even_in_a_list():
    text = ("UniNet-B5 achieves 84.9% top-1 accuracy on ImageNet, outperforming EfficientNet-B7 and BoTNet-T7 with "
            "44% and 55% fewer FLOPs respectively.")
    assert triples(text) == [("ImageNet", "Top-1 Accuracy", 84.9)]
    assert triples("On CIFAR-10 our search cuts 30% of parameters.") == []


def test_a_list_of_previous_figures_is_all_previous_and_the_own_list_pairs_with_the_datasets():
    # 1911.04118 (ml_abstracts)
    text = ("Our approach establishes the state of the art on two well-known benchmarks, WikiQA and TREC-QA, "
            "achieving MAP scores of 92% and 94.3%, respectively, which largely outperform the previous highest "
            "scores of 83.4% and 87.5%, obtained in very recent work.")
    rows = rows_of(text)
    own = [(r.dataset, r.value) for r in rows if "previous result" not in r.qualifiers]
    assert own == [("WikiQA", 92.0), ("TREC QA", 94.3)]
    assert {r.value for r in rows if "previous result" in r.qualifiers} == {83.4, 87.5}


def test_an_iou_threshold_is_not_a_result_and_the_two_lists_then_pair():
    # 2004.01658 (ml_abstracts)
    text = ("We conduct extensive experiments on two challenging datasets, ScanNet v2 and S3DIS, on which our method "
            "achieves the highest performance, 63.6% and 64.0%, compared to 54.9% and 54.4% achieved by former best "
            "solutions in terms of mAP with IoU threshold 0.5.")
    own = [(r.dataset, r.value) for r in rows_of(text) if "previous result" not in r.qualifiers]
    assert own == [("ScanNet", 63.6), ("S3DIS", 64.0)]
    assert triples("Detections count as correct at an IoU threshold = 0.7 on KITTI.") == []


def test_a_list_of_figures_each_with_its_metric_that_ends_in_improvements_is_a_list_of_deltas():
    rows = rows_of("Experiments show that our method brings up to 3.3 mAP and 1.6 mAP improvements on V-COCO and "
                   "HICO-DET dataset for two advanced models.")
    assert [(r.dataset, r.metric, r.value, r.is_delta) for r in rows] == [
        ("V-COCO", "mAP", 3.3, True), ("HICO-DET", "mAP", 1.6, True)]
    assert [format_value(r) for r in rows] == ["+3.3", "+1.6"]
    rows = rows_of("With COCO training only, our method achieves 23.4 PQ and 30.0 mIoU on the ADE20K dataset, with "
                   "8.3 PQ and 7.9 mIoU absolute improvement over the previous state of the art.")
    assert [(r.dataset, r.metric, r.value, r.is_delta) for r in rows] == [
        ("ADE20K", "PQ", 23.4, False), ("ADE20K", "mIoU", 30.0, False),
        ("ADE20K", "PQ", 8.3, True), ("ADE20K", "mIoU", 7.9, True)]
    # figures with their metrics followed by where they are measured, not by a change: absolute
    rows = rows_of("Our model reaches 45.1 AP and 52.3 PQ on the COCO val set, higher than Mask2Former.")
    assert [(r.value, r.is_delta) for r in rows] == [(45.1, False), (52.3, False)]


def test_a_delta_keeps_the_dataset_it_is_written_on_past_a_bracketed_abbreviation():
    rows = rows_of("Our Ada-Segment brings 2.7% panoptic quality (PQ) improvement on COCO val split from the vanilla "
                   "baseline, achieving the state-of-the-art PQ on COCO test-dev split and 32.9% PQ on ADE20K dataset.")
    assert [(r.dataset, r.metric, r.value, r.is_delta) for r in rows] == [
        ("COCO", "PQ", 2.7, True), ("ADE20K", "PQ", 32.9, False)]
    rows = rows_of("Our system achieves 75.72 (F0.5) on the CoNLL-2014 dataset and 62.42 (GLEU) on the JFLEG test "
                   "set, respectively.")
    assert [(r.dataset, r.value) for r in rows] == [("CoNLL-2014", 75.72), ("JFLEG", 62.42)]


def test_a_speed_is_not_given_to_one_of_several_datasets_it_is_not_written_with():
    for abstract in (
            "It also achieves favorable accuracy on the TuSimple and CULane datasets, while retaining both low "
            "latency (150 FPS) and small model size (10M).",
            "Notably, our model achieves new state of the art on WFLW as well as competitive results on 300W and "
            "COFW, while still running at 50+ FPS.",
            "Experiments on the NYUv2, SUNRGB-D, and ScanNet datasets show state-of-the-art performance while "
            "still enabling inference with up to 39.1 FPS on an embedded GPU."):
        assert rows_of(abstract) == []
        paper = Paper(paper_id="p", title="Untitled", abstract=abstract)
        assert {r.metric for r in RuleExtractor().extract(paper)} == {None}  # the datasets stay, without a figure
    # written with its dataset ("at 22 FPS" of the MOT17 clause, "10 FPS on PubTabNet"), or the only dataset
    # the sentence's other figures are on: kept
    rows = rows_of("It achieves 61.2 MOTA on the MOT17 challenge at 22 FPS and 83.9 MOTA on the KITTI tracking "
                   "benchmark at 15 FPS.")
    assert [(r.dataset, r.metric, r.value) for r in rows if r.metric == "FPS"] == [("MOT17", "FPS", 22), ("KITTI", "FPS", 15)]
    rows = rows_of("Our model is trained on ImageNet and SciTSR, and TRUST runs at 10 FPS on PubTabNet.")
    assert [(r.dataset, r.value) for r in rows] == [("PubTabNet", 10)]
    rows = rows_of("We evaluate on the MS COCO and Pascal VOC datasets. On COCO, we report 38.1% AP at 60 FPS, "
                   "while our method runs on VOC images too.")
    assert [(r.dataset, r.metric, r.value) for r in rows] == [("COCO", "AP", 38.1), ("COCO", "FPS", 60)]
    assert triples("On the CMU Panoptic dataset, the system can run at 6 FPS.") == [("CMU Panoptic", "FPS", 6)]


def test_extraction_does_not_depend_on_the_hash_seed():
    import os
    import subprocess
    import sys
    code = ("from paperqa.models import Paper; from paperqa.results import RuleExtractor\n"
            "a = ('We produce state-of-the-art results on GTA Cityscapes (74.4 mIOU, +0.6, standard deviation: 0.32) '"
            " 'and Synthia Cityscapes (66.8 mIOU, +1.0, standard deviation: 0.44) datasets.')\n"
            "print([(r.value, r.qualifiers) for r in RuleExtractor().extract(Paper(paper_id='p', title='T', abstract=a))"
            " if r.value is not None])")
    src = str(Path(__file__).resolve().parents[1] / "src")
    outputs = {subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                              env={**os.environ, "PYTHONHASHSEED": str(seed), "PYTHONPATH": src}).stdout
               for seed in range(4)}
    assert len(outputs) == 1
    assert "(0.6, [])" in outputs.pop()  # the GTA figure is not "adapted from Synthia"


# ----- ambiguous names and clinical statistics (rules-12) -----------------------------------------
# Shaped after BEIR SciFact abstracts (biomedical) and ml_abstracts sentences.


@pytest.mark.parametrize("abstract", [
    "HIV prevalence dropped from 49.5% of 825 men in 1984 to 17.6% of 428 men in 1993.",
    "Patients wearing RFID wristbands are safe in 1.5 T and 3 T MR scanners using normal operation mode.",
    "Among EC cases, survivin and COX-2 were strongly positive in 38 (76%) and 30 (60%) patients, respectively.",
    "HTLV-I infection is associated with a 1-5% lifetime risk of adult T cell leukaemia.",
])
def test_an_ambiguous_name_in_a_clinical_sentence_gives_no_row(abstract):
    assert rows_of(abstract) == []


@pytest.mark.parametrize("abstract, expected", [
    ("On the HIV dataset, our graph network reaches a ROC-AUC of 80.2%.", ("HIV", "AUC", 80.2)),
    ("Our model achieves a ROC-AUC of 79.1% on BBBP and 80.2% on HIV.", ("HIV", "AUC", 80.2)),
    ("We evaluate on the MR and CR sentiment benchmarks. Our model reaches 82.1% on MR.", ("MR", None, 82.1)),
    ("Our classifier reaches 82.1% accuracy on MR and 93.4% on SST-2.", ("MR", "Accuracy", 82.1)),
])
def test_the_same_name_in_a_benchmark_sentence_still_gives_a_row(abstract, expected):
    assert expected in triples(abstract)


def test_an_abbreviation_counts_when_the_abstract_names_its_dataset_in_full():
    abstract = ("We search for a recurrent cell on the Penn Treebank. "
                "The cell transfers to character-level language modelling on PTB, with a perplexity of 1.214.")
    assert ("Penn Treebank", "Perplexity", 1.214) in triples(abstract) \
        or any(d == "Penn Treebank" and v == 1.214 for d, _, v in triples(abstract))


def test_names_the_lexicon_does_not_know_are_not_datasets_in_an_abstract_without_benchmarks():
    clinical = ("In women, high-risk patients demonstrated increased activation of the STAT3 (72% vs 35%) "
                "and EGFR (13% vs 2%) pathways. A larger proportion produced IL-10 (97%).")
    assert rows_of(clinical) == []
    ml = "We evaluate on three benchmarks. Our model reaches UPLight (92.45%) and ZJU (92.7%)."
    assert "UPLight" in {d for d, _, _ in triples(ml)}


def test_a_figure_with_its_p_value_or_confidence_interval_is_a_statistic_not_a_result():
    abstract = ("We compared tetrastarches on the CIFAR-10 benchmark (blood loss versus albumin: SMD, -0.34; "
                "95% CI, -0.63, -0.05; P = 0.02).")
    assert [v for _, _, v in triples(abstract)] == []
    # with a metric named, a significance test does not unmake the result
    ml = ("Experiments on MIMIC-III-full, a benchmark dataset of code assignment, show that our method improves "
          "macro F1 from 10.3 to 11.8 (P<0.001).")
    assert 11.8 in [v for _, _, v in triples(ml)]


def test_lexicon_files_mark_names_ambiguous(tmp_path):
    extra = tmp_path / "extra.yaml"
    extra.write_text(
        "datasets:\n"
        "  - {name: CORN, aliases: [Corn Leaf], area: agriculture, ambiguous: true}\n"
        "ambiguous: [PlantVillage]\n", "utf-8")
    lexicon = Lexicon.load([extra])
    assert lexicon.is_ambiguous("CORN") and lexicon.is_ambiguous("corn leaf") and lexicon.is_ambiguous("PlantVillage")
    assert get_lexicon().is_ambiguous("HIV") and not get_lexicon().is_ambiguous("ImageNet")
    assert lexicon.fingerprint != get_lexicon().fingerprint
    extra.write_text("ambiguous: HIV\n", "utf-8")
    with pytest.raises(LexiconError, match="'ambiguous' must be a list"):
        Lexicon.load([extra])


# ----- rules-13: shapes of a fresh sample (arXiv, June 2026; eval/datasets/extraction_precision_fresh_v8.jsonl)
def test_a_spread_or_an_exponent_is_not_a_result():
    assert triples("Our model achieves 84.7 \u00b1 0.3% top-1 accuracy on ImageNet.") == [("ImageNet", None, 84.7)]
    assert triples("Our model achieves 84.7 +/- 0.3 top-1 accuracy on ImageNet.") == [("ImageNet", None, 84.7)]
    assert triples("Our model achieves 84.7 $\\pm$ 0.3 top-1 accuracy on ImageNet.") == [("ImageNet", None, 84.7)]
    assert triples("It reaches 2.6% error for \u03b7\u226510^{-3} on ImageNet and 3.1% for 10^-6.") == [
        ("ImageNet", "Error Rate", 2.6), ("ImageNet", "Error Rate", 3.1)]


def test_a_version_number_between_two_names_is_part_of_a_model_name():
    got = triples("We evaluate on benchmarks. Gemini 3.1 Pro achieved a 92% success rate on miniF2F via refine@32.")
    assert got == [("miniF2F", "Success Rate", 92.0)]
    assert triples("On COCO 51.2 AP is reached.") == [("COCO", "AP", 51.2)]  # a dataset before it: a figure


def test_a_name_with_a_figure_after_words_comparing_methods_is_a_method():
    abstract = ("We evaluate on public benchmarks. On DL3DV, our method achieves 28.045 PSNR, surpassing "
                "AnySplat (22.377) by +5.67 dB. EfficientNetB0 had the best accuracy at 95%, when compared to the "
                "other architectures tested; specifically VGG16 (94.37%) and DenseNet121 (90.91%).")
    assert not {r.dataset for r in rows_of(abstract)} & {"AnySplat", "VGG16", "DenseNet121"}
    # benchmarks listed after "on" stay benchmarks, even after a comparison
    listed = ("We evaluate on public benchmarks. Compared with 1T-parameter models such as Kimi-K2.6, Agents-A1 "
              "achieves leading results on SEAL-0 (56.4), IFBench (80.6) and HiPhO (46.4).")
    assert [(d, v) for d, _, v in triples(listed)] == [("SEAL-0", 56.4), ("IFBench", 80.6), ("HiPhO", 46.4)]


def test_the_first_figure_of_from_x_to_y_is_the_previous_one():
    rows = rows_of("On Cityscapes, NIQE decreases from a mean of 6.22 to 4.97 after fine-tuning. On HarmBench "
                   "this attack lifts mean ASR from 0.278 to 0.731.")
    assert [(r.dataset, r.value, "previous result" in r.qualifiers) for r in rows] == [
        ("Cityscapes", 6.22, True), ("Cityscapes", 4.97, False), ("HarmBench", 0.278, True), ("HarmBench", 0.731, False)]


# ----- rules-14: shapes of the fresh samples v8 and v9 (eval/datasets/extraction_precision_fresh_v*.jsonl)
def test_an_acronym_the_abstract_defines_as_something_else_is_not_the_dataset():
    assert rows_of("Existing implicit neural representation (INR) approaches vary by 2.5 dB (78%). "
                   "We evaluate on benchmarks.") == []
    assert rows_of("We study Visual Question Answering (VQA). Our model improves grounding accuracy by +9.0 points.") == []
    # the dataset itself, or the acronym also written as a dataset elsewhere: kept
    assert triples("We use the Penn Treebank (PTB). We reach 55.1 perplexity on PTB.") == [
        ("Penn Treebank", "Perplexity", 55.1)]
    vqa = ("We propose attention for Visual Question Answering (VQA). Our model improves the state of the art on "
           "the VQA dataset from 60.3% to 60.5%. With ResNet it reaches 62.1% for VQA.")
    assert 62.1 in [v for _, _, v in triples(vqa)]


def test_shares_ranges_costs_and_name_parts_are_not_results():
    assert rows_of("We evaluate on MMLU. Across 57 MMLU subjects, flip rates range from 17.5% to 97.3%.") == []
    assert rows_of("On HumanEval our decoder reaches 97% of its performance with 25% of decoding budget.") == []
    assert triples("On LIBERO, it reduces memory from 15.4 GB to 4.1 GB and retains 96.3 average success.") == [
        ("LIBERO", None, 96.3)]
    assert triples("It runs at 90.57 Hz and achieves a MOTA of 92.27% on KITTI.") == [("KITTI", "MOTA", 92.27)]
    assert [v for _, _, v in triples("On the DsPCBSD+ dataset it achieves 85.5% mAP0.5 and 52.3% mAP0.5:0.95.")] == [
        85.5, 52.3]
    assert rows_of("We compare models (Claude Opus 4.7, Sonnet 4.6, Haiku 4.5) on GAIA validation Levels 1 and 2.") == []


def test_one_figure_for_a_list_of_datasets_or_for_unnamed_data_is_nobodys():
    assert rows_of("Experiments on ALFWorld, WebShop, and ScienceWorld show that it increases the average "
                   "reward by 38.0%.") == []
    assert rows_of("Evaluations on the Waymo Open Dataset and nuScenes show state-of-the-art results, with a "
                   "FID of 6.4.") == []
    assert triples("It reaches 84.7% top-1 accuracy on ImageNet and 1.2% gains on all four downstream tasks.") == [
        ("ImageNet", "Top-1 Accuracy", 84.7)]
    # a list of figures still pairs with the list of datasets
    assert triples("Experiments on LRS2 and LRS3 show WER of 25.0% and 33.2%, respectively.") == [
        ("LRS2", "WER", 25.0), ("LRS3", "WER", 33.2)]


def test_before_figures_without_from_and_models_named_with_their_size():
    rows = rows_of("On ALFWorld, FIFO-K50 degrades on Precision@5 (15.8% to 3.8%). On AMOS, DINOv3 improved "
                   "from 0.742/0.313 to 0.762/0.350. On IAM lines it reaches 8.2% CER, against 4.2% for the baseline.")
    assert [(r.value, "previous result" in r.qualifiers) for r in rows] == [
        (15.8, True), (3.8, False), (0.742, True), (0.313, True), (0.762, False), (0.35, False), (8.2, False), (4.2, True)]
    assert rows_of("We evaluate on benchmarks. ReXTrust reaches a peak AUC of 93.0 on MedGemma-4B.") == []


# ----- rules-15: a share of something is not a result (fresh sample v10)
def test_a_share_of_something_is_not_a_result():
    assert rows_of("We inspect the validation split of FOLIO, finding that approximately 39% and 36% of entries "
                   "contain incorrect labels.") == []
    assert rows_of("In the NYT corpus, 65.3% of human main arguments are unique, compared to 3.4% of LLM ones.") == []
    assert triples("On COCO it reaches 97% of the teacher's performance and 45.1 AP.") == [("COCO", "AP", 45.1)]
    # an awkward way to state a result is still one
    assert triples("On UrbanSound8k it achieves 89% of mean accuracy.") == [("UrbanSound8K", "Accuracy", 89.0)]
