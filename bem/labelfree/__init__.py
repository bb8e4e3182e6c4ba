"""A first model from the user's own tables, without a single label."""

from bem.labelfree.fit import LABEL_FREE_FIT, fit_label_free
from bem.labelfree.pairs import self_supervised_pairs

__all__ = ["LABEL_FREE_FIT", "fit_label_free", "self_supervised_pairs"]
