"""Save and load a trained matcher as a directory (no pickle).

Layout: ``config.json`` (:class:`~matcher.config.MatcherConfig`, the encoder's
config nested inside), ``model.safetensors``, the tokenizer files,
``summarizer.json`` when TF-IDF truncation is on, ``cascade.json`` when the
matcher has a first stage (:class:`~matcher.cascade.Cascade`), and a
``README.md`` model card.

This module knows the files, not the :class:`~matcher.Matcher`: it writes and
reads a configuration, a torch model, a tokenizer and a summarizer, and
:meth:`Matcher.save_pretrained <matcher.Matcher.save_pretrained>` /
:meth:`~matcher.Matcher.from_pretrained` hand them over.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from data import BemError
from matcher.backbone import quiet_transformers
from matcher.cascade import CASCADE_FILE, Cascade
from matcher.constants import MODEL_TYPE, POOLINGS
from matcher.encoding import TfidfSummarizer

if TYPE_CHECKING:
    from matcher.config import MatcherConfig

__all__ = ["SavedMatcher", "read_matcher_dir", "write_matcher_dir"]

logger = logging.getLogger(__name__)

WEIGHTS = "model.safetensors"
SUMMARIZER = "summarizer.json"
_HEADS = {"mean": "the mean of all token states", "cls": "the [CLS] state"}


@dataclass(frozen=True)
class SavedMatcher:
    """What a matcher directory holds, as read by :func:`read_matcher_dir`."""

    config: MatcherConfig
    model: Any
    tokenizer: Any
    summarizer: TfidfSummarizer | None
    cascade: Cascade | None = None


def _cascade_line(info: dict[str, Any]) -> list[str]:
    if not info:
        return []
    if not info.get("enabled"):
        return [f"- cascade: off ({info.get('reason', 'not fitted')}); every pair is scored"]
    return [
        f"- cascade: a logistic regression on {info.get('features')} similarity features "
        f"decides P < {info['low']:.4f} as no match and P > {info['high']:.4f} (with shared "
        f"evidence) as a match: {info['decided_share']:.1%} of the validation pairs, "
        f"validation F1 {info['f1']:.4f} against {info['f1_cross_encoder']:.4f} for the "
        f"cross-encoder alone (tolerance {info.get('tolerance')}); `cascade.json`"
    ]


def _blocking_line(blocking: dict[str, Any] | None) -> list[str]:
    if not blocking:
        return []
    keys = " | ".join(
        f"{'+'.join(p.get('attributes', []))} {p.get('scorer')} k={p.get('top_k')}"
        for p in blocking.get("blockers", [])
    )
    tuned = blocking.get("tuned_on") or {}
    return [
        f"- blocking: {keys} (tuned on {tuned.get('matches')} labelled matches, recall "
        f"{tuned.get('recall')}; `bem dedup/link` block with it unless given --key)"
    ]


def _training_lines(training: dict[str, Any], data: str | None) -> list[str]:
    hp = training.get("hyperparameters", {})
    if training.get("label_free"):
        lines = [
            "Trained without labels: on self-supervised pairs built from the user's own "
            "tables (each record against a noisy copy of itself as a match; noisy copies of "
            "its blocked neighbours and of random records as non-matches). No pair was "
            "labelled by a person.",
            "",
            f"- {training.get('train_pairs')} self-supervised training pairs "
            f"({training.get('train_matches')} noisy self-pairs); "
            f"{training.get('valid_pairs')} held out to choose the threshold",
        ]
    else:
        lines = [
            f"- {training.get('train_pairs')} labelled pairs "
            f"({training.get('train_matches')} matches); {training.get('valid_pairs')} "
            "validation pairs",
        ]
    lines += [
        f"- epochs run: {training.get('epochs_run')}, best epoch: {training.get('best_epoch')}",
        f"- training time: {training.get('train_seconds')} s",
        f"- hyperparameters: `{json.dumps(hp)}`",
    ]
    if data:
        lines.append(f"- data: {data}")
    return lines


def _model_card(cfg: MatcherConfig, data: str | None) -> str:
    training = cfg.training or {}
    label_free = bool(training.get("label_free"))
    how = (
        "chosen without labels: "
        + training.get("threshold_rule", "the best F1 on the held-out self-supervised pairs")
        if label_free
        else "tuned on validation F1"
    )
    attrs = cfg.attributes or cfg.serializer.get("attributes")
    lines = [
        "---",
        "library_name: bem",
        "tags: [entity-matching, cross-encoder]",
        f"base_model: {cfg.base_model}",
        "---",
        "",
        "# BEM entity matcher",
        "",
        "A BERT cross-encoder that scores whether two records describe the same entity.",
        "Records are serialized as `COL <attribute> VAL <value>` (Ditto style) and",
        "`[CLS] left [SEP] right [SEP]` is classified; P(match) >= threshold is a match.",
        f"The match head reads {_HEADS.get(cfg.pooling, cfg.pooling)}.",
        "",
        "```python",
        "from matcher import Matcher",
        "m = Matcher.from_pretrained('<this directory>')",
        "m.predict_proba([(left_record, right_record)])",
        "```",
        "",
        f"- base model: `{cfg.base_model}`",
        f"- max length: {cfg.max_seq_length} tokens"
        + (" (TF-IDF summarization of long values)" if cfg.summarize else ""),
        f"- attributes: {', '.join(attrs) if attrs else 'all, in record order'}",
        f"- decision threshold: {cfg.threshold:.4f} ({how})"
        + (
            ""
            if cfg.link_threshold is None
            else f"; for one-to-one linkage {cfg.link_threshold:.4f} (tuned on validation "
            "linkage F1; `bem link --one-to-one` uses it)"
        ),
        *_cascade_line(training.get("cascade") or {}),
        *_blocking_line(cfg.blocking),
        f"- bem version: {cfg.bem_version}",
        "",
        "## Training data",
        "",
    ]
    if training:
        lines += _training_lines(training, data)
    else:
        lines.append("Not fine-tuned (the classification head is untrained).")
    lines += ["", "## Validation metrics", ""]
    if label_free and cfg.metrics:
        lines += ["On the held-out self-supervised pairs, not on labelled data.", ""]
    if cfg.metrics:
        lines += ["| metric | value |", "|---|---|"]
        lines += [
            f"| {k} | {v:.4f} |" if isinstance(v, float) else f"| {k} | {v} |"
            for k, v in cfg.metrics.items()
        ]
    else:
        lines.append("None recorded.")
    return "\n".join(lines) + "\n"


def write_matcher_dir(
    path: str | Path,
    *,
    config: MatcherConfig,
    model: Any,
    tokenizer: Any,
    summarizer: TfidfSummarizer | None = None,
    data: str | None = None,
    cascade: Cascade | None = None,
    overwrite: bool = False,
) -> Path:
    """Write a matcher directory at ``path`` and return it.

    ``config.encoder`` is refreshed from ``model.config``; ``data`` (a line
    describing the training data) goes into the model card.

    Raises:
        FileExistsError: ``path`` exists and is not empty, and ``overwrite`` is False.
    """
    from safetensors.torch import save_file

    path = Path(path)
    if path.exists() and (not path.is_dir() or any(path.iterdir())) and not overwrite:
        raise FileExistsError(
            f"{path} exists and is not empty; pass overwrite=True to replace it "
            "or choose another directory"
        )
    path.mkdir(parents=True, exist_ok=True)
    config.encoder = model.config.to_dict()
    config.save_pretrained(path)
    state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    save_file(state, str(path / WEIGHTS), metadata={"format": "pt", "bem": config.bem_version})
    tokenizer.save_pretrained(path)
    if summarizer is not None:
        (path / SUMMARIZER).write_text(json.dumps(summarizer.to_dict()), encoding="utf-8")
    elif (path / SUMMARIZER).exists():
        (path / SUMMARIZER).unlink()
    if cascade is not None:
        cascade.save(path)
    elif (path / CASCADE_FILE).exists():
        (path / CASCADE_FILE).unlink()
    (path / "README.md").write_text(_model_card(config, data), encoding="utf-8")
    logger.info("saved matcher to %s", path)
    return path


def read_matcher_dir(path: str | Path) -> SavedMatcher:
    """Read a directory written by :func:`write_matcher_dir` (weights in fp32;
    the cascade is ``None`` without ``cascade.json``, as in older directories).

    Raises:
        BemError: ``path`` is not a BEM matcher directory, or its
            ``cascade.json`` is damaged.
    """
    import torch
    from safetensors.torch import load_file
    from transformers import AutoTokenizer

    from matcher.config import MatcherConfig
    from matcher.heads import model_from_config

    path = Path(path)
    cfg_file = path / "config.json"
    hint = "save one with Matcher.save_pretrained(dir) or `bem train`"
    if not path.is_dir() or not cfg_file.is_file():
        raise BemError(f"{path} is not a BEM matcher directory (no config.json); {hint}")
    try:
        raw = json.loads(cfg_file.read_text(encoding="utf-8"))
    except json.JSONDecodeError as err:
        raise BemError(f"{cfg_file} is not valid JSON ({err}); {hint}") from err
    if raw.get("model_type") != MODEL_TYPE:
        raise BemError(
            f"{path} is not a BEM matcher directory: config.json has model_type "
            f"{raw.get('model_type')!r}, not {MODEL_TYPE!r}; to fine-tune a plain "
            f"transformer use Matcher(model={str(path)!r}).fit(...); {hint}"
        )
    if not (path / WEIGHTS).is_file():
        raise BemError(f"{path} has no {WEIGHTS}; the directory is incomplete; {hint}")
    cfg = MatcherConfig.from_pretrained(path)
    if cfg.pooling not in POOLINGS:
        raise BemError(
            f"{cfg_file}: pooling {cfg.pooling!r} is not one of {', '.join(POOLINGS)}; "
            f"the file is damaged or from a newer BEM; {hint}"
        )
    with quiet_transformers():
        tokenizer = AutoTokenizer.from_pretrained(path)
        model = model_from_config(cfg.encoder_config(), pooling=cfg.pooling)
    missing, unexpected = model.load_state_dict(load_file(str(path / WEIGHTS)), strict=False)
    if missing or unexpected:
        raise BemError(
            f"{path / WEIGHTS} does not fit config.json (missing {missing[:5]}, "
            f"unexpected {unexpected[:5]}); the directory is damaged; {hint}"
        )
    summarizer = None
    if (path / SUMMARIZER).is_file():
        summarizer = TfidfSummarizer.from_dict(json.loads((path / SUMMARIZER).read_text("utf-8")))
    model.to(torch.float32)
    cascade = Cascade.load(path) if (path / CASCADE_FILE).is_file() else None
    return SavedMatcher(
        config=cfg, model=model, tokenizer=tokenizer, summarizer=summarizer, cascade=cascade
    )
