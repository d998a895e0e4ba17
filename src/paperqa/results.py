"""Rule extraction of the results an abstract reports: "52.7 mIoU on ADE20K" becomes a row.

For each sentence of an abstract (offsets kept, so every row can be cited and highlighted), the
extractor finds dataset and metric names through the :mod:`paperqa.lexicon`, and the numbers that
are results (not years, counts, model sizes or names like "ResNet-50"). Each result number is then
tied to

* a **metric**: the one written right after it ("84.7% top-1 accuracy") or right before it
  ("an mIoU of 52.7"), else the nearest one before it in the sentence;
* a **dataset**: the one right after it ("... on COCO") unless a comma or another clause comes
  first, else the one before it ("ADE20K val set with 50.9% PQ"); with "respectively", the
  numbers and datasets of the sentence are paired in order;
* a **model** when the sentence names one as the subject ("MOAT attains ..."), or the name in
  the paper title before its colon when the subject is "we"/"our model";
* **qualifiers** found near it: split (val, test, test-dev ...), single-/multi-scale, zero-/few-
  shot, parameter count ("496M params"), FLOPs, "without extra data" ...;
* **is_delta** when it is an improvement ("+3.2 mIoU", "outperforms X by 2.1", "a gain of 3%").

A dataset named without any figure in the abstract gives a row with ``value`` None, so that an
answer can list the paper as "evaluated, no figure in the abstract".

Hand-rolled rules rather than a parsing library: the sentences are short and formulaic, the
spans must point into the original text, and extraction must run at ingest at hundreds of
papers per second on a CPU; the optional LLM extractor (``results.extractor: llm``) covers
what rules miss.
"""

from __future__ import annotations

import re
from collections.abc import Container, Iterable, Sequence
from dataclasses import dataclass
from itertools import pairwise

from .citations import passage_sentences
from .lexicon import Lexicon, Mention, get_lexicon, normalise
from .models import Paper, ResultRow

EXTRACTOR_VERSION = "rules-16"

# A number as written in an abstract, with an optional sign and unit. LaTeX "84.7\%" reads 84.7.
_NUMBER = re.compile(
    r"(?P<sign>[+\u00b1](?:\s(?=\d))?|(?<![\w)\]%])[-\u2212](?=\d))?"
    r"(?P<num>\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?|\.\d+)"
    r"(?P<unit>\s?\\?%|\s?percent\b|\s?(?:pp|p\.p\.)(?!\w)|\s?points?\b|\s?dB\b|\s?ms\b|\s?FPS\b|\s?fps\b|"
    r"\s?mm\b)?"
)
# What may follow a number that is a count, a size or part of a name, not a result.
_NOT_A_RESULT_AFTER = re.compile(
    r"(?:[A-Za-z]|-\s?[A-Za-z]|\s?[×x]\s?\d|\s?×|\^|\s+(?:million|billion|thousand|times|hours?|days?|minutes?|"
    r"seconds?|epochs?|layers?|images?|samples?|examples?|videos?|classes|categories|languages?|tasks?|"
    r"datasets?|benchmarks?|subjects?|participants?|patients?|users?|GPUs?|TPUs?|words?|tokens?|"
    r"sentences?|documents?|pairs?|hours|steps|iterations|queries|questions|parameters|params|"
    r"frames|views|shots?|runs?|seeds?|folds?|domains?|objects?|people|scenes|clips|speakers|"
    r"nodes|edges|graphs|variants?|models?|methods?|baselines?|teams?|submissions?|entries|upscaling|"
    r"labels?|labeled|labelled|annotated|annotations?|instances|identities|operations|channels|"
    r"[KMGT]B|[KMG]?Hz|GiB|MiB|kWh?|W)\b)",
    re.IGNORECASE,
)
# "3.92and 10.41on MPIIGaze": a unit symbol lost in the text glued the number to the next word.
_GLUED_WORD = re.compile(r"(?:and|on|in|of|for|with|at|to|or|vs)\b")
_PARAMS = re.compile(
    r"(?P<n>\d+(?:\.\d+)?)\s?(?P<scale>[KMBT])\b\s*(?:model\s+|trainable\s+|learnable\s+)?(?:parameters|params)\b",
)
_PARAMS_WORDS = re.compile(
    r"(?P<n>\d+(?:\.\d+)?)\s?(?P<scale>million|billion)\s+(?:model\s+|trainable\s+)?(?:parameters|params)\b",
    re.IGNORECASE,
)
_FLOPS = re.compile(r"(?P<n>\d+(?:\.\d+)?)\s?(?P<scale>[KMGT])\s?(?:FLOPs|MACs|FLOPS)\b")
_SPLIT = re.compile(
    r"\b(test-dev|test-std|test-challenge|test-clean|test-other|dev-clean|dev-other|minival|"
    r"val(?:idation)?(?=\s+(?:set|split|data)\b)|test(?=\s+(?:set|split|data)\b)|dev(?=\s+set\b)|"
    r"Area[\s-]?5|6-fold)\b",
    re.IGNORECASE,
)
_SPLIT_AFTER_DATASET = re.compile(
    r"^\s*(?:\(\s*)?(val(?:idation)?|test-dev|test-std|test|dev|minival|test-clean|test-other)\b", re.IGNORECASE
)
_SPLIT_IN_NAME = re.compile(
    r"\b(val(?:idation)?|test-dev|test-std|test|dev|minival|test-clean|test-other)$", re.IGNORECASE
)
_SETTINGS = re.compile(
    r"\b(single[- ]scale|multi[- ]scale|single[- ]model|ensembles?|zero[- ]shot|one[- ]shot|few[- ]shot|"
    r"\d+[- ]shot|linear[- ]prob(?:e|ing)|(?<!without )(?<!w/o )fine[- ]?tun(?:ed|ing)|end-to-end fine-tuning|"
    r"without (?:any )?(?:extra|external|additional) (?:training )?data|with(?:out)? pre-?training|"
    r"(?:semi|self|weakly|un)[- ]supervised|real[- ]time|"
    r"(?:pre-?trained|pretrained) on [A-Z][\w\-]*(?:[- ]\d+[Kk])?)\b",
    re.IGNORECASE,
)
_DELTA_BEFORE = re.compile(
    r"(?:\bby\s+(?:a\s+)?(?:an?\s+)?(?:(?:large|significant|clear|notable|wide|substantial|absolute|relative|considerable|"
    r"remarkable|huge|big|great)\s+)?(?:margin\s+of\s+)?"
    r"(?:an?\s+)?(?:average\s+of\s+)?(?:up\s+to\s+|about\s+|around\s+|over\s+|more\s+than\s+|nearly\s+|at\s+least\s+|"
    r"approximately\s+|roughly\s+|~\s?)?(?:an?\s+)?%?|\b(?:improvements?|gains?)\s*\(\s*|"
    r"\bmargins?,?\s*(?:\(\s*|(?:of\s+)?(?:about|around|approximately|nearly|roughly|~)\s*)|\(\s*(?:absolute|relative)\s+|"
    r"\bimprov(?:es|ed|ing)\s+|\bimprov(?:es|ed|ing)\s+(?:upon|on|over)\s+(?:[\w\-]+\s+){0,4}?with\s+|"
    r"\b(?:improvements?|gains?|boosts?|increases?|margins?|reductions?|decreases?|drops?|"
    r"improved|increased|reduced|boosted)\s+(?:of\s+|by\s+)?(?:up\s+to\s+|about\s+|around\s+|over\s+|"
    r"more\s+than\s+|nearly\s+|approximately\s+|roughly\s+|~\s?)?)$",
    re.IGNORECASE,
)
# "the relative improvement in the sentence-level accuracy of our model is 3.79%", "improves the accuracy of
# the minority classes up to 26.58%", "a loss in accuracy of 3%"
_GAIN_IS_BEFORE = re.compile(
    r"(?:\b(?:improvements?|gains?|increases?|reductions?|boosts?)\b"
    r"(?:(?!achiev|obtain|reach|yield|attain|\bsets?\b|report|scor|SOTA|state|result|\bwith\b|\bto\b|\band\b)[^.;:\d]){0,80}"
    r"\b(?:is|are|was|were|of|by|amounts? to)"
    r"|\b(?:losses|loss|degradation|drops?)\s+(?:in|of)\s+(?:[\w\-]+\s+){0,3}?(?:of)?"
    r"|\bimprov\w*\b(?:(?!achiev|obtain|reach|\bto\b)[^.;:\d]){0,60}\bup\s+to)"
    r"\s+(?:about\s+|around\s+|up\s+to\s+|over\s+|nearly\s+|approximately\s+|roughly\s+|only\s+|~\s?)?$",
    re.IGNORECASE,
)
_OVER_BASELINES = re.compile(r"\bover\b", re.IGNORECASE)
# " mAP and 1.6 mAP", " PQ and 7.9 mIoU": the rest of a list whose every figure is followed by its metric's name
_METRIC_TOKEN = r"(?:[a-z]*[A-Z][\w@\-]{0,10}|points?|pp)"
_METRIC_LIST_AFTER = re.compile(
    r"\s?(?:\\?%)?\s*" + _METRIC_TOKEN +
    r"(?:\s*(?:,\s*and|,|and)\s*[+\u00b1]?\d+(?:\.\d+)?\s?(?:\\?%)?\s*" + _METRIC_TOKEN + r")+(?=\s)")
_DELTA_AFTER = re.compile(
    r"^(?:\s?(?:%|\\%|percent|points?|pp|p\.p\.|dB))?\s*(?:\((?:absolute|relative)\)\s*)?(?:(?!with\b)[\w\-.%/]+\s+){0,3}?"
    r"(?:absolute\s+|relative\s+)?(?:higher|better|lower|improvements?|gains?|increases?|boosts?|"
    r"reductions?|(?-i:losses|loss(?!\s+(?:in|on)\s+the\b)|drops?|degradation|decreases?)|more|less|fewer|"
    r"above(?!\s+(?:datasets?|benchmarks?|tasks?|mentioned|methods?))|"
    r"over\s+(?:the\s+)?(?:[\w\-]+\s+)?(?:previous|prior|baseline|state|best|sota)|"
    r"relative|absolute)\b",
    re.IGNORECASE,
)
_INDEX_BEFORE = re.compile(
    r"(?:\b(?:class|task|phase|stage|step|version|type|level|layer|block|split|fold|round|epoch|day|track|resolutions?|"
    r"subtask|setting|scenario|section|table|figure|fig\.|eq\.|factor of|gap from|gap of|gap to|protocol|"
    r"RTX|GTX|Titan|Tesla|out of|factor)|\bbetween)\s*$"
    r"|\bgap\b[^.;,]{0,30}$",
    re.IGNORECASE,
)
# "90% of the full performance": a share, not a result; "between 0.5% and 2.7%": a range
_SHARE_AFTER = re.compile(r"^\s?(?:\\?%|percent)?\)?\s+(?:of\s+(?:the|its|their|our|all|unlabell?ed|labell?ed|training|"
                          r"data|images|samples|parameters|fully[- ]supervised|supervised|full|oracle|upper[- ]bound|"
                          r"records|questions|queries|tasks|cases|instances|examples|documents|tokens|frames|"
                          r"videos|users|participants|decoding|compute|inference|training|budget)\b|"
                          r"(?:labell?ed|unlabell?ed)\s+data\b)", re.IGNORECASE)
_RANGE = re.compile(r"\bbetween\s*$|\brang(?:e|es|ed|ing)\s+from\s*$|\brang(?:e|es|ed|ing)\s+from\s+\S+\s+to\s*$|"
                    r"^\s?(?:\\?%)?\s*(?:--?|\u2013)\s*\d", re.IGNORECASE)
