"""Entity resolution: from scored pairs to the entity table.

:func:`resolve_entities` maps the pairs' record ids to graph nodes (one table
in deduplication, two in linkage), clusters them (:mod:`bem.cluster`, or the
one-to-one assignment of :mod:`bem.linkage`) and builds one row per record with
its entity id, the entity's size and its weakest and strongest scored pair.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from bem.cluster import ClusterMethod, cluster, connected_components
from bem.linkage import one_to_one

__all__ = ["resolve_entities"]


def resolve_entities(
    left: pd.DataFrame,
    right: pd.DataFrame | None,
    lids: np.ndarray,
    rids: np.ndarray,
    probability: np.ndarray,
    *,
    threshold: float,
    method: ClusterMethod = "average",
    one_to_one_links: bool = False,
    sources: tuple[str, str] = ("left", "right"),
) -> tuple[pd.DataFrame, np.ndarray]:
    """Cluster scored pairs into the entity table.

    ``right=None`` means deduplication of ``left``. Returns the entity table
    (one row per record: ``source``, ``id``, ``entity_id``, ``cluster_size``,
    ``min_probability``, ``max_probability``) and, per pair, whether its two
    records ended in the same entity.
    """
    if right is None:
        nodes = pd.DataFrame({"source": sources[0], "id": left.index.astype(str)})
        pos = pd.Series(np.arange(len(left)), index=left.index.astype(str))
        u, v = pos.loc[lids].to_numpy(), pos.loc[rids].to_numpy()
    else:
        nodes = pd.DataFrame(
            {
                "source": [sources[0]] * len(left) + [sources[1]] * len(right),
                "id": list(left.index.astype(str)) + list(right.index.astype(str)),
            }
        )
        lpos = pd.Series(np.arange(len(left)), index=left.index.astype(str))
        rpos = pd.Series(np.arange(len(right)) + len(left), index=right.index.astype(str))
        u, v = lpos.loc[lids].to_numpy(), rpos.loc[rids].to_numpy()
    probability = np.asarray(probability, dtype=float)
    if right is not None and one_to_one_links:
        keep = one_to_one(lids, rids, probability, threshold=threshold)
        labels = connected_components(len(nodes), u[keep], v[keep])
    else:
        labels = cluster(len(nodes), u, v, probability, threshold=threshold, method=method)
    same = (labels[u] == labels[v]).astype(int) if len(u) else np.zeros(0, dtype=int)
    return _entities(nodes, labels, u, v, probability), same


def _entities(
    nodes: pd.DataFrame,
    labels: np.ndarray,
    u: np.ndarray,
    v: np.ndarray,
    probability: np.ndarray,
) -> pd.DataFrame:
    """The entity table: one row per node with cluster size and weakest/strongest pair."""
    n = len(nodes)
    sizes = np.bincount(labels, minlength=labels.max() + 1 if n else 0)
    inside = labels[u] == labels[v] if len(u) else np.zeros(0, dtype=bool)
    k = sizes.shape[0]
    lo = np.full(k, np.nan)
    hi = np.full(k, np.nan)
    if inside.any():
        lab = labels[u[inside]]
        p = probability[inside]
        frame = pd.DataFrame({"lab": lab, "p": p}).groupby("lab")["p"].agg(["min", "max"])
        lo[frame.index.to_numpy()] = frame["min"].to_numpy()
        hi[frame.index.to_numpy()] = frame["max"].to_numpy()
    width = max(len(str(k)), 1)
    return pd.DataFrame(
        {
            "source": nodes["source"].to_numpy(),
            "id": nodes["id"].to_numpy(),
            "entity_id": [f"e{lab:0{width}d}" for lab in labels],
            "cluster_size": sizes[labels],
            "min_probability": lo[labels],
            "max_probability": hi[labels],
        }
    )
