"""A first model from the user's own tables, without a single label."""

from bem.labelfree.fit import (
    LABEL_FREE_FIT,
    THRESHOLD_RECALL,
    fit_label_free,
    label_free_threshold,
)
from bem.labelfree.pairs import cross_table_pairs, self_supervised_pairs

__all__ = [
    "LABEL_FREE_FIT",
    "THRESHOLD_RECALL",
    "cross_table_pairs",
    "fit_label_free",
    "label_free_threshold",
    "self_supervised_pairs",
]