# "reduce the size of the pre-trained Swin-B transformer by 48%": a cost, not a result
_COST_BEFORE = re.compile(
    r"\bspeed-?ups?\s*\((?:e\.g\.,?\s*)?$|"
    r"\b(?:size|parameters|params|FLOPs|MACs|memory|latency|computations?|computational|cost|costs|time|footprint|speed|"
    r"storage|energy|model size|training time)\b[^.;,]{0,40}\bby\s*(?:up to\s+|about\s+|around\s+|more than\s+|over\s+|"
    r"almost\s+|nearly\s+|approximately\s+|roughly\s+|~\s*)?$"
    r"|\b(?:speed-?ups?|memory|run-?time|reductions? in (?:\w+\s+){0,2}(?:memory|time|cost|size))\s+(?:of\s+)?$"
    r"|\b(?:annotation|labell?ing|label|data)\s+(?:demands?|budgets?|costs?|efforts?|requirements?)\s+(?:to|by)\s+(?:only\s+)?$",
    re.IGNORECASE,
)
# "outperforming the best previous system of 0.392", "82.2% (vs 80.2%)", "(current SOTA is 0.86)"
_PREVIOUS_BEFORE = re.compile(
    r"(?:\bvs\.?|\bversus|\bcompared (?:to|with)|\bagainst|(?<!new\s)\b(?:SOTA|state[- ]of[- ]the[- ]art|baseline)\s+(?:is|was|of)|"
    r"\b(?:previous|prior|former|existing)\s+(?:best\s+)?(?:[\w\-]+\s+){0,2}?(?:of|at)|"
    r"\b(?:existing|previous|prior|other|competing|baseline)\s+(?:[\w\-]+\s+){0,3}?(?:only\s+)?"
    r"(?:achieve|obtain|reach|get|score)s?\s+(?:only\s+)?(?:an?\s+)?|"
    # "outperforming the state-of-the-art (17.2% mAP)"
    r"\b(?:outperform|surpass|beat|exceed)\w*\s+(?:the\s+)?(?:previous\s+|prior\s+|current\s+)?"
    r"(?:state[- ]of[- ]the[- ]art|SOTA|best|baselines?)(?:\s+(?!on\b|in\b|for\b|at\b)[\w\-]+){0,2}\s*\(|"
    # "while a conventional clustering-based system produced diarization error rate of 28.77%"
    r"(?<!our\s)\b(?:conventional|traditional|standard|existing|previous|prior|competing)\s+(?:[\w\-]+\s+){0,3}?"
    r"(?:systems?|models?|methods?|approach(?:es)?|baselines?)\s+(?:produced|achieved|obtained|yielded|had|has|got|"
    r"reached|scored)\b[^.;\d]{0,40})\s*$",
    re.IGNORECASE,
)
_BOUND_BEFORE = re.compile(
    r"\bcross\w*\s+(?:the\s+)?\w+\s+$|\b(?:exceed(?:s|ed|ing)?|surpass(?:es|ing)?|above|below|under|over|beyond|than|at least|at most|"
    r"less than|more than|down to|thresholds?(?:\s+of|\s*=|\s*:)?|cross(?:es|ing)?|break(?:s|ing)?|"
    r"only|just|merely|random(?:ly)?|chance(?: level)?|human|humans|baseline(?:s)? (?:of|at))\s*(?:the\s+)?$",
    re.IGNORECASE,
)
# (the words between may not hold a count of their own: "95.55% using 75.7k parameters" and
# "84.3% with 22M params" give the cost to 75.7k and 22M, and the figure stays a result; a list of
# percentages shares it: "44% and 55% fewer FLOPs")
_COST_AFTER = re.compile(
    r"^(?:\s?(?:\\?%|percent))?\s*(?:(?:(?:[^\W\d]|[-.%])[\w\-.%]*|\d[\d.]*\\?%)\s+){0,3}?(?:(?:in|of|on)\s+)?(?:both\s+)?(?:the\s+)?(?:number\s+of\s+)?(?:computation(?:al)?|compute|"
    r"G?FLOPs?|G?MACs|cost|memory|parameters|params|model size|latency|energy|bitrate|bit-rate|storage|"
    r"training time|inference time|run-?time|speed|throughput|bandwidth|power|confidence|operations|"
    r"multiply-adds?|actions|annotations|samples|data|time)\b",
    re.IGNORECASE,
)
_OVER_METHOD_AFTER = re.compile(r"^\s?(?:\\?%|points?|pp)?\s+(?:absolute\s+)?(?:over|above)\s+(?:the\s+)?[A-Z]")
_NUMBER_LIST_BEFORE = re.compile(
    r"(?:[+\u00b1]?\d+(?:\.\d+)?\s?(?:\\?%)?\s*(?:[A-Za-z][\w\-@]*(?:\s+|(?=,))){0,4}?(?:,\s*and|,|and|/)\s*)+$"
)
# "on ACE2004, ACE2005, and NNE": a list of names, some unknown to the lexicon
_NAME_LIST = re.compile(
    r"(?P<items>[A-Z0-9][\w\-+.'’]*(?:\s[A-Z0-9][\w\-+.'’]*){0,3}"
    r"(?:\s*(?:,\s*and|,|and|&)\s*(?:the\s+)?[A-Z0-9][\w\-+.'’]*(?:\s[A-Z0-9][\w\-+.'’]*){0,3})+)"
)
_CHANGE_VERB = re.compile(
    r"\b(?:improv\w*|increas\w*|reduc\w*|decreas\w*|rais\w*|boost\w*|push\w*|advanc\w*|lower\w*|"
    r"drop\w*|go(?:es)? up|went|cut\w*|bring\w*|brought|enhanc\w*|gain\w*|lift\w*|ris(?:e|es|ing)|rose|risen|"
    r"climb\w*|jump\w*|gr[eo]w\w*|f[ae]ll\w*|mov\w*|shift\w*|degrad\w*|collaps\w*|declin\w*|recover\w*)\b",
    re.IGNORECASE,
)
# "from 2.39 to 2.10", "from a mean of 6.22 to 4.97": the first figure is the one before the change
_FROM_TO = re.compile(r"\bfrom(?:\s+(?:a|an|the))?(?:\s+(?:mean|average|median|baseline|score|value|rate|level))?"
                      r"(?:\s+of)?\s*$", re.IGNORECASE)
_CLAUSE_BREAK = re.compile(r"[;:]|\b(?:while|whereas|but|although|which|compared|versus|vs\.?)\b")
# A model name: a word with an inner capital or digit ("MOAT", "ConvNeXt-B", "kMaX-DeepLab", "YOLOv8").
_MODEL_NAME = (
    r"(?:[A-Z][A-Za-z0-9]*[A-Z0-9][A-Za-z0-9]*|[a-z]+[A-Z][A-Za-z0-9]*|[A-Z][a-z]+\d[\w]*|"
    r"[A-Z][a-z]+(?=-[A-Z0-9]))(?:[-_.][A-Za-z0-9]+)*"
)
_MODEL_SUBJECT = re.compile(
    r"(?P<model>" + _MODEL_NAME + r"(?:\s(?:[A-Z0-9][\w\-]*|\([\w\-]+\)))?)\s+"
    r"(?:(?:also|further|still|even|now|only|significantly|consistently|clearly|successfully|then|thus|"
    r"again|notably|remarkably|substantially|greatly|largely|[a-z]+ly)\s+)?"
    r"(?:achieves?|attains?|obtains?|reach(?:es)?|yields?|gets?|sets?|scores?|outperforms?|surpass(?:es)?|"
    r"improves?|achieved|attained|obtained|reached|establish(?:es)?|delivers?|records?|boosts?|exceeds?|"
    r"hits?|shows?|demonstrates?|produces?|performs?|ranks?|is|has)\b"
)
_OUR_SUBJECT = re.compile(
    r"\b(?:we|it|its|our(?:\s+[\w\-]+){0,3}\s+(?:model|method|approach|network|framework|system|architecture|"
    r"detector|agent|algorithm|variant|models|methods|networks|variants))\b",
    re.IGNORECASE,
)
_NOT_MODELS = frozenset(
    ["We", "Our", "It", "This", "These", "Its", "They", "Code", "Results", "Experiments", "Extensive", "Moreover", "Furthermore", "However", "Finally", "Specifically", "Notably", "In", "On", "For", "With", "Compared", "Overall", "Both", "Code", "Table", "SOTA", "AI", "ML", "NLP", "CV", "GPU", "GPUs", "CPU", "CNN", "CNNs", "RNN", "LSTM", "ViT", "ViTs", "LLM", "LLMs"]
)
# "Generic" dataset names the lexicon does not know: "on the Foo-Bar dataset", "the XYZ benchmark".
_GENERIC_DATASET = re.compile(
    r"\b(?i:on|in|of|for|over|across|using|from)\s+(?i:the\s+)?(?:(?:challenging|popular|public|publicly available|"
    r"available|well-known|open|open-source|ongoing|famous|commonly used|large-scale|"
    r"standard|widely[- ]used|recent|new|benchmark|real-world)\s+)*"
    r"(?P<name>(?:[A-Z0-9][\w\-+.'’]*[\w+](?:\s|-)){0,3}[A-Z0-9][\w\-+.'’]*[\w+])\s+"
    r"(?:data\s?set|benchmark|corpus|challenge|leaderboard|test\s+set|database)s?\b"
)
# "UPLight (92.45%), ZJU (92.7%)", "USMLE: 60.2%", "(MCubeS) dataset", "on CULane, Tusimple and ...".
_NAME = r"[A-Z][A-Za-z0-9]*(?:[-_][A-Za-z0-9]+)*"
_GENERIC_BEFORE_FIGURE = re.compile(
    r"(?P<name>" + _NAME + r")\s?(?:\(\s*|:\s*)(?=[+\-]?\d+(?:\.\d+)?\s?(?:\\?%)?\s*[),;]|[+\-]?\d+(?:\.\d+)?\s?\\?%)"
)
# Words that set methods side by side: a "Name (81%)" after them is a method's figure, not a dataset's
# ("outperforming GPT-4o (81%)", "compared to the other architectures tested; specifically VGG16 (94.37%)").
_COMPARED_WITH = re.compile(r"\b(?:outperform\w*|surpass\w*|exceed\w*|beat\w*|than|compared|versus|vs\.?|"
                            r"baselines?|architectures|models|methods|approaches)\b", re.IGNORECASE)
def _after_comparison(before: str) -> bool:
    """Whether a name comes after words setting methods side by side, with no "on"/"in" since: "surpassing
    AnySplat (22.377)" is a method, "Compared with X, it leads on SEAL-0 (56.4), IFBench (80.6)" benchmarks."""
    cue = max((m.start() for m in _COMPARED_WITH.finditer(before)), default=-1)
    return cue >= 0 and cue > max((m.start() for m in re.finditer(r"\b(?:on|in|across|for)\b", before)), default=-1)


# An unknown name ending in a model size ("-4B", "-7B", "-XL", "-Base"; not "-30K", which sizes
# datasets, nor "-S", "-L", which also name dataset variants) or in an adjective after a hyphen
# ("BM25-retrievable", "43-prompt"; not "-extr", "-full", "-light") names a model or is a compound
# word, not a dataset.
_MODEL_OR_COMPOUND = re.compile(
    r"-(?:\d+(?:\.\d+)?[BM]|XL|XXL|Base|Large|Small|Tiny|Instruct|Chat|"
    r"[a-z]+(?:able|ible|ive)|[a-z]*(?:based|aware|free|level|style|prompt|shot|wise))$")
_GENERIC_ACRONYM = re.compile(r"\((?P<name>" + _NAME + r")\)\s+(?:data\s?set|benchmark|corpus|challenge|database)s?\b")
_PRETRAINING_BEFORE = re.compile(
    r"\b(?:pre-?train(?:ed|ing)?|transfer(?:red|ring)?\s+learning|distill(?:ed|ing)?)\b[^.;]{0,50}\b(?:on|from|with)\s+"
    r"(?:the\s+)?(?:large-scale\s+)?$",
    re.IGNORECASE,
)
_PRETRAINING_AFTER = re.compile(r"^[\s-]?(?:pre-?train(?:ed|ing)|pretrained)\b", re.IGNORECASE)
# "71.3% on PASCAL-Person-Part (...)": a name the lexicon does not know, right after "on"
_GENERIC_ON = re.compile(
    r"(?<!based )(?<!built )(?<!relies )(?<!rely )(?<!depends )(?<!focus )(?<!focuses )\bon\s+(?:the\s+)?(?P<name>[A-Z][A-Za-z0-9]*(?:[-_][A-Za-z0-9]+)+|[A-Z]{2,}[A-Za-z0-9]*)"
    r"(?=\s*(?:\(|,|;|\.|$)|\s+(?:and|dataset|datasets|benchmark|test|val|set)\b)"
)
_NOT_GENERIC = frozenset(["GPU", "GPUs", "CPU", "CPUs", "TPU", "MCU", "NPU", "FPGA", "ARM", "NVIDIA", "CUDA", "AWS", "API", "SOTA", "SoTA", "CNN", "CNNs", "RNN", "LLM", "LLMs", "ViT", "ViTs", "AI", "ML", "NLP", "CV"])
_OWN_DATASET = re.compile(
    r"\b(?:our|a|the) (?:new|novel|synthetic|own|proposed|large-scale|collected)\s+(?:\w+\s+){0,2}?(?:data\s?set|benchmark|corpus)"
    r"|\b(?:we|(?:this|the) (?:paper|work)) (?:introduce|present|propose|collect|construct|release|create|build)s?\b"
    r"[^.]{0,80}\b(?:data\s?set|benchmark|corpus)",
    re.IGNORECASE,
)
# "on a test dataset of 2.4K photos", "on our own benchmark": data other than the named datasets
_ANOTHER_DATASET = re.compile(
    r"\b(?:on|in|for|with|using)\s+(?:a|an|our|their|another|other|new|two|three|several)\s+(?:[\w\-]+\s+){0,3}?"
    r"(?:data\s?sets?|benchmarks?|corpus|corpora|test\s+sets?|collection)\b", re.IGNORECASE)
# "on FGVC", "on the Babel task", "for Text-to-UMLS linking": a name where the figures are measured
_NAMED_TARGET = re.compile(
    r"\b(?i:on|in|for)\s+(?:(?i:the|a|an)\s+)?(?:[a-z][a-z\-]*\s+){0,2}?"
    r"(?P<name>[A-Z][A-Za-z0-9]*[A-Z0-9][\w\-]*|[A-Z][a-z]+(?=\s+(?:task|subtask|track|challenge|dataset|benchmark|"
    r"corpus|data)\b))"
)
_TRAINED_ON = re.compile(r"\b(?:train(?:ed|ing)?|pre-?train(?:ed|ing)?|fine-?tun(?:ed|ing)|learn(?:ed|ing)?)\s+"
                         r"(?:\w+\s+){0,3}?(?:on|in|from)\s", re.IGNORECASE)
_SETUP_AFTER = re.compile(r"\s+(?:setups?|settings?|systems?|models?|tasks?|pipelines?|scenarios?)\b")
_METHOD_VERB_AFTER = re.compile(
    r"\s+(?:(?:also|further|still|consistently|significantly|clearly|substantially|greatly|even)\s+)?"
    r"(?:achieves|outperforms|surpasses|boosts|improves|reduces|is\s+able\s+to|yields|obtains|attains|beats|enables)\b")
_SUBJECT_BEFORE = re.compile(r"(?:^|[,;:]|\bthat|\bour|\bwhile|\band)\s*$", re.IGNORECASE)
_OWN_DATA_REF = re.compile(r"\b(?:our|the|this)\s+(?:new\s+|proposed\s+|own\s+)?(?:data\s?set|benchmark|corpus)\b",
                           re.IGNORECASE)
