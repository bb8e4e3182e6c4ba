"""Record tables, labelled pairs, loaders, validation and synthetic data."""

from data.csvfile import read_csv_strings
from data.datasets import (
    DedupDataset,
    LinkageDataset,
    MatchingDataset,
    load_dedup,
    load_deepmatcher,
    load_ditto_dir,
    load_linkage,
    normalize_dedup_matches,
)
from data.ditto import load_ditto, parse_ditto_side
from data.errors import BemError
from data.noisy_copy import NOISE_RATES, noisy_copy
from data.pairs import Record, RecordPairs, load_pairs, validate_pairs
from data.synthetic import SyntheticDedup, SyntheticLinkage, make_dedup, make_linkage
from data.table import load_table, validate_table, write_table

__all__ = [
    "NOISE_RATES",
    "BemError",
    "DedupDataset",
    "LinkageDataset",
    "MatchingDataset",
    "Record",
    "RecordPairs",
    "SyntheticDedup",
    "SyntheticLinkage",
    "load_dedup",
    "load_deepmatcher",
    "load_ditto",
    "load_ditto_dir",
    "load_linkage",
    "load_pairs",
    "load_table",
    "make_dedup",
    "make_linkage",
    "noisy_copy",
    "normalize_dedup_matches",
    "parse_ditto_side",
    "read_csv_strings",
    "validate_pairs",
    "validate_table",
    "write_table",
]
