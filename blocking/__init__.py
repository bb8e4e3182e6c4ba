"""Candidate generation (blocking) and its metrics."""

from blocking.base import CANDIDATE_COLUMNS, Blocker
from blocking.config import (
    blocker_from_config,
    blocker_to_config,
    config_attributes,
    describe_config,
    fuzzy_options,
)
from blocking.fuzzy import SCORERS, FuzzyBlocker
from blocking.metrics import BlockingMetrics, evaluate_blocking
from blocking.normalize import (
    DEFAULT_NORMALIZERS,
    Key,
    StopTokens,
    alphanumeric_codes,
    fold_accents,
    fold_case,
    join_units,
    sort_tokens,
    strip_punctuation,
)
from blocking.standard import SortedNeighbourhood, StandardBlocker
from blocking.tuning import TuningResult, tune_blocker
from blocking.union import UnionBlocker, union_candidates

__all__ = [
    "CANDIDATE_COLUMNS",
    "DEFAULT_NORMALIZERS",
    "SCORERS",
    "Blocker",
    "BlockingMetrics",
    "FuzzyBlocker",
    "Key",
    "SortedNeighbourhood",
    "StandardBlocker",
    "StopTokens",
    "TuningResult",
    "UnionBlocker",
    "alphanumeric_codes",
    "blocker_from_config",
    "blocker_to_config",
    "config_attributes",
    "describe_config",
    "evaluate_blocking",
    "fold_accents",
    "fold_case",
    "fuzzy_options",
    "join_units",
    "sort_tokens",
    "strip_punctuation",
    "tune_blocker",
    "union_candidates",
]