_OTHER_DATA = re.compile(r"\b(?:data\s?sets?|benchmarks?|corpus|corpora|database|challenge)\b", re.IGNORECASE)
_NOT_DATASET_NAMES = frozenset(["The", "This", "Our", "A", "An", "All", "Each", "Both", "These", "Several", "Many", "Multiple", "Public", "New"])


_ABBREVIATION_END = re.compile(
    r"\b(?:vs|e\.g|i\.e|et al|cf|Fig|Figs|Eq|Sec|approx|resp|No|ca|Tab|incl|w\.r\.t|avg|std|Ref|Refs)\.$",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class _Number:
    value: float
    text: str
    start: int
    end: int
    unit: str | None
    signed: bool


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) offsets of the sentences of an abstract.

    Like :func:`paperqa.citations.passage_sentences`, but "vs. 91.1%", "e.g. ImageNet" and
    "et al. 2020" do not end a sentence: a result and its comparison stay together.
    """
    spans: list[tuple[int, int]] = []
    for s, e in passage_sentences(text):
        if spans and _ABBREVIATION_END.search(text[spans[-1][0]:spans[-1][1]]):
            spans[-1] = (spans[-1][0], e)
        else:
            spans.append((s, e))
    return spans or ([(0, len(text))] if text.strip() else [])


# Evidence that a name is a benchmark here: "the HIV dataset", "MR, CR and SST benchmarks", "test set".
_BENCHMARK_CUE = re.compile(
    r"\b(?:data\s?sets?|benchmarks?|corpus|corpora|test(?:ing)?\s+sets?|dev(?:elopment)?\s+sets?|"
    r"validation\s+sets?|splits?|leaderboards?)\b",
    re.IGNORECASE,
)
_CUE_BEFORE, _CUE_AFTER = 60, 40  # characters around a name within which a cue counts
# An abstract that speaks of benchmarks: a cue, a database or challenge, a state of the art to beat
_BENCHMARK_ABSTRACT = re.compile(
    _BENCHMARK_CUE.pattern + r"|\b(?:databases?|challenges?|state[- ]of[- ]the[- ]art|SOTA|outperform\w*)\b",
    re.IGNORECASE,
)


# A long form that names data: "Dialogue System Technology Challenge 7 (DSTC7)"
_DATA_WORDS = re.compile(r"\b(?:challenges?|competitions?|shared tasks?|tracks?|corp(?:us|ora)|databases?|"
                         r"collections?|treebanks?)\b", re.IGNORECASE)
# "implicit neural representation (INR)": an acronym in parentheses (the words before it are read apart)
_ACRONYM_DEFINED = re.compile(r"(?<=\s)\((?P<acronym>[A-Z][A-Za-z0-9\-]{1,9})\)")


class _AbstractContext:
    """What the whole abstract says about its names, worked out only when a sentence needs it:
    which ambiguous names it shows to be benchmarks, and whether it speaks of benchmarks at all."""

    def __init__(self, extractor: RuleExtractor | None = None, abstract: str = "") -> None:
        self._extractor, self._abstract = extractor, abstract
        self._established: frozenset[str] | None = None if extractor else frozenset()
        self._benchmark: bool | None = None if extractor else True
        self._redefined: frozenset[str] | None = None if extractor else frozenset()
        self._mentions: list[Mention] | None = None

    def _found(self) -> list[Mention]:
        assert self._extractor is not None
        if self._mentions is None:
            self._mentions = self._extractor.lexicon.find_datasets(self._abstract)
        return self._mentions

    @property
    def established(self) -> frozenset[str]:
        """Normalised ambiguous surfaces written next to a cue somewhere, and canonical datasets the
        abstract also names unambiguously ("Penn Treebank ... PTB")."""
        if self._established is None:
            assert self._extractor is not None
            found, ambiguous = self._found(), self._extractor._ambiguous
            self._established = frozenset(
                [normalise(d.surface) for d in found if ambiguous(d) and _cue_near(self._abstract, d)]
                + [d.name for d in found if not ambiguous(d)])
        return self._established

    @property
    def redefined(self) -> frozenset[str]:
        """Normalised dataset names the abstract defines as an acronym of something else: "implicit
        neural representation (INR)", "canopy height model (CHM)", "Visual Question Answering (VQA)"
        (the initials of the words before the parenthesis spell it, and those words are not a name of
        the same dataset nor say dataset, benchmark, corpus...)."""
        if self._redefined is None:
            assert self._extractor is not None
            lexicon, found = self._extractor.lexicon, set()
            for m in _ACRONYM_DEFINED.finditer(self._abstract):
                acronym = m.group("acronym")
                dataset = lexicon.lookup_dataset(acronym)
                letters = [c.lower() for c in acronym if c.isalpha()]
                if dataset is None:
                    continue
                # the words just before the parenthesis (a bounded look back, not a regex over the abstract)
                before = re.split(r"[.;:,()]", self._abstract[max(0, m.start() - 120):m.start()])[-1]
                words = re.findall(r"[A-Za-z][\w]*", before)[-len(letters):]
                if dataset is None or len(words) != len(letters) or len(letters) < 2:
                    continue
                if [w[0].lower() for w in words] != letters:
                    continue  # not a definition of the acronym
                long_form = " ".join(words)
                if _BENCHMARK_CUE.search(long_form) or _DATA_WORDS.search(long_form) \
                        or lexicon.resolve_dataset(long_form) == dataset:
                    continue  # "Penn Treebank (PTB)", "Emotional Speech Dataset (ESD)", "... Challenge 7 (DSTC7)"
                if any(normalise(d.surface) == normalise(acronym) and _cue_near(self._abstract, d)
                       for d in self._found()):
                    continue  # "Visual Question Answering (VQA) ... on the VQA dataset": both, the task and the data
                found.add(normalise(acronym))
            self._redefined = frozenset(found)
        return self._redefined

    @property
    def benchmark(self) -> bool:
        """A cue word, or a dataset name that is not ambiguous, anywhere in the abstract."""
        if self._benchmark is None:
            assert self._extractor is not None
            self._benchmark = bool(_BENCHMARK_ABSTRACT.search(self._abstract)) or any(
                not self._extractor._ambiguous(d) for d in self._found())
        return self._benchmark


class RuleExtractor:
    """Rows of the results each abstract states, from rules over the lexicon's names."""

    name = "rules"

    def __init__(self, lexicon: Lexicon | None = None) -> None:
        self.lexicon = lexicon or get_lexicon()

    def extract_many(self, papers: Iterable[Paper]) -> list[ResultRow]:
        rows: list[ResultRow] = []
        for paper in papers:
            rows.extend(self.extract(paper))
        return rows

    def extract(self, paper: Paper) -> list[ResultRow]:
        """Every result ``paper``'s abstract states, then one value-less row per dataset without a figure."""
        abstract = paper.abstract
        ctx = self._context(abstract)
        model_from_title = _title_model(paper.title)
        rows: list[ResultRow] = []
        mentions: dict[str, tuple[Mention, int, int]] = {}
        previous: list[Mention] = []  # datasets of the last sentence that named any
        previous_index = -10
        own = list(_OWN_DATASET.finditer(abstract))
        own_dataset = bool(own)
        # "We introduce GLAMI-1M: the largest ... dataset": the abstract's own dataset has a name
        own_named = {d.name for m in own for d in self._datasets(abstract[max(0, m.start() - 5):m.end() + 5], ctx)}
        for index, (s_start, s_end) in enumerate(sentence_spans(abstract)):
            sentence = abstract[s_start:s_end]
            elsewhere: list[tuple[int, int]] = []
            # "ImageNet pre-trained backbone": not where the abstract's figures are measured
            datasets = [d for d in self._datasets(sentence, ctx) if not _pretraining(sentence, d)]
            for d in datasets:
                mentions.setdefault(d.name, (d, s_start, s_end))
            context: list[Mention] = []
            if not datasets:
                # "We performed experiments on the TIMIT dataset. We achieved 17.3% PER": a sentence
                # naming no dataset reports on the one the abstract named, when that is unambiguous;
                # with "respectively", on the list the previous sentence named.
                respectively = bool(re.search(r"\brespective(?:ly)?\b", sentence))
                named = {m[0].name for m in mentions.values()}
                own_data = own_dataset and not named <= own_named and bool(_OWN_DATA_REF.search(sentence))
                if own_data:
                    pass  # "We introduce a new dataset of Tamil digits. We reach 91.2% on the dataset": not MNIST
                elif (index - previous_index <= 2 and len({d.name for d in previous}) == 1) or (
                        respectively and index - previous_index <= 2) or index - previous_index == 1:
                    context = previous
                elif len(named) == 1 and (named <= own_named or (not _OTHER_DATA.search(sentence) and not own_dataset)):
                    # the abstract's only dataset, unless this sentence speaks of another ("our dataset")
                    context = [m[0] for m in mentions.values()]
                if not context:
                    continue
                # "...; and comparable results on the NHS COVID-19 task: around 97%": not the earlier datasets'
                elsewhere = self._elsewhere(sentence, [m[0] for m in mentions.values()])
            else:
                previous, previous_index = datasets, index
            found = self._sentence_rows(sentence, datasets, model_from_title, context, elsewhere)
            rows.extend(row.model_copy(update={
                "paper_id": paper.paper_id, "title": paper.title, "sentence": sentence,
                "start_char": s_start, "end_char": s_end,
            }) for row in found)
            if found and context and previous is context:
                previous_index = index  # "Our model is 1.2% better ... For instance, a small version ...": a chain
        with_figure = {r.dataset for r in rows} | {r.dataset.split(" ")[0] for r in rows}  # WMT14 En-De: WMT14
        for name, (mention, s_start, s_end) in mentions.items():
            if name not in with_figure:
                rows.append(ResultRow(
                    paper_id=paper.paper_id, title=paper.title, dataset=name, dataset_surface=mention.surface,
                    sentence=abstract[s_start:s_end], start_char=s_start, end_char=s_end, extractor=self.name,
                ))
        return rows

    # ----- one sentence ----------------------------------------------------------------------

    def _elsewhere(self, sentence: str, named: Iterable[Mention]) -> list[tuple[int, int]]:
        """The clauses (between semicolons) of a sentence naming no known dataset that say where their
        figures are measured: "on FGVC", "on a Babel task", "on a test dataset of 2.4K photos"; their
        figures are not the earlier datasets' (``named``: the datasets the abstract named so far)."""
        known = {normalise(d.surface) for d in named} | {normalise(d.name) for d in named}
        spans, start = [], 0
        for clause in re.split(r"(?<=;)", sentence):
            if self._clause_elsewhere(clause, known):
                spans.append((start, start + len(clause)))
            start += len(clause)
        return spans

    def _clause_elsewhere(self, sentence: str, known: set[str]) -> bool:
        if _ANOTHER_DATASET.search(sentence):
            return True
        for m in _NAMED_TARGET.finditer(sentence):
            name = m.group("name")
            if name in _NOT_GENERIC or name in _NOT_DATASET_NAMES or name in _NOT_MODELS \
                    or _LANGUAGE_OR_VERSION.fullmatch(name) or _DEVICE.fullmatch(name) \
                    or self.lexicon.lookup_metric(name) or self.lexicon.lookup_metric(name.rstrip("s")) \
                    or self.lexicon.find_metrics(name) or normalise(name) in known \
                    or _TRAINED_ON.search(sentence[max(0, m.start() - 30):m.start() + 3]) \
                    or (re.fullmatch(r"[A-Z]{2,4}", name) and _SETUP_AFTER.match(sentence[m.end("name"):])):
                continue  # "in FIDs", "training on the Paracrawl dataset", "in a streaming ASR setup"
            return True
        return False

    def _ambiguous(self, mention: Mention) -> bool:
        """A name that also means something outside benchmarks: marked in the lexicon ("HIV", "Adult"),
        or of two letters and digits ("M3", "NQ"), which name many things."""
        return self.lexicon.is_ambiguous(mention.surface) or len(normalise(mention.surface)) <= 2

    def _context(self, abstract: str) -> _AbstractContext:
        return _AbstractContext(self, abstract)

    def _datasets(self, sentence: str, ctx: _AbstractContext | None = None) -> list[Mention]:
        ctx = ctx or _AbstractContext()
        # "..., AID consistently boosts the performance": a method that shares a dataset's name
        known = [d for d in self.lexicon.find_datasets(sentence)
                 if not (_METHOD_VERB_AFTER.match(sentence[d.end:]) and _SUBJECT_BEFORE.search(sentence[:d.start]))
                 and normalise(d.surface) not in ctx.redefined]
        # "HIV testing rose from 8.7% to 27.6%", "MR scanners": an ambiguous name is a dataset only
        # with evidence: a cue next to it here or elsewhere in the abstract, an unambiguous dataset
        # in the same sentence, the same dataset named unambiguously in the abstract ("Penn
        # Treebank ... PTB"), or a metric in the sentence of an abstract that speaks of benchmarks
        if any(self._ambiguous(d) for d in known):
            plain = [d for d in known if not self._ambiguous(d)]
            known = [d for d in known if not self._ambiguous(d) or plain or _cue_near(sentence, d)
                     or normalise(d.surface) in ctx.established or d.name in ctx.established
                     or (ctx.benchmark and self.lexicon.find_metrics(sentence))]
        if not ctx.benchmark and re.search(r"[A-Z]", sentence):
            # an abstract that speaks of no dataset or benchmark (a clinical study): its "STAT3 (72%)",
            # "on the ADAS-Cog" are not benchmarks; only names the lexicon knows count
            return sorted(known, key=lambda m: m.start)
        generic = []
        for m in _GENERIC_DATASET.finditer(sentence):
            start, end = m.start("name"), m.end("name")
            name = m.group("name")
            if name.split()[0] in _NOT_DATASET_NAMES or any(k.start < end and start < k.end for k in known):
                continue
            if self.lexicon.find_metrics(name) or not re.search(r"[A-Z]{2}|\d|[a-z][A-Z]", name):
                continue  # "the Accuracy benchmark", "the Large dataset": not names
            generic.append(Mention(name, name, start, end))
        # "Name (92.7%)" only when the lexicon knows no dataset here: "ImageNet accuracy on MCU (71.8%)"
        patterns = (_GENERIC_ACRONYM, _GENERIC_ON) if known else (_GENERIC_BEFORE_FIGURE, _GENERIC_ACRONYM, _GENERIC_ON)
        for pattern in patterns:
            for m in pattern.finditer(sentence):
                start, end = m.start("name"), m.end("name")
                name = m.group("name")
                if any(k.start < end and start < k.end for k in (*known, *generic)) or name in _NOT_DATASET_NAMES \
                        or name in _NOT_GENERIC or self.lexicon.lookup_dataset(name):
                    continue
                if self.lexicon.lookup_metric(name) or not re.search(r"[A-Z]{2}|\d|[a-z][A-Z]", name) \
                        or not re.search(r"[A-Za-z]", name) or re.fullmatch(r"[A-Z]{2,4}", name):
                    continue  # "18 benchmarks"; "NER", "REE", "SARI": tasks and metrics more often than datasets
                if pattern is _GENERIC_BEFORE_FIGURE and _after_comparison(sentence[:start]):
                    continue  # "outperforming GPT-4o (81%)", "surpassing AnySplat (22.377)": a method's figure
                generic.append(Mention(name, name, start, end))
        generic.extend(self._unknown_list_items(sentence, known, generic))
        # "on MedGemma-4B", "DeRIS-L": a model and its size; "BM25-retrievable", "43-prompt": a compound word
        generic = [g for g in generic if not _MODEL_OR_COMPOUND.search(g.surface)]
        return sorted(known + generic, key=lambda m: m.start)

    def _unknown_list_items(self, sentence: str, known: list[Mention], generic: list[Mention]) -> list[Mention]:
        """"on the VOC07, VOC12, and COCO20K datasets": the names of a list that also holds datasets the
        lexicon knows are datasets too, so that figures pair with the right item."""
        found: list[Mention] = []
        for m in _NAME_LIST.finditer(sentence):
            inside = [d for d in known if m.start() <= d.start and d.end <= m.end()]
            if not inside or not re.search(r"\band\b|&", m.group("items")):
                continue  # "On COCO, ViLD outperforms": a dataset and the model, not a list
            pos, last = m.start(), False
            for piece in re.split(r"(\s*(?:,\s*and|,|and|&)\s*(?:the\s+)?)", m.group("items")):
                start, pos = pos, pos + len(piece)
                name = piece.strip().rstrip(".")
                if re.fullmatch(r"\s*(?:,\s*and|,|and|&)\s*(?:the\s+)?", piece):
                    if last:
                        break  # "Cifar10, CelebA and LSUN, PNDMs can": the list ends after its "and" item
                    last = bool(re.search(r"and|&", piece))
                    continue
                if not name:
                    continue
                start += len(piece) - len(piece.lstrip())
                end = start + len(name)
                pair = _LANGUAGE_PAIR.fullmatch(name)
                if pair:  # "WMT 2014 English-German and English-French": the same campaign, another pair
                    family = next((d.name.split()[0] for d in known if m.start() <= d.start < m.end()
                                   and d.name.startswith(("WMT", "IWSLT"))), None)
                    resolved = family and (self.lexicon.lookup_dataset(
                        f"{family} {_lang(pair.group('src'))}-{_lang(pair.group('tgt'))}") or family)
                    if resolved:
                        found.append(Mention(resolved, name, start, end))
                    continue
                if any(d.start < end and start < d.end for d in (*known, *generic)) or name in _NOT_GENERIC \
                        or name.split()[0] in _NOT_DATASET_NAMES or self.lexicon.find_metrics(name) \
                        or not (re.search(r"[A-Z]{2}|\d|[a-z][A-Z]|^[A-Z]\w+\s[A-Z]", name) or (
                            len(inside) >= 2 and re.fullmatch(r"[A-Z][a-z]{3,}", name))) \
                        or not re.search(r"[A-Za-z]", name) or name.endswith("-") or _LANGUAGE_OR_VERSION.fullmatch(name) \
                        or not all(re.match(r"[A-Z]|\d+$|\d+[A-Z]", w) for w in name.split()):
                    continue  # "V1&V2", "PASCAL- 1-shot": not names
                found.append(Mention(name, name, start, end))
        return found

    def _version_number(self, sentence: str, n: _Number) -> bool:
        """"Gemini 1.5 Pro", "Claude 3.7 Sonnet": a bare number between two capitalised words that are
        neither datasets nor metrics is part of a model's name."""
        if n.unit is not None or n.signed:
            return False
        before = re.search(r"\b([A-Z][A-Za-z]+) $", sentence[max(0, n.start - 30):n.start])
        after = re.match(r" ([A-Z][a-z]+)\b", sentence[n.end:n.end + 30])
        # "Claude Opus 4.7, Sonnet 4.6, Haiku 4.5)", "Terminal-Bench 2.0 and SWE-Bench": a small number
        # with at most one decimal, then the next name of a list
        listed = re.match(r"(?:,\s|\s(?:and|or)\s)[A-Z]|[;)]", sentence[n.end:n.end + 6]) \
            and re.fullmatch(r"\d(?:\.\d)?", n.text)
        if before is None or (after is None and not listed):
            return False
        words = [before.group(1)] + ([after.group(1)] if after else [])
        return not any(self.lexicon.lookup_dataset(w) or self.lexicon.lookup_metric(w) or self.lexicon.find_metrics(w)
                       for w in words)

    def _sentence_rows(self, sentence: str, datasets: list[Mention], title_model: str | None,
                       context: list[Mention] | None = None,
                       elsewhere: Sequence[tuple[int, int]] = ()) -> list[ResultRow]:
        """Rows of one sentence; ``context`` are datasets named by an earlier sentence (no spans here),
        whose figures in the ``elsewhere`` spans are measured on something else."""
        metrics = self.lexicon.find_metrics(sentence)
        taken = [(m.start, m.end) for m in (*datasets, *metrics)]
        # "transfer learning on pretrained representations on ImageNet": not where the result is measured
        datasets = [d for d in datasets if not _pretraining(sentence, d)]
        # "GTA5 → Cityscapes", "from GTA5/SYNTHIA to Cityscapes": figures are measured on the target
        sources = _adaptation_sources(sentence, datasets, self.lexicon.datasets)
        datasets = [d for d in datasets if d not in sources]
        glued = {m.start for m in metrics}  # "52.7mIoU"
        numbers = [n for n in _numbers(sentence, glued) if not any(s <= n.start < e for s, e in (*taken, *elsewhere))
                   and not self._version_number(sentence, n)]
        results = []
        for n in numbers:
            if n.unit is None and any(0 <= n.start - d.end <= 1 for d in datasets) and (
                    "." not in n.text or (abs(n.value) < 10 and re.fullmatch(r"[+\-\u2212]?\d+\.\d", n.text))):
                continue  # "SFEW 2.0": a version of the dataset name (not "Amazon-Google 79.28")
            metric = _metric_for(sentence, n, metrics, datasets)
            if metric is not None and metric.surface == "APs" and re.match(r"\s+(?:of|are|were)\b", sentence[metric.end:]):
                metric = Mention("AP", metric.surface, metric.start, metric.end)  # "APs of 95.7 and 94.9": plural AP
            if metric is not None and metric.name == "Error Rate" and metric.surface.lower() in ("error", "errors") \
                    and re.search(r"\b(?!(?:the|an?|of|in|its|our|their|lower|relative|absolute|classification)\b)"
                                  r"[\w\-]+\s+$", sentence[max(0, metric.start - 25):metric.start]):
                metric = None  # "the average L2 error", "velocity error": a measure the lexicon does not name
            if n.unit in ("ms", "FPS"):  # "34.4% AP at 30ms": the 30 is a latency, not an AP
                name = "Latency" if n.unit == "ms" else "FPS"
                metric = Mention(name, n.text, n.start, n.end) if metric is None or metric.name != name else metric
            if metric is not None and metric.name in ("FPS", "Latency") and n.unit == "%":
                metric = None  # "27.63 FPS ... with a Hmean of 81.0%": a share is not a speed
            if not _is_result(sentence, n, metric):
                continue
            results.append((n, metric))
        if not results:
            return []
        results = _metric_slash_pairs(sentence, results, metrics)
        assigned = (_respectively(sentence, results, datasets or context or []) or
                    (_ordered_list(sentence, results, context) if context and not datasets else None) or
                    _parallel_lists(sentence, results, datasets) or {})
        assigned.update(_slash_pairs(sentence, results, datasets))
        respectively_failed = not assigned and len({d.name for d in datasets}) > 1 and bool(
            re.search(r"\brespectively\b", sentence))
        by_metric = _absolute_datasets_by_metric(sentence, results, datasets, assigned)
        masked = sentence
        for m in metrics:
            masked = masked[:m.start] + "m" * (m.end - m.start) + masked[m.end:]
        baseline_of: dict[int, Mention | None] = {}
        rows = []
        tied: dict[int, bool] = {}  # id(row) -> its figure is written right before "on <its dataset>"
        dataset_of: dict[int, Mention] = {}
        result_numbers = [n for n, _ in results]
        for i, (n, metric) in enumerate(results):
            dataset = assigned.get(n.start)
            if dataset is None and datasets and respectively_failed:
                # "... respectively" whose lists do not pair up: only a figure written right before its dataset
                nxt = next((d for d in datasets if d.start >= n.end), None)
                dataset = nxt if nxt is not None and _directly_before(sentence, n, nxt) else None
                if dataset is None:
                    continue
            opened = sentence.rfind("(", 0, n.start)
            owner = next((p for p in reversed(result_numbers[:i]) if 0 <= p.end <= opened and
                          re.fullmatch(r"\s*(?:\\?%)?\s*", sentence[p.end:opened]) and ")" not in sentence[opened:n.start]),
                         None)
            if dataset is None and owner is not None and owner.start in dataset_of:
                dataset = dataset_of[owner.start]  # "95.05 (94.6 for rows and 96.32 for columns)": the same dataset
            elif dataset is None and datasets:
                # metric names masked: "state-of-the-art AUC (0.424)" is not an unknown name's figure
                dataset = _dataset_for(masked, n, datasets, result_numbers)
                # "52.7 mIoU on ADE20K surpassing Swin by +2.7 mAP / +3 mIoU": a delta goes with the
                # dataset this sentence reports the same metric on
                if metric is not None and _is_delta(sentence, n) and by_metric.get(metric.name) \
                        and (dataset is None or not _directly_before(sentence, n, dataset)) \
                        and not _other_target(masked, n, datasets, result_numbers):
                    dataset = by_metric[metric.name]
            elif dataset is None and context and len({d.name for d in context}) == 1:
                dataset = context[0]
            if dataset is None:
                continue
            dataset = baseline_of.get(n.start) or dataset
            dataset_of[n.start] = dataset
            dataset = self._language_pair(sentence, n, dataset, result_numbers)
            if not datasets and metric is None and n.start not in assigned:
                continue  # inherited dataset: only figures that name their metric (or listed "respectively")
            # "+2.8%" is this paper's margin, never another method's figure
            baseline = not (n.signed and sentence[n.start] == "+") and (
                _is_baseline(sentence, n) or _other_method_figure(masked, n, datasets))
            delta = _is_delta(sentence, n)
            value = n.value
            if delta and value > 0 and metric is not None and self.lexicon.direction(metric.name) == "higher" \
                    and _is_drop(sentence, n, metric):
                value = -value  # "a minor accuracy drop of 2.92%": a change for the worse
            if not baseline and i + 1 < len(results) and _is_baseline(sentence, results[i + 1][0]) and \
                    re.search(r"(?:vs\.?|versus|\()\s*$", sentence[n.end:results[i + 1][0].start]):
                baseline_of[results[i + 1][0].start] = dataset  # "82.2% (vs 80.2%) on X": same dataset
            # "from 32.92 dB to 33.57 dB": the first figure is the previous result, kept and flagged
            prev_end = result_numbers[i - 1].end if i else 0
            next_start = result_numbers[i + 1].start if i + 1 < len(result_numbers) else len(sentence)
            from_ = sorted((src for src, target in sources.items() if target == dataset), key=lambda d: d.start)
            group = next((g for g in _slash_groups(sentence, result_numbers, lambda x: (x.start, x.end)) if n in g), [])
            if len(group) == len(from_) > 1:  # "53.2%/51.7% when transferring from GTA5/SYNTHIA to Cityscapes"
                from_ = [from_[group.index(n)]]
            adapted = [f"adapted from {'/'.join(d.surface for d in from_)}"] if from_ else []
            rows.append(ResultRow(
                paper_id="",
                model=_other_method(sentence, n) if baseline else _model_for(sentence, n, title_model, self.lexicon),
                # "PASCAL VOC-2012" (a year completed from the list "PASCAL VOC 2007 and 2012"): the lexicon's name
                dataset=dataset.name if dataset.name in self.lexicon.datasets else (
                    self.lexicon.lookup_dataset(dataset.name) or dataset.name),
                dataset_surface=dataset.surface,
                metric=metric.name if metric else None,
                metric_surface=metric.surface if metric else "",
                value=value,
                unit=n.unit,
                is_delta=delta,
                qualifiers=(["previous result"] if baseline else []) + _qualifiers(
                    sentence, n, dataset if dataset in datasets else None, prev_end, next_start) + adapted,
                value_text=n.text,
                extractor=self.name,
            ))
            # "10 FPS on PubTabNet", "on the MOT17 challenge at 22 FPS": the figure is written with its dataset
            tied[id(rows[-1])] = (_directly_before(sentence, n, dataset) and bool(
                re.search(r"\b(?:on|in|for|of)\s+(?:the\s+)?$", sentence[n.end:dataset.start]))) or (
                dataset.end <= n.start and len(sentence[dataset.end:n.start]) <= 40
                and not re.search(r"[,;:()/]|\d", sentence[dataset.end:n.start]))
        return _speeds_of_one_dataset(rows, datasets, tied)


    def _language_pair(self, sentence: str, n: _Number, dataset: Mention, numbers: Sequence[_Number]) -> Mention:
        """"WMT'14 ... 31.26 for EnDe": the WMT dataset of that language pair, when the lexicon has it."""
        if not dataset.name.startswith(("WMT", "IWSLT")) or " " in dataset.name:
            return dataset
        i = numbers.index(n)
        start = numbers[i - 1].end if i else 0
        end = numbers[i + 1].start if i + 1 < len(numbers) else len(sentence)
        pairs = (list(_LANGUAGE_PAIR.finditer(sentence, n.end, end)) or list(_LANGUAGE_PAIR.finditer(sentence, start, n.start))
                 or list(_LANGUAGE_PAIR.finditer(sentence)))
        if not pairs or (len({(_lang(p.group("src")), _lang(p.group("tgt"))) for p in pairs}) != 1
                         and not any(p.start() >= n.end for p in pairs)):
            return dataset
        src, tgt = _lang(pairs[0].group("src")), _lang(pairs[0].group("tgt"))
        name = self.lexicon.lookup_dataset(f"{dataset.name} {src}-{tgt}")
        return Mention(name, dataset.surface, dataset.start, dataset.end) if name else dataset


