"""Record tables, labelled pairs, loaders, validation and synthetic data."""

from data.errors import BemError
from data.pairs import Record, RecordPairs, load_pairs, validate_pairs

__all__ = ["BemError", "Record", "RecordPairs", "load_pairs", "validate_pairs"]
