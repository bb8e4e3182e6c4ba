"""Pair serialization, the BERT cross-encoder matcher, training, scoring, save/load.

``import matcher`` is light: torch and transformers are imported when a
:class:`Matcher` first needs them.
"""

from matcher.backbone import default_model_path
from matcher.constants import __version__
from matcher.encoding import EncodedPair, PairEncoder, TfidfSummarizer, TokenLabel
from matcher.evidence import shared_evidence, shared_evidence_mask
from matcher.metrics import MatchMetrics, best_threshold, match_metrics
from matcher.model import Matcher
from matcher.schema import check_schema, parse_renames, rename_columns
from matcher.serializer import PairSerializer, SerializedPair, Span
from matcher.similarity import SimilarityFeatures

__all__ = [
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
    "check_schema",
    "default_model_path",
    "match_metrics",
    "parse_renames",
    "rename_columns",
    "shared_evidence",
    "shared_evidence_mask",
]