_LANGUAGES = {"en": "En", "english": "En", "de": "De", "german": "De", "fr": "Fr", "french": "Fr", "ro": "Ro",
              "romanian": "Ro", "cs": "Cs", "czech": "Cs", "ru": "Ru", "russian": "Ru", "zh": "Zh", "chinese": "Zh",
              "ja": "Ja", "japanese": "Ja", "vi": "Vi", "vietnamese": "Vi"}
_LANG = r"(?:En|EN|English|De|DE|German|Fr|FR|French|Ro|RO|Romanian|Cs|CS|Czech|Ru|RU|Russian|Zh|ZH|Chinese|Ja|JA|Japanese|Vi|Vietnamese)"
_LANGUAGE_PAIR = re.compile(
    r"\b(?P<src>" + _LANG + r")\s?(?:-|\u2013|\u2192|->|-?to-?|⇒)?\s?(?P<tgt>" + _LANG + r")\b"
)


def _cue_near(text: str, mention: Mention) -> bool:
    """A benchmark cue ("dataset", "benchmark", "test set") within a few words of ``mention``, in its sentence."""
    before = re.split(r"[.;]\s", text[max(0, mention.start - _CUE_BEFORE):mention.start])[-1]
    after = re.split(r"[.;]\s", text[mention.end:mention.end + _CUE_AFTER])[0]
    return bool(_BENCHMARK_CUE.search(before) or _BENCHMARK_CUE.search(after))


