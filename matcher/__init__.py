"""Pair serialization, the BERT cross-encoder matcher, training, scoring, save/load.

``import matcher`` is light: torch and transformers are imported when a
:class:`Matcher` first needs them.
"""

from matcher.backbone import default_model_path
from matcher.band import Band, tune_band
from matcher.cascade import Cascade, CascadeContributions, CascadeRouting, fit_cascade
from matcher.codes import join_codes
from matcher.constants import __version__
from matcher.encoding import EncodedPair, PairEncoder, TfidfSummarizer, TokenLabel
from matcher.evidence import shared_evidence, shared_evidence_mask
from matcher.metrics import MatchMetrics, best_threshold, match_metrics
from matcher.model import Matcher
from matcher.schema import check_schema, parse_renames, rename_columns
from matcher.serializer import PairSerializer, SerializedPair, Span
from matcher.similarity import SimilarityFeatures
from matcher.staged import CascadePrediction, check_cascade_threshold, predict_with_cascade

__all__ = [
    "Band",
    "Cascade",
    "CascadeContributions",
    "CascadePrediction",
    "CascadeRouting",
    "EncodedPair",
    "MatchMetrics",
    "Matcher",
    "PairEncoder",
    "PairSerializer",
    "SerializedPair",
    "SimilarityFeatures",
    "Span",
    "TfidfSummarizer",
    "TokenLabel",
    "__version__",
    "best_threshold",
    "check_cascade_threshold",
    "check_schema",
    "default_model_path",
    "fit_cascade",
    "join_codes",
    "match_metrics",
    "parse_renames",
    "predict_with_cascade",
    "rename_columns",
    "shared_evidence",
    "shared_evidence_mask",
    "tune_band",
]
