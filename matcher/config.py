"""The saved configuration of a trained matcher (``config.json``)."""

from __future__ import annotations

from typing import Any

from transformers import PretrainedConfig

from matcher.constants import MODEL_TYPE

__all__ = ["MODEL_TYPE", "MatcherConfig"]


class MatcherConfig(PretrainedConfig):
    """Everything needed to rebuild a trained :class:`~matcher.Matcher`.

    The transformer's own configuration is nested under ``encoder`` (as
    SpanMarker nests its encoder's), so one ``config.json`` describes the whole
    matcher: its schema (``attributes``: the attributes it was trained on, in
    the order it serializes them; ``None`` in files written before it was
    recorded), the serialization options, the token budget, the decision
    threshold, the threshold tuned for one-to-one linkage (``link_threshold``,
    ``None`` until ``bem train --one-to-one`` tunes one), the blocker tuned on the
    labelled matches (``blocking``, a :func:`blocking.blocker_to_config` dict with
    what it was tuned on; ``None`` until ``bem train --labels`` tunes one), the head's pooling and
    the library version that wrote it (``pooling`` defaults to ``"cls"``, the
    only head of files written before it was recorded). ``max_seq_length`` is named
    so because ``max_length`` is reserved by transformers for generation.
    """

    model_type = MODEL_TYPE

    def __init__(
        self,
        encoder: dict[str, Any] | None = None,
        base_model: str = "",
        max_seq_length: int = 128,
        threshold: float = 0.5,
        link_threshold: float | None = None,
        blocking: dict[str, Any] | None = None,
        attributes: list[str] | None = None,
        serializer: dict[str, Any] | None = None,
        summarize: bool = False,
        pooling: str = "cls",
        bem_version: str = "",
        training: dict[str, Any] | None = None,
        metrics: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        self.encoder = dict(encoder or {})
        self.base_model = base_model
        self.max_seq_length = int(max_seq_length)
        self.threshold = float(threshold)
        self.link_threshold = None if link_threshold is None else float(link_threshold)
        self.blocking = None if blocking is None else dict(blocking)
        self.attributes = None if attributes is None else [str(a) for a in attributes]
        self.serializer = dict(serializer or {})
        self.summarize = bool(summarize)
        self.pooling = pooling
        self.bem_version = bem_version
        self.training = dict(training or {})
        self.metrics = dict(metrics or {})
        super().__init__(**kwargs)

    def encoder_config(self) -> PretrainedConfig:
        """The nested transformer configuration as its own config class."""
        from transformers import AutoConfig

        params = dict(self.encoder)
        model_type = params.pop("model_type", None)
        if not model_type:
            raise ValueError("config.json: 'encoder' has no model_type; the file is damaged")
        for key in ("transformers_version", "architectures"):
            params.pop(key, None)
        return AutoConfig.for_model(model_type, **params)