def _lang(name: str) -> str:
    return _LANGUAGES[name.lower()]


# ----- numbers -----------------------------------------------------------------------------------


def written_numbers(text: str) -> list[str]:
    """The numbers written in ``text`` that could be figures, as written ("84.7" of "84.7\\%", "1,024"),
    in order; not those inside a name ("ADE-20K", "ResNet-50", "B5")."""
    return [m.group("num") for m in _NUMBER.finditer(text)
            if not re.match(r"[A-Za-z]", text[m.end("num"):m.end("num") + 1])
            and not re.search(r"[A-Za-z]-?$", text[max(0, m.start("num") - 2):m.start("num")])]


# What makes the number after it a spread or an exponent, never a result: "± 0.3", "+/-0.024",
# "\\pm 0.3", "10^-3", "10^{-3}".
_SPREAD_OR_EXPONENT_BEFORE = re.compile(r"(?:\u00b1|\+\s?/\s?-|\+-|\\pm\s?\$?|\^\{?)\s*[-\u2212]?$")


def _numbers(sentence: str, glued: set[int] | frozenset[int] = frozenset()) -> list[_Number]:
    found: list[_Number] = []
    for m in _NUMBER.finditer(sentence):
        start = m.start()
        before = sentence[max(0, start - 1):start]
        if before == "/" and re.search(r"(?:\d\.\d+|%)\s?/$", sentence[max(0, start - 8):start]):
            pass  # "2.1%/4.6%": the second figure of a pair
        elif before and (before.isalnum() or before in "'\u2019" or (before in "-_./^~@#$" and not m.group("sign"))):
            continue  # "ResNet-50", "v2", "1.5.3", "x^2", "top-1", "ViT-B/16"
        if _SPREAD_OR_EXPONENT_BEFORE.search(sentence[max(0, start - 8):m.start("num")]):
            continue  # "84.7 ± 0.3", "(95% CI +/-0.024)": a spread; "10^{-3}": an exponent
        if re.search(r"\d:$", sentence[max(0, start - 2):start]):
            continue  # "mAP0.5:0.95", "1:4": part of a name or a ratio
        unit = (m.group("unit") or "").strip().lstrip("\\")
        after = sentence[m.end():]
        if not unit and _NOT_A_RESULT_AFTER.match(after) and not _GLUED_WORD.match(after) \
                and m.end() not in glued:
            # "0.5 and 4 GPU hours", "1, 2, 4, 8, and 16 shot": the whole list counts the same thing
            while found and found[-1].unit is None and re.fullmatch(r"\s*(?:,\s*and|,|and|or|/)\s*",
                                                                     sentence[found[-1].end:start]):
                start = found.pop().start
            continue
        if not unit and re.match(r"^\.\d|^,\d", after):
            continue
        num = m.group("num").replace(",", "")
        try:
            value = float(num)
        except ValueError:
            continue
        sign = m.group("sign") or ""
        if sign in ("-", "\u2212"):
            value = -value
        unit_norm = {"percent": "%", "point": "points", "p.p.": "pp", "fps": "FPS"}.get(unit, unit) or None
        found.append(_Number(value, m.group().strip(), start, m.end(), unit_norm, bool(sign)))
    return found


_ARROW = re.compile(r"\s*(?:\u2192|\u27f6|->|=>|\u21d2|-?to-?|2)\s*|\s+", re.IGNORECASE)


def _pretraining(sentence: str, dataset: Mention) -> bool:
    """"pre-trained on ImageNet", "ImageNet pre-training": data a model learnt from, not where it is measured."""
    return bool(_PRETRAINING_BEFORE.search(sentence[max(0, dataset.start - 80):dataset.start])
                or _PRETRAINING_AFTER.match(sentence[dataset.end:dataset.end + 30]))


def _adaptation_sources(sentence: str, datasets: Sequence[Mention], known: Container[str]) -> dict[Mention, Mention]:
    """source -> target of domain adaptation: "GTA5 → Cityscapes", "GTAV Cityscapes" (the arrow lost;
    two datasets of the lexicon, ``known``), "from GTA5/SYNTHIA to Cityscapes", "Duke-to-Market"."""
    sources: dict[Mention, Mention] = {}
    for i in range(len(datasets) - 2, -1, -1):
        a, b = datasets[i], datasets[i + 1]
        gap = sentence[a.end:b.start]
        if a.name == b.name:
            continue
        if _ARROW.fullmatch(gap) and (gap.strip() or all(d.name in known for d in (a, b))):
            sources[a] = sources.get(b, b)  # the target of a chain "A / B to C" is C
        elif re.fullmatch(r"\s*/\s*", gap) and b in sources:
            sources[a] = sources[b]
    return sources


def _in_range(sentence: str, n: _Number) -> bool:
    """"by 19% to 26%", "1.21%2.84%" (the dash lost): one end of a range, not a result. "by 2.1 to 45.3"
    (a gain, then the new figure) is not a range: the ends of a range are close to each other."""
    if (n.unit == "%" and re.match(r"\d", sentence[n.end:n.end + 1])) or re.search(r"\d%$", sentence[:n.start]) \
            or re.search(r"\d\s?%?\s*[-\u2013]\s*$", sentence[max(0, n.start - 12):n.start]):
        return True  # "15 - 20%": the high end
    after = re.match(r"\s?(?:\\?%|percent)?\s+to\s+(?:about\s+)?(\d+(?:\.\d+)?)", sentence[n.end:n.end + 30])
    before = re.search(r"\b(?:by|of)\s+(?:over\s+|up\s+to\s+|about\s+|around\s+|approximately\s+|roughly\s+)?"
                       r"(\d+(?:\.\d+)?)\s?(?:\\?%|percent)?\s+to\s+(?:about\s+)?$", sentence[max(0, n.start - 60):n.start])
    if n.unit == "%" and before is None:
        # "shows 5% to 10% relative WER reduction": two percentages, unless "from X% to Y%" (a change)
        plain = re.search(r"(?<![\w.])(\d+(?:\.\d+)?)\s?\\?%\s+to\s+$", sentence[max(0, n.start - 30):n.start])
        if plain and not re.search(r"\bfrom\b", sentence[max(0, n.start - 30 - 25):n.start - len(plain.group())]):
            before = plain
    percent = n.unit == "%" and after is not None and "%" in sentence[n.end + after.end(1):n.end + after.end(1) + 2]
    changes = re.search(r"\bfrom\b[^;]{0,20}$", sentence[max(0, n.start - 30):n.start])
    if after and ((percent and not changes) or re.search(
            r"\b(?:by|of)\s+(?:over\s+|up\s+to\s+|about\s+|around\s+|approximately\s+|roughly\s+)?$",
            sentence[max(0, n.start - 30):n.start])):
        low, high = abs(n.value), float(after.group(1))
    elif before:
        low, high = float(before.group(1)), abs(n.value)
    else:
        return False
    return 0 < low < high <= 4 * low


# "(72% vs 35%; P<.001)", "-0.34; 95% CI, -0.63, -0.05": a statistical finding (a p-value or a
# confidence interval attached to the figure), as clinical studies report them, not a benchmark result
_P_VALUE_AFTER = re.compile(r"^[^()\[\];.]{0,25}?[;,]\s*[Pp]\s*(?:[<=>\u2264]|values?\b)")
_CI_BEFORE = re.compile(
    r"(?:\b95\s?%\s*(?:CI|confidence intervals?)|\bCI)[\]})]?\s*[,:=]?\s*[\[{(]?\s*(?:[-\u2212]?\d+(?:\.\d+)?\s*"
    r"(?:[a-z%]+\s*)?(?:-|\u2013|to|,)\s*)?$",
    re.IGNORECASE,
)

_CI_AFTER = re.compile(r"^\s*(?:[a-z]{1,5}\s*)?[\[(;,]\s*(?:95\s?%\s*)?(?:CI\b|confidence intervals?)", re.IGNORECASE)


def _statistic(sentence: str, n: _Number) -> bool:
    """A figure given with its p-value or confidence interval, or a bound of the interval."""
    return bool(_P_VALUE_AFTER.match(sentence[n.end:n.end + 45]) or _CI_BEFORE.search(sentence[max(0, n.start - 45):n.start])
                or re.match(r"\s?%\s*(?:CI|confidence interval)", sentence[n.end - (1 if n.unit else 0):n.end + 25])
                or _CI_AFTER.match(sentence[n.end:n.end + 40]))


_SHARE_OF = re.compile(
    r"(?:\s*(?:,\s*and|,|and|or)\s*\d+(?:\.\d+)?\s?\\?%)*\)?\s+of\s+"
    r"(?!(?:[\w\-()]+\s+){0,4}?(?:accurac(?:y|ies)|precisions?|recalls?|f1|f-?scores?|auc|m?aps?|m?iou|bleu|"
    r"rouge|dice|success)(?![a-z]))", re.IGNORECASE)


def _share_of(sentence: str, n: _Number) -> bool:
    """"39% and 36% of entries", "65.3% of human main arguments", "97% of its performance": a share of
    something, not a result (not "89% of mean accuracy", "95.5% of ESC accuracy": awkward ways to state one)."""
    return n.unit == "%" and bool(_SHARE_OF.match(sentence, n.end))


