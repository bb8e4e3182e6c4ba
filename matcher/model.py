"""The BERT cross-encoder matcher: ``[CLS] left [SEP] right [SEP]`` -> P(match)."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from data import BemError, RecordPairs
from matcher.backbone import default_model_path, quiet_transformers
from matcher.cascade import Cascade, fit_cascade
from matcher.constants import INT8_KEEP_FLOAT, MODEL_TYPE, POOLINGS, __version__
from matcher.encoding import EncodedPair, PairEncoder, TfidfSummarizer
from matcher.persistence import read_matcher_dir, write_matcher_dir
from matcher.schema import PairsLike, as_records, check_schema
from matcher.scoring import ScoringMixin
from matcher.serializer import PairSerializer
from matcher.training import fit_matcher

if TYPE_CHECKING:
    import pandas as pd

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
    "blocking_",
)


class Matcher(ScoringMixin):
    """A cross-encoder that scores whether two records describe the same entity.

    Scoring (``encode``, ``collate``, ``logits``, ``forward_proba``,
    ``predict_proba``, ``predict``, ``evaluate``...) comes from
    :class:`~matcher.scoring.ScoringMixin`; this class sets the model up, fits,
    saves and loads it.

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
        join_codes: serialize model-number-like codes without their inner
            separators (``KDL-40V5100`` -> ``KDL40V5100``), so that two spellings
            of one code tokenize alike (:func:`matcher.codes.join_codes`).
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
        join_codes: bool = False,
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
        self.join_codes = bool(join_codes)
        self._cache: dict[tuple, EncodedPair] = {}
        self._quantized: Any = None
        self.history_: list[dict[str, float]] = []
        self.train_info_: dict[str, Any] = {}
        self.cascade_: Cascade | None = None

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
        self.serializer_ = self._serializer(self.attributes)
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
        if "blocking_" not in self.__dict__:  # one set before the set-up (tuned) is kept
            self.blocking_: dict[str, Any] | None = config.blocking
        self._ready = True

    def _serializer(self, attributes: Sequence[str] | None) -> PairSerializer:
        return PairSerializer(
            attributes=attributes,
            col_token=self.col_token,
            val_token=self.val_token,
            join_codes=self.join_codes,
        )

    @property
    def attributes_(self) -> list[str] | None:
        """The attributes the model reads, in order: those it was trained on (or
        given as ``attributes``). ``None`` before :meth:`fit` without
        ``attributes``, and for models saved before BEM recorded them: those read
        every column of their input, in the input's order."""
        if "_ready" not in self.__dict__:  # not set up yet: no need to load the model
            return None if self.attributes is None else list(self.attributes)
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
        self.serializer_ = self._serializer(attributes)
        encoder.serializer = self.serializer_
        self.config_.attributes = list(attributes)
        self.config_.serializer = self.serializer_.to_dict()
        self._invalidate()

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
        blank_augment: float = 0.1,
        blank_sources: Literal["all", "non_matches"] = "all",
        max_minutes: float | None = None,
        cascade: bool = True,
        cascade_tolerance: float = 0.005,
        progress: bool = True,
    ) -> Matcher:
        """Fine-tune on labelled pairs, tuning the threshold on ``valid``.

        The model's schema (:attr:`attributes_`) becomes ``attributes`` or else
        the training tables' columns in order (left, then right-only ones). With
        ``cascade`` and ``valid``, a first stage (:attr:`cascade_`,
        :func:`matcher.cascade.fit_cascade`) is fitted on ``train`` after the
        cross-encoder, its band tuned on ``valid`` to keep F1 within
        ``cascade_tolerance``; what it chose is recorded under
        ``train_info_["cascade"]``. See :func:`matcher.training.fit_matcher`
        for the other arguments.
        """
        if not 0.0 <= cascade_tolerance <= 1.0:
            raise ValueError(f"cascade_tolerance must be in [0, 1], got {cascade_tolerance}")
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
            blank_augment=blank_augment,
            blank_sources=blank_sources,
            max_minutes=max_minutes,
            progress=progress,
        )
        if result.threshold is not None:
            self.threshold_ = result.threshold
        self.cascade_ = None
        if cascade and valid is not None:
            self.cascade_ = fit_cascade(
                self, train, valid, tolerance=cascade_tolerance, valid_proba=result.valid_proba
            )
            result.info["cascade"] = self.cascade_.summary()
        else:
            why = "cascade=False" if not cascade else "no validation pairs to tune a band on"
            result.info["cascade"] = {"enabled": False, "reason": why}
        self.history_ = result.history
        self.train_info_ = result.info
        self.config_.threshold = self.threshold_
        self.config_.training = {k: v for k, v in result.info.items() if k != "valid_metrics"}
        self.config_.metrics = result.info.get("valid_metrics", {})
        self.link_threshold_ = None  # tuned for the old weights; `bem train --one-to-one` re-tunes
        return self

    def save_pretrained(self, path: str | Path, *, overwrite: bool = False) -> Path:
        """Write the matcher as a directory (``config.json``, ``model.safetensors``,
        tokenizer files, ``summarizer.json`` with ``summarize``, ``cascade.json``
        with a :attr:`cascade_`, a README model card).

        Raises:
            FileExistsError: ``path`` exists and is not empty, and ``overwrite`` is False.
        """
        cfg = self.config_
        cfg.threshold = float(self.threshold_)
        if self.train_info_:  # what was added after fit (data, label_free) goes in too
            cfg.training = {k: v for k, v in self.train_info_.items() if k != "valid_metrics"}
        link = self.link_threshold_
        cfg.link_threshold = None if link is None else float(link)
        cfg.blocking = self.blocking_
        return write_matcher_dir(
            path,
            config=cfg,
            model=self.model_,
            tokenizer=self.tokenizer_,
            summarizer=self.encoder_.summarizer,
            data=self.train_info_.get("data"),
            cascade=self.cascade_,
            overwrite=overwrite,
        )

    @classmethod
    def from_pretrained(
        cls, path: str | Path, *, device: str = "cpu", quantize: bool = False
    ) -> Matcher:
        """Load a matcher written by :meth:`save_pretrained` (with its
        :attr:`cascade_` when the directory has ``cascade.json``, else ``None``).

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
            join_codes=bool(ser.get("join_codes", False)),
        )
        matcher._install(
            saved.model,
            saved.tokenizer,
            base_model=cfg.base_model,
            summarizer=saved.summarizer,
            config=cfg,
        )
        matcher.train_info_ = dict(cfg.training)
        matcher.cascade_ = saved.cascade
        return matcher
