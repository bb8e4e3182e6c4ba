"""The BERT cross-encoder matcher: ``[CLS] left [SEP] right [SEP]`` -> P(match)."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
from tqdm.auto import tqdm

from data import BemError, RecordPairs
from matcher.backbone import default_model_path, quantize_int8, quiet_transformers
from matcher.constants import INT8_KEEP_FLOAT, MODEL_TYPE, POOLINGS, __version__
from matcher.encoding import EncodedPair, PairEncoder, TfidfSummarizer
from matcher.metrics import MatchMetrics, match_metrics
from matcher.persistence import read_matcher_dir, write_matcher_dir
from matcher.schema import PairsLike, as_records, check_schema
from matcher.serializer import PairSerializer
from matcher.training import fit_matcher

if TYPE_CHECKING:
    import pandas as pd
    import torch

    from matcher.config import MatcherConfig

# POOLINGS, INT8_KEEP_FLOAT, PairsLike, as_records and default_model_path live in
# the modules below this one and stay importable from here.
__all__ = [
    "INT8_KEEP_FLOAT",
    "POOLINGS",
    "Matcher",
    "PairsLike",
    "as_records",
    "default_model_path",
]

logger = logging.getLogger(__name__)

_LAZY = (
    "model_",
    "tokenizer_",
    "serializer_",
    "encoder_",
    "config_",
    "threshold_",
    "link_threshold_",
)


class Matcher:
    """A cross-encoder that scores whether two records describe the same entity.

    Args:
        model: a Hugging Face model name or local directory; ``None`` is the
            packaged MiniLM-L6. A trained BEM matcher is loaded with
            :meth:`from_pretrained` instead.
        max_length: the most tokens per pair; longer pairs are shortened by a
            per-attribute budget on value tokens.
        attributes: the attributes to serialize, in order (``None``: the columns
            of the training tables, in order). :meth:`fit` records them as the
            model's schema (:attr:`attributes_`); scoring then reads exactly
            these, ignoring other columns.
        threshold: the decision threshold until :meth:`fit` tunes it.
        batch_size: scoring batch size.
        seed: seeds the classification head, shuffling, dropout and augmentation.
        device: torch device.
        summarize: keep the most informative value tokens (TF-IDF fitted on the
            training values) instead of the first ones when truncating.
        quantize: score with an int8 dynamically quantized copy of the model
            (every linear layer but those named in :data:`INT8_KEEP_FLOAT`).
        col_token, val_token: the serializer's markers.
        cache_size: how many encoded pairs to keep for repeated scoring.
        pooling: what the match head reads: ``"mean"`` (the mean of all token
            states; the default, because the packaged MiniLM was trained as a
            mean-pooled sentence encoder) or ``"cls"`` (the [CLS] state, as
            Ditto and ``AutoModelForSequenceClassification`` do).
    """

    def __init__(
        self,
        model: str | Path | None = None,
        *,
        max_length: int = 128,
        attributes: Sequence[str] | None = None,
        threshold: float = 0.5,
        batch_size: int = 64,
        seed: int = 0,
        device: str = "cpu",
        summarize: bool = False,
        quantize: bool = False,
        col_token: str = "COL",
        val_token: str = "VAL",
        cache_size: int = 200_000,
        pooling: Literal["mean", "cls"] = "mean",
    ) -> None:
        if not 0.0 <= threshold <= 1.0:
            raise ValueError(f"threshold must be in [0, 1], got {threshold}")
        if max_length < 16:
            raise ValueError(f"max_length must be at least 16, got {max_length}")
        if batch_size < 1:
            raise ValueError(f"batch_size must be positive, got {batch_size}")
        if pooling not in POOLINGS:
            raise ValueError(f"pooling must be one of {', '.join(POOLINGS)}; got {pooling!r}")
        self.model = model
        self.max_length = max_length
        self.attributes = None if attributes is None else list(attributes)
        self.threshold = threshold
        self.batch_size = batch_size
        self.seed = seed
        self.device = device
        self.summarize = summarize
        self.quantize = quantize
        self.col_token = col_token
        self.val_token = val_token
        self.cache_size = cache_size
        self.pooling = pooling
        self._cache: dict[tuple, EncodedPair] = {}
        self._quantized: Any = None
        self.history_: list[dict[str, float]] = []
        self.train_info_: dict[str, Any] = {}

    # -- lazy set-up -----------------------------------------------------------
    def __getattr__(self, name: str) -> Any:
        if name in _LAZY and "_ready" not in self.__dict__:
            self._setup()
            return getattr(self, name)
        raise AttributeError(f"{type(self).__name__!s} has no attribute {name!r}")

    def _setup(self) -> None:
        import torch
        from transformers import AutoTokenizer

        from matcher.heads import build_model  # imports torch: only when a model is built

        source = default_model_path() if self.model is None else str(self.model)
        cfg_file = Path(source) / "config.json"
        if cfg_file.is_file() and f'"{MODEL_TYPE}"' in cfg_file.read_text(encoding="utf-8"):
            raise ValueError(
                f"{source} is a trained BEM matcher; load it with Matcher.from_pretrained(path)"
            )
        torch.manual_seed(self.seed)  # the new classification head
        with quiet_transformers():
            tokenizer = AutoTokenizer.from_pretrained(source)
            model = build_model(source, pooling=self.pooling)
        self._install(model, tokenizer, base_model=source)

    def _install(
        self,
        model: Any,
        tokenizer: Any,
        *,
        base_model: str,
        summarizer: TfidfSummarizer | None = None,
        config: MatcherConfig | None = None,
    ) -> None:
        from matcher.config import MatcherConfig  # imports transformers

        model.to(self.device).eval()
        self.model_ = model
        self.tokenizer_ = tokenizer
        self.serializer_ = PairSerializer(
            attributes=self.attributes, col_token=self.col_token, val_token=self.val_token
        )
        self.encoder_ = PairEncoder(
            tokenizer, self.serializer_, max_length=self.max_length, summarizer=summarizer
        )
        if config is None:
            config = MatcherConfig(
                encoder=model.config.to_dict(),
                base_model=base_model,
                max_seq_length=self.max_length,
                threshold=self.threshold,
                attributes=self.attributes,
                serializer=self.serializer_.to_dict(),
                summarize=self.summarize,
                pooling=self.pooling,
                bem_version=__version__,
            )
        self.config_ = config
        self.threshold_ = float(config.threshold)
        self.link_threshold_: float | None = config.link_threshold
        self._ready = True

    @property
    def attributes_(self) -> list[str] | None:
        """The attributes the model reads, in order: those it was trained on (or
        given as ``attributes``). ``None`` before :meth:`fit` without
        ``attributes``, and for models saved before BEM recorded them: those read
        every column of their input, in the input's order."""
        attributes = self.serializer_.attributes
        return None if attributes is None else list(attributes)

    def check_schema(self, table: pd.DataFrame, *, name: str = "left") -> list[str]:
        """The model's attributes that ``table`` has no column for (logged as a warning).

        Raises:
            BemError: ``table`` has none of them; the message says how to rename
                or map its columns.
        """
        return check_schema(table, self.attributes_, name=name)

    def _use_schema(self, attributes: Sequence[str], train: RecordPairs) -> None:
        """Serialize exactly ``attributes`` from now on and record them in the config."""
        if not attributes:
            raise BemError("fit: the training tables have no attribute columns; nothing to match")
        encoder = self.encoder_  # set up first: set-up installs the constructor's serializer
        check_schema(train.left, attributes, name="training left")
        if train.right is not train.left:
            check_schema(train.right, attributes, name="training right")
        self.serializer_ = PairSerializer(
            attributes=attributes, col_token=self.col_token, val_token=self.val_token
        )
        encoder.serializer = self.serializer_
        self.config_.attributes = list(attributes)
        self.config_.serializer = self.serializer_.to_dict()
        self._invalidate()

    def _invalidate(self) -> None:
        """Forget cached encodings and the quantized copy (after training)."""
        self._cache.clear()
        self._quantized = None

    # -- encoding --------------------------------------------------------------
    def encode(self, pairs: PairsLike) -> list[EncodedPair]:
        """Serialize and tokenize pairs, with token labels (cached).

        Records are reduced to the model's attributes (:attr:`attributes_`), in
        its order, first: other columns are never serialized.

        Raises:
            BemError: ``pairs`` is RecordPairs whose left or right table has none
                of the model's attributes.
        """
        attributes = self.attributes_
        if isinstance(pairs, RecordPairs) and attributes is not None:
            check_schema(pairs.left, attributes, name="left", warn=False)
            if pairs.right is not pairs.left:
                check_schema(pairs.right, attributes, name="right", warn=False)
        records = as_records(pairs, attributes)
        encoder = self.encoder_
        keys = [(tuple(a.items()), tuple(b.items())) for a, b in records]
        missing = {k: i for i, k in enumerate(keys) if k not in self._cache}
        if missing:
            todo = [records[i] for i in missing.values()]
            fresh = encoder.encode(todo)
            if len(self._cache) + len(fresh) > self.cache_size:
                self._cache.clear()
            new = dict(zip(missing, fresh))
            if len(new) <= self.cache_size:
                self._cache.update(new)
            return [self._cache.get(k) or new[k] for k in keys]
        return [self._cache[k] for k in keys]

    def collate(
        self, encoded: Sequence[EncodedPair], *, pad_to: int | None = None
    ) -> dict[str, torch.Tensor]:
        """Pad encoded pairs into ``input_ids``, ``attention_mask``, ``token_type_ids``.

        Pads to the longest pair (dynamic padding) or to ``pad_to``.
        """
        import torch

        width = max(len(e) for e in encoded) if pad_to is None else pad_to
        pad = self.tokenizer_.pad_token_id or 0
        ids = torch.full((len(encoded), width), pad, dtype=torch.long)
        mask = torch.zeros((len(encoded), width), dtype=torch.long)
        types = torch.zeros((len(encoded), width), dtype=torch.long)
        for i, e in enumerate(encoded):
            n = len(e)
            ids[i, :n] = torch.tensor(e.input_ids)
            mask[i, :n] = 1
            types[i, :n] = torch.tensor(e.token_type_ids)
        dev = self.device
        return {
            "input_ids": ids.to(dev),
            "attention_mask": mask.to(dev),
            "token_type_ids": types.to(dev),
        }

    # -- scoring ---------------------------------------------------------------
    def logits(self, batch: Mapping[str, Any], *, model: Any = None) -> torch.Tensor:
        """Raw match logits ``[B]`` of a collated batch."""
        model = self.model_ if model is None else model
        kwargs = dict(batch)
        if not self.encoder_.uses_token_types:
            kwargs.pop("token_type_ids", None)
        return model(**kwargs).logits[:, 0]

    def forward_proba(
        self,
        input_ids: torch.Tensor | None = None,
        attention_mask: torch.Tensor | None = None,
        token_type_ids: torch.Tensor | None = None,
        *,
        inputs_embeds: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Differentiable P(match), shape ``[B]`` (for attribution methods)."""
        import torch

        batch = {"attention_mask": attention_mask, "token_type_ids": token_type_ids}
        if inputs_embeds is not None:
            batch["inputs_embeds"] = inputs_embeds
        else:
            batch["input_ids"] = input_ids
        if token_type_ids is None:
            batch.pop("token_type_ids")
        return torch.sigmoid(self.logits(batch))

    def embedding_layer(self) -> torch.nn.Module:
        """The word-embedding layer (for captum's LayerIntegratedGradients)."""
        return self.model_.get_input_embeddings()

    def scoring_model(self) -> Any:
        """The module used for scoring: the model, or its int8 copy with ``quantize``."""
        if not self.quantize:
            return self.model_
        if self._quantized is None:
            self._quantized = quantize_int8(self.model_, keep_float=INT8_KEEP_FLOAT)
        return self._quantized

    def predict_proba(
        self, pairs: PairsLike, *, batch_size: int | None = None, progress: bool = False
    ) -> np.ndarray:
        """P(match) for every pair: length-sorted batches, dynamic padding, inference mode."""
        import torch

        encoded = self.encode(pairs)
        out = np.zeros(len(encoded), dtype=np.float64)
        if not encoded:
            return out
        size = batch_size or self.batch_size
        order = np.argsort([len(e) for e in encoded], kind="stable")
        model = self.scoring_model()
        was_training = self.model_.training
        self.model_.eval()
        try:
            with torch.inference_mode():
                starts = range(0, len(order), size)
                for s in tqdm(starts, desc="scoring", unit="batch", disable=not progress):
                    idx = order[s : s + size]
                    batch = self.collate([encoded[i] for i in idx])
                    if model is not self.model_:
                        batch = {k: v.cpu() for k, v in batch.items()}
                    out[idx] = torch.sigmoid(self.logits(batch, model=model).float()).cpu().numpy()
        finally:
            self.model_.train(was_training)
        return out

    def score_naive(self, pairs: PairsLike, *, batch_size: int | None = None) -> np.ndarray:
        """The reference scoring path for benchmarks: input order, padding to
        ``max_length``, no encoding cache. Same scores as :meth:`predict_proba`."""
        import torch

        records = as_records(pairs)
        size = batch_size or self.batch_size
        out = np.zeros(len(records), dtype=np.float64)
        self.model_.eval()
        with torch.no_grad():
            for s in range(0, len(records), size):
                encoded = self.encoder_.encode(records[s : s + size])
                batch = self.collate(encoded, pad_to=self.max_length)
                out[s : s + size] = torch.sigmoid(self.logits(batch)).cpu().numpy()
        return out

    def predict(self, pairs: PairsLike, *, threshold: float | None = None) -> np.ndarray:
        """0/1 decisions: ``predict_proba >= threshold`` (default: the tuned ``threshold_``)."""
        t = self.threshold_ if threshold is None else threshold
        return (self.predict_proba(pairs) >= t).astype(np.int8)

    def evaluate(self, pairs: RecordPairs, *, threshold: float | None = None) -> MatchMetrics:
        """Precision, recall, F1, PR-AUC and confusion counts on labelled pairs."""
        if not isinstance(pairs, RecordPairs) or pairs.labels is None:
            raise BemError(
                "evaluate needs labelled RecordPairs (a pair table with a 'label' column, "
                "1 = match); got pairs without labels"
            )
        t = self.threshold_ if threshold is None else threshold
        return match_metrics(pairs.labels, self.predict_proba(pairs), t)

    # -- training and persistence (see matcher.training / matcher.persistence) --
    def fit(
        self,
        train: RecordPairs,
        valid: RecordPairs | None = None,
        *,
        epochs: int = 3,
        learning_rate: float = 5e-5,
        batch_size: int = 32,
        warmup_ratio: float = 0.1,
        weight_decay: float = 0.01,
        class_weight: Literal["balanced", "sqrt"] | float | None = "sqrt",
        augment: Sequence[str] = (),
        augment_prob: float = 0.5,
        early_stopping: int | None = 2,
        max_grad_norm: float = 1.0,
        negatives_per_positive: float | None = None,
        progress: bool = True,
    ) -> Matcher:
        """Fine-tune on labelled pairs, tuning the threshold on ``valid``.

        The model's schema (:attr:`attributes_`) becomes ``attributes`` or else
        the training tables' columns in order (left, then right-only ones). See
        :func:`matcher.training.fit_matcher` for the other arguments.
        """
        if isinstance(train, RecordPairs):
            self._use_schema(self.attributes or train.attributes, train)
        result = fit_matcher(
            self,
            train,
            valid,
            epochs=epochs,
            learning_rate=learning_rate,
            batch_size=batch_size,
            warmup_ratio=warmup_ratio,
            weight_decay=weight_decay,
            class_weight=class_weight,
            augment=augment,
            augment_prob=augment_prob,
            early_stopping=early_stopping,
            max_grad_norm=max_grad_norm,
            negatives_per_positive=negatives_per_positive,
            progress=progress,
        )
        if result.threshold is not None:
            self.threshold_ = result.threshold
        self.history_ = result.history
        self.train_info_ = result.info
        self.config_.threshold = self.threshold_
        self.config_.training = {k: v for k, v in result.info.items() if k != "valid_metrics"}
        self.config_.metrics = result.info.get("valid_metrics", {})
        self.link_threshold_ = None  # tuned for the old weights; `bem train --one-to-one` re-tunes
        return self

    def save_pretrained(self, path: str | Path, *, overwrite: bool = False) -> Path:
        """Write the matcher as a directory (``config.json``, ``model.safetensors``,
        tokenizer files, ``summarizer.json`` with ``summarize``, a README model card).

        Raises:
            FileExistsError: ``path`` exists and is not empty, and ``overwrite`` is False.
        """
        cfg = self.config_
        cfg.threshold = float(self.threshold_)
        link = self.link_threshold_
        cfg.link_threshold = None if link is None else float(link)
        return write_matcher_dir(
            path,
            config=cfg,
            model=self.model_,
            tokenizer=self.tokenizer_,
            summarizer=self.encoder_.summarizer,
            data=self.train_info_.get("data"),
            overwrite=overwrite,
        )

    @classmethod
    def from_pretrained(
        cls, path: str | Path, *, device: str = "cpu", quantize: bool = False
    ) -> Matcher:
        """Load a matcher written by :meth:`save_pretrained`.

        Raises:
            BemError: ``path`` is not a BEM matcher directory, or it is damaged.
        """
        saved = read_matcher_dir(path)
        cfg, ser = saved.config, saved.config.serializer
        attributes = cfg.attributes if cfg.attributes is not None else ser.get("attributes")
        if attributes is None:
            logger.warning(
                "%s records no attributes (saved before BEM recorded a model's schema): it "
                "serializes every column of its input in the input's order; pass tables with "
                "exactly the columns it was trained on, in that order, or retrain it",
                path,
            )
        matcher = cls(
            model=cfg.base_model or None,
            max_length=cfg.max_seq_length,
            attributes=attributes,
            threshold=cfg.threshold,
            device=device,
            summarize=cfg.summarize,
            quantize=quantize,
            col_token=ser.get("col_token", "COL"),
            val_token=ser.get("val_token", "VAL"),
            pooling=cfg.pooling,
        )
        matcher._install(
            saved.model,
            saved.tokenizer,
            base_model=cfg.base_model,
            summarizer=saved.summarizer,
            config=cfg,
        )
        matcher.train_info_ = dict(cfg.training)
        return matcher