def _is_result(sentence: str, n: _Number, metric: Mention | None) -> bool:
    if _in_range(sentence, n):
        return False
    if metric is None and _statistic(sentence, n):
        return False  # (with a metric named it is a result tested for significance: "F1 from 10.3 to 11.8, P<0.001")
    if re.match(r"\s*,\s*\)", sentence[n.end:n.end + 5]):
        return False  # "under DP guarantee of (8, )": a tuple whose other member was lost with the LaTeX
    if n.unit is None and re.fullmatch(r"\d\.\d", n.text) and (metric is None or metric.end < n.start - 1) and re.search(
            r"\b(?:[A-Za-z]+\d[A-Za-z\d]*|[A-Z]{2,5})\s$", sentence[max(0, n.start - 20):n.start]):
        return False  # "wav2vec 2.0", "GPT 3.5": the version of a model
    if n.unit is None and re.fullmatch(r"\d\.\d", n.text) and re.search(
            r"\b[A-Z][\w\-]*\s?v?\d\.\d\s*(?:and|or|,)\s*v?$", sentence[max(0, n.start - 30):n.start]):
        return False  # "on AMR 2.0 and 3.0", "SQuAD 1.1 and 2.0": the versions of a dataset
    if re.search(r"\b(?:standard deviations?|std\.?|s\.d\.|variance|stdev)\s*(?:of|:|=|is|was)?\s*$",
                 sentence[max(0, n.start - 30):n.start], re.IGNORECASE):
        return False  # "(74.4 mIoU, standard deviation: 0.32)": the spread of the result, not a result
    if re.match(r"\s+(?:\d+\s+)?(?:resolution|px)\b|\s+\d+\s+(?:pixels|inputs?|images?)\b", sentence[n.end:n.end + 30]):
        return False  # "on 256 256 resolution" (the × lost): an input size
    if re.match(r"^\s*(?:faster|slower|speed-?ups?|quicker)\b|^\s?%?\s*(?:[\w\-]+\s+){0,2}thresholds?\b",
                sentence[n.end:n.end + 40], re.IGNORECASE):
        return False  # "12 ms faster", "the 96% accuracy threshold"
    if n.unit == "ms" and metric is None:
        return False
    if _HUMAN_BEFORE.search(sentence[max(0, n.start - 50):n.start]):
        return False  # "surpasses the human performance of 82.65": not the paper's result
    setting = re.search(r"=\s*$", sentence[max(0, n.start - 3):n.start])
    if setting and (metric is None or metric.end > n.start or not re.fullmatch(
            r"\s*(?:score|value|rate)?\s*=\s*", sentence[metric.end:n.start])):
        return False  # "a fixed =10" (a symbol lost with the LaTeX): a setting, not "F1 = 0.69"
    if n.unit in (None, "%") and (metric is None or metric.start < n.end):
        word = re.match(r"\s([a-z][a-z\-]*)\b", sentence[n.end:n.end + 30])
        if word and (word.group(1) not in _WORDS_AFTER_RESULT if n.unit is None else word.group(1) in _SETTING_NOUNS):
            return False  # "10 camera views", "1 place", "an 80% noise ratio": a count or a setting
    if n.unit is None and "." not in n.text and re.search(r"\b[A-Z][\w\-]*\s$", sentence[max(0, n.start - 30):n.start]) \
            and (metric is None or metric.end < n.start - 1):
        return False  # "N-Caltech 101", "Track 5": part of a name
    if re.search(r"[<>\u2264\u2265\u2248~]\s*$", sentence[max(0, n.start - 3):n.start]):
        return False  # ">90% accuracy": a bound
    if _COST_AFTER.match(sentence[n.end:n.end + 60]) and (metric is None or metric.start < n.start):
        return False  # "a reduction of 28% in computational demand": cost, not a result
    if _BOUND_BEFORE.search(sentence[max(0, n.start - 30):n.start]) and not re.search(
            r"\bby\s+(?:more than|over|at least)\s*$", sentence[max(0, n.start - 30):n.start], re.IGNORECASE):
        return False  # "the first model exceeding 87% accuracy": a threshold, not a result
    before = sentence[max(0, n.start - 60):n.start]
    listed = re.sub(r"(?:\d+(?:\.\d+)?\s*(?:,\s*and|,|and|or)\s*)+$", "", before)  # "resolution 224 and 384"
    if _INDEX_BEFORE.search(before) or _INDEX_BEFORE.search(listed) or _COST_BEFORE.search(before):
        return False  # "class 1", "a factor of 4", "the gap from 14%", "reduce the size by 48%"
    after = sentence[n.end:n.end + 30]
    if _SHARE_AFTER.match(after) or _share_of(sentence, n) or _RANGE.search(before[-30:]) or _RANGE.match(after):
        return False
    if "." not in n.text and n.unit is None and after.startswith(")"):
        return False  # "(1)", "3)": an enumeration
    integer = "." not in n.text and n.unit is None
    if integer and 1900 <= abs(n.value) <= 2099:
        return False  # a year
    if metric is None:
        return n.unit == "%" or ("." in n.text and abs(n.value) < 1000)
    return not (integer and abs(n.value) > 10000)  # "8,400 games": a count


_HUMAN_BEFORE = re.compile(
    r"\bhumans?(?:[- ]level)?\s+(?:performance|accuracy|agreement|baselines?|annotators?|experts?|raters?|"
    r"scores?|level|judges?|subjects?)\b(?:[^.;)]|\.\d)*$|\bhuman[- ]level\b(?:[^.;)]|\.\d)*$|\bhumans?\s*\(\s*$",
    re.IGNORECASE,
)
# Lowercase words that may follow a unitless result ("71.3 on COCO", "2.1 higher"); any other
# lowercase word makes the number a count ("10 camera views"), unless a metric is written there.
_WORDS_AFTER_RESULT = frozenset(re.findall(r"\S+",
    "on in for and or with at to vs versus compared over than which while when where whereas respectively "
    "by from as of after under using without despite but the a an is was are were absolute relative higher "
    "lower better worse improvement improvements gain gains increase decrease reduction points point average "
    "mean overall respective across among against beyond while averaged rouge bleu score scores "
    "pixels pixel px km cm m mm meters degrees bits nats bpc bpd db"))
# What an "80% noise ratio" or "10% labels" is: a setting of the experiment, not a result
_SETTING_NOUNS = frozenset(re.findall(r"\S+",
    "noise noisy sparsity sparse pruning pruned masking mask masked labels label labeled labelled annotations "
    "annotated data training subset budget missing occlusion dropout compression quantization fewer less smaller "
    "faster cheaper lighter memory corruption corrupted outliers outlier poisoning poisoned"))
_UNKNOWN_METRIC_AFTER = re.compile(r"^\s?[A-Z][A-Za-z0-9@\-_]*[A-Z][A-Za-z0-9@\-_]*\b")
_LIST_GAP = re.compile(r"(?:\s*(?:\\?%|,|and|or|/)\s*(?:\d+(?:\.\d+)?)?)*\s*(?:\\?%)?\s*")


def _metric_for(sentence: str, n: _Number, metrics: Sequence[Mention],
                datasets: Sequence[Mention] = ()) -> Mention | None:
    after = [m for m in metrics if m.start >= n.end]
    before = [m for m in metrics if m.end <= n.start]
    if after and re.fullmatch(r"\s?(?:\\?%)?\s?", sentence[n.end:after[0].start]):
        return after[0]  # "an accuracy of 50.7 mAP": the metric written on the figure itself
    between = [d for d in datasets if d.start >= n.end and d.end <= after[0].start] if after else []
    if len(between) == 1 and re.fullmatch(r"\s?(?:\\?%)?\s?", sentence[n.end:between[0].start]) \
            and re.fullmatch(r"\s?", sentence[between[0].end:after[0].start]):
        return after[0]  # "87.8% ImageNet top-1 accuracy", "47.0 COCO box AP": the dataset names the metric
    if before and re.fullmatch(r"\s*(?:(?:on|in)\s+\S+\s+)?by\s+(?:about\s+|up\s+to\s+|over\s+|nearly\s+|~\s?)?",
                               sentence[before[-1].end:n.start]):
        return before[-1]  # "improves the success rate by 17.1% and SPL by 20.6%"
    if before and re.fullmatch(r"\s*(?:score\s+)?(?:of|to|=|:|is|was|were|at|reaches|reached)?\s*",
                               sentence[before[-1].end:n.start]):
        return before[-1]  # "an average precision of 0.8000 and mean IoU of 0.8100"
    if after and _LIST_GAP.fullmatch(sentence[n.end:after[0].start]):
        return after[0]  # "71.4% and 87.2% Top-1 accuracy"
    if after:
        gap = sentence[n.end:after[0].start]
        if re.fullmatch(r"\s*(?:\(\s*)?(?:(?:absolute|relative|higher|better|lower|more|of|in|on|the|average|"
                        r"mean|overall|test|val|validation|dev|single-scale|multi-scale|points?|pp|"
                        r"an?|improvement|gain|top-?\d)\s*)?(?:(?:of|in|the)\s+)?", gap) or \
                re.fullmatch(r"\s*(?:[a-z][a-z\-]*\s+){1,2}", gap):  # "87.8% fine-tuning accuracy"
            return after[0]
    if _UNKNOWN_METRIC_AFTER.match(sentence[n.end:n.end + 20]) and not (after and after[0].start - n.end <= 2):
        return None  # "72.1 AMOTA": a metric the lexicon does not know, not the NDS named before
    before = [m for m in metrics if m.end <= n.start]
    if before:
        gap = sentence[before[-1].end:n.start]
        if len(gap) <= 60 and not re.search(r"\d", gap) and not re.search(r"[;]", gap):
            return before[-1]
    if after and re.fullmatch(r"[^\d;,()]{0,12}", sentence[n.end:after[0].start]):
        return after[0]
    return before[-1] if before else None


def _in_figure_list(sentence: str, n: _Number) -> bool:
    """"83.4% and 87.5%", "25.0% and 33.2%": a figure of a list, which may pair with a list of datasets."""
    figure = r"[+\-]?\d+(?:\.\d+)?\s?(?:\\?%|pp|points?)?"
    return bool(re.search(figure + r"\s*(?:,\s*(?:and\s+)?|and\s+|/\s*)$", sentence[max(0, n.start - 30):n.start])
                or re.match(r"\s?(?:\\?%|pp|points?)?\s*(?:,\s*(?:and\s+)?|and\s+|/\s*)" + figure, sentence[n.end:n.end + 30]))


def _listed_with_others(sentence: str, d: Mention, datasets: Sequence[Mention]) -> bool:
    """Whether ``d`` is an item of a list of several datasets ("ALFWorld, WebShop, and ScienceWorld",
    "Waymo and nuScenes"): a figure that only comes near the list is stated for all of them."""
    for other in datasets:
        if other.name == d.name:
            continue
        first, second = (other, d) if other.end <= d.start else (d, other)
        if second.start >= first.end and re.fullmatch(r"\s*(?:,\s*(?:and\s+|&\s+)?|and\s+|&\s*|/\s*)(?:the\s+)?",
                                                      sentence[first.end:second.start]):
            return True
    return False


def _dataset_for(sentence: str, n: _Number, datasets: Sequence[Mention],
                 numbers: Sequence[_Number]) -> Mention | None:
    nxt = next((d for d in datasets if d.start >= n.end), None)
    prv = next((d for d in reversed(datasets) if d.end <= n.start), None)
    named = re.search(r"\b([A-Z][\w\-]*)\s*\(\s*$", sentence[max(0, n.start - 40):n.start])
    if named and not (prv is not None and re.fullmatch(r"\s*\(\s*", sentence[prv.end:n.start])) \
            and named.group(1) not in _NOT_GENERIC and named.group(1) not in _NOT_DATASET_NAMES \
            and not re.fullmatch(r"(?i)(?:test|val|dev|minival)[\w\-]*", named.group(1)):
        return None  # "UPLight (92.45%), ZJU (92.7%), and MCubeS (50.99%)": the figure of the name before it
    if _other_target(sentence, n, datasets, numbers):
        return None  # "by 2.0 ROUGE on a version of New York Times", "by 18.7% on the end joints of limbs"
    if prv is not None and re.fullmatch(r"\s*[(:]\s*", sentence[prv.end:n.start]):
        return prv  # "MIT Indoor67 (86.7%)", "USMLE: 60.2%"
    opened = sentence.rfind("(", 0, n.start)
    if prv is not None and opened >= prv.end and not sentence[prv.end:opened].strip() \
            and ")" not in sentence[opened:n.start]:
        return prv  # "WMT14 English-French (43.8 BLEU and 46.4 BLEU with back-translation)"
    if nxt is not None:
        # "52.9% (+5.4% increase) on HMDB51", "91.5 % (ESC-50)", "... database (DISFA)"
        gap = re.sub(r"\s*\(\s*$", "", _PARENS.sub("", re.sub(r"^[^()]*\)", "", sentence[n.end:nxt.start])
                                                       if sentence.rfind("(", 0, n.start) > sentence.rfind(")", 0, n.start)
                                                       else sentence[n.end:nxt.start]))
        if len(gap) <= 150 and not re.search(r"[,;:()\[\]]", gap) and not _CLAUSE_BREAK.search(gap):
            # "SQuAD v1.1 Test F1 to 93.2 (1.5 point absolute improvement) and SQuAD v2.0 ...": the
            # dataset written just before the figure, with nothing between, is the closer one
            if prv is not None and _clean_gap(sentence[prv.end:n.start]) and \
                    len(sentence[prv.end:n.start]) < len(sentence[n.end:nxt.start]) and \
                    re.search(r"\band\b|\(", sentence[n.end:nxt.start]) and \
                    not re.fullmatch(r"\s*(?:(?!and\b)[\w\-%]+\s+){0,3}?(?:on|in|for)\s+(?:the\s+)?", gap):
                return prv  # not "82.4% top-1 accuracy on UCF101 and 52.9% (+5.4% increase) on HMDB51"
            return nxt
    if prv is not None:
        gap = sentence[prv.end:n.start]
        # "the MNIST (0.37% error) and NORB-small (2.2% error)", "3.8% on Foggy Zurich, 6.0% on ...":
        # a name the lexicon does not know stands between, so the figure is not prv's
        new_clause = bool(re.search(r",\s*and\b", gap) and not re.search(r"\d", gap)
                          and nxt is not None and nxt.start - n.end <= 100)
        if not re.search(r";", gap) and len(gap) <= 220 and not _unknown_name_in(gap) and not new_clause:
            if _listed_with_others(sentence, prv, datasets) and not _in_figure_list(sentence, n):
                return None  # "on ALFWorld, WebShop, and ScienceWorld ... by 38.0%": one figure for the list
            return prv
        if new_clause:
            return nxt  # "81.9% on ImageNet classification, and 43.7% box mAP with RetinaNet ... on MSCOCO"
    if nxt is not None:
        gap = sentence[n.end:nxt.start]
        if (len(gap) <= 60 or len({d.name for d in datasets}) == 1) and not re.search(r"[;]", gap):
            if _listed_with_others(sentence, nxt, datasets) and not _in_figure_list(sentence, n):
                return None  # "a FID of 6.4 ... on Waymo and nuScenes": one figure for the list
            return nxt  # the only dataset of the sentence
    if prv is not None and _unknown_name_in(sentence[prv.end:n.start]):
        return None
    return prv


_PARENS = re.compile(r"\([^()]*\)")
_ON_TARGET = re.compile(r"\bon\s+(?:the\s+|a\s+|an\s+)?(?P<word>[\w\-@]+)")
# Words after "on" that do not name what a figure was measured on ("on average", "on the test set")
_NEUTRAL_TARGETS = frozenset(re.findall(r"\S+",
    "average all both each these those this that it them its their our top test val validation dev standard "
    "several multiple many most various two three four five six seven eight nine ten public benchmark "
    "benchmarks dataset datasets data popular widely common commonly challenging large large-scale real "
    "same held-out unseen seen different respective full official original recent well-known existing "
    "recall precision accuracy mean par latter former other"))


_DEVICE = re.compile(r"\b(?:GPUs?|CPUs?|TPUs?|NVIDIA|GTX|RTX|Titan|Tesla|[VAH]100|phones?|devices?|hardware|mobile|Pixel|iPhone|chips?|cores?|"
                     r"test-\w+|clean|noisy|hard|easy|moderate|split|subset|sets?)\b", re.IGNORECASE)


_LANGUAGE_OR_VERSION = re.compile(
    r"[Vv]\d[\w.]*|English|Chinese|German|French|Spanish|Japanese|Korean|Russian|Arabic|Hindi|Test|Val\w*|Dev|"
    r"Top-?\d+|Rank-?\d+|R@\d+|I|The|A|An")


_UNNAMED_TARGET = re.compile(
    r"\w+\s+(?:the\s+)?(?:\d+|two|three|four|five|six|seven|eight|nine|ten|several|multiple|other|our|all|"
    r"remaining|offline|online|downstream|out-of-distribution|held-out|unseen)\b[\w\s\-]{0,40}?"
    r"\b(?:benchmarks|datasets|tasks|suites?|splits|domains)\b", re.IGNORECASE)


def _other_target(sentence: str, n: _Number, datasets: Sequence[Mention], numbers: Sequence[_Number]) -> bool:
    """True when the figure is said to be "on" something that is not a dataset the lexicon knows."""
    end = next((m.start for m in numbers if m.start >= n.end), len(sentence))
    clause = re.search(r"[,;:()]", sentence[n.end:end])
    end = min(end, n.end + 60, n.end + clause.start() if clause else len(sentence))
    m = _ON_TARGET.search(sentence, n.end, end)
    if m is None:
        return False
    word = m.group("word")
    phrase = sentence[m.start():min(len(sentence), m.start() + 50)]
    cut = re.search(r"[,;:()]|\band\b|\bwith\b", phrase)
    phrase = phrase[:cut.start()] if cut else phrase
    # "on Multimodal Material Segmentation (MCubeS) dataset": the long name of the dataset in brackets
    bracketed = re.match(r"\s*\(\s*", sentence[m.start() + len(phrase):])
    end_phrase = m.start() + len(phrase) + (bracketed.end() if bracketed else 0)
    if _UNNAMED_TARGET.match(phrase) and not any(m.start() <= d.start <= end_phrase for d in datasets):
        return True  # "on 3 out-of-distribution benchmarks", "on all four downstream tasks": other data, not named
    if any(m.start() <= d.start <= end_phrase for d in datasets) or word.lower() in _NEUTRAL_TARGETS \
            or _DEVICE.search(phrase):
        return False  # "on the class-conditional ImageNet", "on a single GPU", "on the clean test set"
    # only a name (a capitalised word) is another target: "on binary labels", "on fine-grained" qualify the dataset
    return any(w not in _NOT_GENERIC and not _LANGUAGE_OR_VERSION.fullmatch(w)
               for w in re.findall(r"\b[A-Z][\w\-]*", phrase[2:]))
_UNKNOWN_NAME_IN_GAP = re.compile(
    r"\b(?:on|in|for)\s+(?:the\s+)?(?P<a>[A-Z][\w\-]*)|\b(?P<b>[A-Z][\w\-]*[A-Z0-9][\w\-]*)\s*\(\s*$"
)


def _unknown_name_in(gap: str) -> bool:
    """A name the lexicon does not know (not hardware like "MCU") between a figure and a dataset."""
    return any((m.group("a") or m.group("b")) not in _NOT_GENERIC for m in _UNKNOWN_NAME_IN_GAP.finditer(gap))


def _directly_before(sentence: str, n: _Number, dataset: Mention) -> bool:
    """True when ``dataset`` follows the number in the same phrase ("+3.2 mIoU on ADE20K")."""
    if dataset.start < n.end:
        return False
    gap = _PARENS.sub("", sentence[n.end:dataset.start])  # "2.7% panoptic quality (PQ) improvement on COCO"
    return len(gap) <= 40 and not re.search(r"[,;:()/]", gap)


def _absolute_datasets_by_metric(sentence: str, results: list[tuple[_Number, Mention | None]],
                                 datasets: Sequence[Mention], assigned: dict[int, Mention]) -> dict[str, Mention]:
    """metric -> the one dataset this sentence reports an absolute figure of that metric on."""
    found: dict[str, set[Mention]] = {}
    numbers = [n for n, _ in results]
    for n, metric in results:
        if metric is None or _is_delta(sentence, n):
            continue
        dataset = assigned.get(n.start) or (_dataset_for(sentence, n, datasets, numbers) if datasets else None)
        if dataset is not None:
            found.setdefault(metric.name, set()).add(dataset)
    # the first mention in the sentence: a set's order changes with the hash seed, and the mention picked
    # decides the row's qualifiers ("GTA Cityscapes (..., +0.6) and Synthia Cityscapes (..., +1.0)")
    return {m: min(ds, key=lambda d: d.start) for m, ds in found.items() if len({d.name for d in ds}) == 1}


def _slash_pairs(sentence: str, results: list[tuple[_Number, Mention | None]],
                 datasets: Sequence[Mention]) -> dict[int, Mention]:
    """"89.1% / 81.5% top-1 accuracy on ImageNet-1K / ImageNet-V2": the i-th figure, the i-th dataset."""
    pairs: dict[int, Mention] = {}
    groups = _slash_groups(sentence, [n for n, _ in results], lambda x: (x.start, x.end))
    dgroups = _slash_groups(sentence, list(datasets), lambda x: (x.start, x.end))
    for group in groups:
        following = [g for g in dgroups if g[0].start > group[-1].end and len(g) == len(group)]
        if following:
            pairs.update((n.start, d) for n, d in zip(group, following[0], strict=True))
    return pairs


def _metric_slash_pairs(sentence: str, results: list[tuple[_Number, Mention | None]],
                        metrics: Sequence[Mention]) -> list[tuple[_Number, Mention | None]]:
    """"Rank-1/mAP=96.6%/94.2%", "mAP/NDS of 45.1/52.3": the i-th figure has the i-th metric."""
    groups = _slash_groups(sentence, [n for n, _ in results], lambda x: (x.start, x.end))
    named: dict[int, Mention] = {}
    for mgroup in _slash_groups(sentence, list(metrics), lambda x: (x.start, x.end)):
        following = next((g for g in groups if g[0].start >= mgroup[-1].end), None)
        if following and len(following) == len(mgroup) and re.fullmatch(
                r"\s*(?:=|:|of|is|are|was|were|reach(?:es|ed)?|scores?\s+of)?\s*",
                sentence[mgroup[-1].end:following[0].start]):
            named.update((n.start, m) for n, m in zip(following, mgroup, strict=True))
    return [(n, named.get(n.start, metric)) for n, metric in results]


def _slash_groups(sentence: str, items: list, span) -> list[list]:
    groups: list[list] = []
    for item in items:
        if groups and re.fullmatch(r"\s*(?:\\?%)?\s*/\s*", sentence[span(groups[-1][-1])[1]:span(item)[0]]):
            groups[-1].append(item)
        else:
            groups.append([item])
    return [g for g in groups if len(g) > 1]


def _parallel_lists(sentence: str, results: list[tuple[_Number, Mention | None]],
                    datasets: Sequence[Mention]) -> dict[int, Mention] | None:
    """"On VQA and NLVR2, ALBEF achieves improvements of 2.37% and 3.84%": a list of k datasets and a
    list of k figures, in either order (no "respectively"), pair in order; the figures of other methods
    ("..., 63.6% and 64.0%, compared to 54.9% and 54.4% achieved by former best solutions") are not counted."""
    results = [(n, m) for n, m in results if not _is_baseline(sentence, n)]
    if len(datasets) < 2 or len(results) != len(datasets):
        return None
    numbers_first = results[-1][0].end <= datasets[0].start
    if numbers_first:  # "FIDs of 10.78, 3.52 and 21.17 on SLIVER07, ChestX-ray14 and ACDC"
        if not re.fullmatch(r"[^,;.\d]{0,40}", sentence[results[-1][0].end:datasets[0].start]):
            return None
    elif results[0][0].start < datasets[-1].end:
        return None
    for a, b in pairwise(datasets):
        if not re.fullmatch(r"\s*(?:,|and|,\s*and|&)\s*", sentence[a.end:b.start]):
            return None
    numbers = [n for n, _ in results]
    for x, y in pairwise(numbers):
        # "71.1% AUC, 89.3% NP, and 73.0% AO on LaSOT, TrackingNet, and GOT-10k": a metric may follow each
        if not re.fullmatch(r"\s*(?:\\?%)?\s*(?:[A-Za-z@\-]+\s*){0,2}(?:,|and|,\s*and)\s*", sentence[x.end:y.start]):
            return None
    return {n.start: d for n, d in zip(numbers, datasets, strict=True)}


def _ordered_list(sentence: str, results: list[tuple[_Number, Mention | None]],
                  context: Sequence[Mention]) -> dict[int, Mention] | None:
    """"... on UCF101 and HMDB51. MCN achieves Top-1 accuracies of 84.8% and 54.5% ...": the first list of
    figures of a sentence pairs in order with the datasets the sentence before listed, when the counts agree."""
    names = list(dict.fromkeys(d.name for d in context))
    if len(names) < 2:
        return None
    numbers = [n for n, _ in results if not _is_baseline(sentence, n)]
    run = numbers[:1]
    for a, b in pairwise(numbers):
        if not re.fullmatch(r"\s*(?:\\?%)?\s*(?:,|and|,\s*and)\s*", sentence[a.end:b.start]):
            break
        run.append(b)
    if len(run) != len(names) or len({m.name if m else None for n, m in results if n in run}) != 1:
        return None
    first = {d.name: d for d in reversed(context)}
    return {n.start: first[name] for n, name in zip(run, names, strict=True)}


def _clean_gap(gap: str) -> bool:
    return len(gap) <= 50 and not re.search(r"[\d,;:()]", gap) and not _CLAUSE_BREAK.search(gap)


def _list_with_unknown_names(sentence: str, datasets: Sequence[Mention], count: int) -> list[Mention] | None:
    """The ``count`` items of a name list holding known datasets ("ACE2004, ACE2005, and NNE")."""
    for m in _NAME_LIST.finditer(sentence):
        # (the mentions must be this sentence's, not an earlier sentence's passed as context)
        inside = [d for d in datasets if m.start() <= d.start and d.end <= m.end() and sentence[d.start:d.end] == d.surface]
        if not inside:
            continue
        items: list[Mention] = []
        pos = m.start()
        for piece in re.split(r"(\s*(?:,\s*and|,|and|&)\s*(?:the\s+)?)", m.group("items")):
            start, end = pos, pos + len(piece)
            pos = end
            if not piece.strip() or re.fullmatch(r"\s*(?:,\s*and|,|and|&)\s*(?:the\s+)?", piece):
                continue
            known = [d for d in inside if start <= d.start < end]
            if not known and not re.search(r"[A-Za-z]", piece):
                year = re.fullmatch(r"\s*((?:19|20)\d\d)\s*", piece)
                family = re.match(r"(.*?)[\s\-]?(?:19|20)\d\d$", items[-1].surface) if year and items else None
                if not (year and family and family.group(1)):
                    return None  # "37.50, 91.98 and 59.23": figures, not names
                # "the CoNLL-2005 and 2012 datasets": the same name, another year
                items.append(Mention(f"{family.group(1)}-{year.group(1)}", piece.strip(), start, end))
                continue
            items.append(known[0] if known else Mention(piece.strip(), piece.strip(), start, end))
        if len(items) == count:
            return items
    return None


def _respectively(sentence: str, results: list[tuple[_Number, Mention | None]],
                  datasets: Sequence[Mention]) -> dict[int, Mention] | None:
    """"... on A, B and C ... 1.0, 2.0 and 3.0, respectively": pair numbers and datasets in order."""
    if not re.search(r"\brespective(?:ly)?\b", sentence) or not datasets:
        return None
    if len(datasets) == 1:
        # "3.5% and 3.6% ... for Pancreas-CT and BTCV datasets, respectively": one name the lexicon knows
        figures = [n for n, _ in results if not _is_baseline(sentence, n)]
        listed = _list_with_unknown_names(sentence, datasets, len(figures)) if len(figures) >= 2 else None
        return {n.start: d for n, d in zip(figures, listed, strict=True)} if listed else None
    # "Top-1 and Top-5 by 4.4 and 7.9 respectively on Kinetics": the list pairs with metrics, on one dataset
    on_one = re.search(r"\brespectively,?\s+(?:on|in)\s+(?:the\s+)?", sentence)
    first = next((d for d in datasets if on_one and d.start == on_one.end()), None)
    if first is not None:
        second = next((d for d in datasets if d.start > first.end), None)
        if second is None or not re.fullmatch(r"\s*(?:,|and|,\s*and|&)\s*", sentence[first.end:second.start]):
            return None
    absolute = [(n, metric) for n, metric in results if not _is_delta(sentence, n) and not _is_baseline(sentence, n)]
    if len(absolute) == len(datasets):
        return {n.start: d for (n, _), d in zip(absolute, datasets, strict=True)}
    listed = _list_with_unknown_names(sentence, datasets, len(absolute))
    if listed:
        return {n.start: d for (n, _), d in zip(absolute, listed, strict=True)}
    deltas = [n for n, _ in results if _is_delta(sentence, n)]
    if len(deltas) == len(datasets) and not absolute:
        return {n.start: d for n, d in zip(deltas, datasets, strict=True)}
    listed = _list_with_unknown_names(sentence, datasets, len(deltas)) if deltas and not absolute else None
    if listed:
        return {n.start: d for n, d in zip(deltas, listed, strict=True)}
    groups: dict[str, list[_Number]] = {}
    for n, metric in absolute:
        groups.setdefault(metric.name if metric else "", []).append(n)
    assigned: dict[int, Mention] = {}
    for numbers in groups.values():
        if len(numbers) == len(datasets):
            assigned.update((n.start, d) for n, d in zip(numbers, datasets, strict=True))
    return assigned or None


def _speeds_of_one_dataset(rows: list[ResultRow], datasets: Sequence[Mention], tied: dict[int, bool]) -> list[ResultRow]:
    """"favorable accuracy on the TuSimple and CULane datasets, while retaining low latency (150 FPS)": a
    speed is the model's, not one dataset's, when the sentence names several datasets; it stays only
    when written "on" its dataset ("10 FPS on PubTabNet") or when the sentence's other figures are all
    on one dataset ("38.1% AP at 60 FPS ... on COCO")."""
    if len({d.name for d in datasets}) < 2:
        return rows
    speeds = {"FPS", "Latency"}
    scored = {r.dataset for r in rows if r.metric not in speeds}
    return [r for r in rows if r.metric not in speeds or tied.get(id(r)) or scored == {r.dataset}]


def _other_method(sentence: str, n: _Number) -> str | None:
    m = re.search(r"\b([A-Z][\w\-]*[A-Z0-9][\w\-]*)\s*\(\s*$", sentence[max(0, n.start - 40):n.start])
    return m.group(1) if m else None


def _other_method_figure(sentence: str, n: _Number, datasets: Sequence[Mention]) -> bool:
    """"outperforms methods such as MixMatch (52.46%), UDA (70.95%)": a figure of the named method."""
    m = re.search(r"\b([A-Z][\w\-]*)\s*\(\s*$", sentence[max(0, n.start - 40):n.start])
    if m is None:
        return False
    name_end = n.start - (len(sentence[max(0, n.start - 40):n.start]) - m.end(1))
    return not any(d.end == name_end for d in datasets)


def _is_baseline(sentence: str, n: _Number) -> bool:
    """A figure of another method: "from X to Y" (X), "Y (vs X)", "the previous best of X", "(X Y)"."""
    changed = _CHANGE_VERB.search(sentence[max(0, n.start - 90):n.start])
    if _FROM_TO.search(sentence[:n.start]) and changed and (
            re.match(r"^[^\d;]{0,60}?\bto\s", sentence[n.end:])
            or re.match(r"^\s?(?:\\?%)?\s?/\s?[+\-]?\d+(?:\.\d+)?\s?(?:\\?%)?\s+to\s", sentence[n.end:])):
        return True  # "from 2.39 to 2.10", "from 0.742/0.313 to ..."
    # "from 0.742/0.313 to 0.762/0.350": the second figure of the pair before "to"
    if re.search(r"\bfrom\s+[+\-]?\d+(?:\.\d+)?\s?\\?%?\s?/\s?$", sentence[max(0, n.start - 25):n.start]) \
            and re.match(r"^\s?(?:\\?%)?\s+to\s", sentence[n.end:]) and changed:
        return True
    # "degrade on Precision@5 (20.2% to 12.4% and 15.8% to 3.8%)": "X to Y" after a change, no "from"
    if changed and re.match(r"^\s?(?:\\?%)?\s+to\s+[+\-]?\d", sentence[n.end:]) \
            and not re.search(r"\b(?:by|up\s+to|of|between)\s*$", sentence[max(0, n.start - 12):n.start]):
        return True
    # "compared to 54.9% and 54.4% achieved by former best solutions": a list shares its first figure's role
    run = _NUMBER_LIST_BEFORE.search(sentence[:n.start])
    start = run.start() if run else n.start
    if _PREVIOUS_BEFORE.search(sentence[max(0, start - 110):start]) or re.match(
            r"\s?(?:\\?%)?\s*(?:[\w\-@]+\s+){0,2}?of\s+(?:the\s+)?(?:previous|prior|former|existing|current)\s+"
            r"(?:best|state|SOTA|leading)", sentence[n.end:n.end + 60], re.IGNORECASE):
        return True  # "a large improvement from the 56.7 F1 of the previous best system"
    # "CORD (0.9493 0.9601)": an arrow lost with the LaTeX; the first figure is the old one
    return bool(re.search(r"\(\s*$", sentence[max(0, n.start - 3):n.start])
                and re.match(r"^\s?(?:\\?%)?\s+\d+(?:\.\d+)?\s?(?:\\?%)?\s*\)", sentence[n.end:]))


def _is_delta(sentence: str, n: _Number) -> bool:
    if n.signed and n.value >= 0 and sentence[n.start] in "+\u00b1":
        return True
    if re.search(r"\bfrom\s+\S+\s+to\s*$", sentence[max(0, n.start - 40):n.start]):
        return False  # the Y of "from X to Y" is the new figure
    if re.match(r"\s?(?:\\?%)?\s*(?:[A-Za-z@\-]+\s*){0,2}\$?(?:\\rightarrow|\u2192|->)", sentence[n.end:n.end + 40]):
        return False  # "(36.1 mAP → 39.9 mAP)": the old and the new figure, not a gain
    before = sentence[max(0, n.start - 60):n.start]
    if _delta_before(sentence, n.start):
        return True
    # "43.5% (12 to 6.78) FID improvement": the parenthesis between says what changed
    after = _PARENS.sub("", sentence[n.end:n.end + 100])  # "2.7% panoptic quality (PQ) improvement"
    if _DELTA_AFTER.match(after[:60]) or _OVER_METHOD_AFTER.match(after[:40]):
        return True
    # "up to 3%, 17%, and 14% error reductions": the list ends with what its figures are
    run = re.match(r"(?:\s?(?:\\?%)?\s*(?:,\s*and|,|and)\s*[+\u00b1]?\d+(?:\.\d+)?(?=[\s%,)]))+\s?(?:\\?%)?", after)
    if run and (n.unit == "%") == ("%" in run.group()) and _DELTA_AFTER.match(after[run.end():run.end() + 60]):
        return True  # (a list of figures of one unit: not "MPJPE: 31.9, 8.4% improvement")
    # "brings up to 3.3 mAP and 1.6 mAP improvements", "with 8.3 PQ and 7.9 mIoU absolute improvement": each
    # figure of the list names its metric, and the list ends with what its figures are
    run = _METRIC_LIST_AFTER.match(after)
    if run and (n.unit == "%") == ("%" in run.group()) and _DELTA_AFTER.match(after[run.end():run.end() + 60]):
        return True
    if re.search(r"\(\s*$", before) and _OVER_BASELINES.search(sentence[:n.start]) and \
            re.search(r"\bover\s+(?:the\s+)?(?:strong|competitive|existing|previous|prior|recent|leading)?\s*"
                      r"(?:state[- ]of[- ]the[- ]art\s+)?(?:baselines?|methods|models|approaches|art|SOTA)\b",
                      sentence[max(0, n.start - 120):n.start], re.IGNORECASE):
        return True  # "performance over strong baselines e.g. TabFact (4.3%), InfoVQA (1.4%)": the gains on each
    # "outperforming VideoMAE by 1.2% and 2.4%": the rest of a list of improvements
    run = _NUMBER_LIST_BEFORE.search(sentence[:n.start])
    if run:
        first = run.start()
        return bool(sentence[first] in "+\u00b1" or _delta_before(sentence, first))
    return False


_DROP_BEFORE = re.compile(
    r"\b(?:drops?|losses|loss|degradation|decreases?|declines?)\s+(?:in\s+(?:[\w\-]+\s+){0,3}?)?(?:of\s+)?"
    r"(?:only\s+|about\s+|around\s+|approximately\s+|nearly\s+|roughly\s+|over\s+|more\s+than\s+|up\s+to\s+|~\s?)?$",
    re.IGNORECASE)
# "the mAP of EfficientDet-D7 drops 74.5%": the verb, when the metric is its subject
_DROP_VERB_BEFORE = re.compile(r"\b(?:drop(?:s|ped)?|decreas\w*|declin\w*|degrad\w*|falls?|fell)\s+"
                               r"(?:by\s+)?(?:only\s+|about\s+|around\s+|~\s?)?$", re.IGNORECASE)
_DROP_AFTER = re.compile(r"^(?:\s?(?:%|\\%|percent|points?|pp))?\s*(?:[\w\-]+\s+){0,2}?"
                         r"(?:drops?|loss|degradation|decrease|decline)\b", re.IGNORECASE)


def _is_drop(sentence: str, n: _Number, metric: Mention) -> bool:
    """"an accuracy drop of 2.92%", "with 3% loss in accuracy", "mAP drops 74.5%": a change for the worse."""
    verb = _DROP_VERB_BEFORE.search(sentence[max(0, n.start - 40):n.start])
    if verb and metric.end <= n.start and n.start - metric.end <= 50:
        return True
    if re.search(r"\b(?:alleviat|mitigat|reduc|recover|avoid|prevent|without)\w*\b[^.;,]{0,30}$", sentence[max(0, n.start - 40):n.start],
                 re.IGNORECASE):
        return False  # "alleviates up to 74% performance drop": a drop avoided
    return bool(_DROP_BEFORE.search(sentence[max(0, n.start - 40):n.start]) or _DROP_AFTER.match(sentence[n.end:n.end + 40]))


def _delta_before(sentence: str, start: int) -> bool:
    """"by 2.1", "a gain of 2.1", "the improvement of our model is 2.1": what comes before a change."""
    return bool(_DELTA_BEFORE.search(sentence[max(0, start - 60):start])
                or _GAIN_IS_BEFORE.search(sentence[max(0, start - 100):start]))


def _model_for(sentence: str, n: _Number, title_model: str | None, lexicon: Lexicon) -> str | None:
    best = None
    for m in _MODEL_SUBJECT.finditer(sentence[:n.start]):
        model = m.group("model").strip()
        first = model.split()[0]
        if first in _NOT_MODELS or any(
            lexicon.lookup_metric(x) or lexicon.lookup_dataset(x) for x in {model, first}
        ):
            continue
        best = model
    if best is not None:
        return best
    if title_model and _OUR_SUBJECT.search(sentence[:n.start]):
        return title_model
    return None


def _title_model(title: str) -> str | None:
    """"MOAT: Alternating Mobile Convolution ..." names the model MOAT."""
    head, sep, _ = title.partition(":")
    head = head.strip()
    if sep and 0 < len(head) <= 30 and re.fullmatch(_MODEL_NAME + r"(?:\s[A-Z][\w\-]*)?", head):
        return head  # "MOAT", "SG-Former", "Swin Transformer"; not "Less is More"
    return None


def _qualifiers(sentence: str, n: _Number, dataset: Mention | None, prev_end: int, next_start: int) -> list[str]:
    window_start = max(prev_end, sentence.rfind(",", 0, n.start) + 1, sentence.rfind(";", 0, n.start) + 1)
    clause_end = re.search(r";|,\s*(?:and|while|whereas|but)\b", sentence[n.end:next_start])
    window = sentence[window_start:n.end + clause_end.start() if clause_end else next_start]
    found: list[str] = []
    if dataset is not None:
        split = _SPLIT_AFTER_DATASET.match(sentence[dataset.end:dataset.end + 20])
        if split:
            found.append(_split_name(split.group(1)))
    found.extend(_split_name(m.group(1)) for m in _SPLIT.finditer(sentence[n.end:next_start]))
    if dataset is not None and (m := _SPLIT_IN_NAME.search(dataset.surface)):
        found.append(_split_name(m.group(1)))
    found.extend(re.sub(r"\s+", " ", m.group(1).lower().replace("pretrained", "pre-trained"))
                 for m in _SETTINGS.finditer(window))
    for pattern in (_PARAMS, _PARAMS_WORDS):
        for m in pattern.finditer(window):
            scale = {"million": "M", "billion": "B"}.get(m.group("scale").lower(), m.group("scale"))
            found.append(f"{m.group('n')}{scale} params")
    found.extend(f"{m.group('n')}{m.group('scale')} FLOPs" for m in _FLOPS.finditer(window))
    return list(dict.fromkeys(found))


def _split_name(text: str) -> str:
    text = text.lower()
    return {"validation": "val", "area5": "area 5", "area-5": "area 5"}.get(text, text)


def format_value(row: ResultRow) -> str:
    """How a value reads in a table: 84.7%, +3.2, 33.57 dB ("84.7\\%" as written becomes 84.7%)."""
    if row.value is None:
        return "no figure"
    number = row.value_text
    m = _NUMBER.search(number or "")
    digits = m.group("num") if m else f"{row.value:g}"
    sign = "+" if row.is_delta and row.value >= 0 else ("-" if row.value < 0 else "")
    unit = row.unit or ""
    if unit == "%":
        return f"{sign}{digits}%"
    return f"{sign}{digits} {unit}".strip() if unit else f"{sign}{digits}"


def extract_results(papers: Iterable[Paper], lexicon: Lexicon | None = None) -> list[ResultRow]:
    """Rows for every result the papers' abstracts state (rules extractor)."""
    return RuleExtractor(lexicon).extract_many(papers)
