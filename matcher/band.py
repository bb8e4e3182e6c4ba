"""The cascade's decision band: which cheap probabilities are sure enough to decide.

A band ``[low, high]`` decides a pair "no match" when its cheap P(match) is
below ``low`` and "match" when it is above ``high`` and the pair shares
evidence; every other pair is left to the cross-encoder. :func:`tune_band`
picks the band that decides the most validation pairs while the F1 of the
combined decisions stays within a tolerance of the cross-encoder's alone.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

__all__ = ["Band", "tune_band"]


@dataclass(frozen=True)
class Band:
    """A tuned band and what it did on the validation pairs.

    Attributes:
        low, high: decide "no match" below ``low``, "match" above ``high``
            (``low=0, high=1`` decides nothing).
        f1: validation F1 of the combined decisions.
        f1_cross_encoder: validation F1 of the cross-encoder alone.
        decided_share: share of the validation pairs the band decides.
        decided_match, decided_non_match: how many it decides each way.
        n: validation pairs.
        reason: why the band decides nothing, when it does not.
    """

    low: float
    high: float
    f1: float
    f1_cross_encoder: float
    decided_share: float
    decided_match: int
    decided_non_match: int
    n: int
    reason: str = ""

    @property
    def enabled(self) -> bool:
        """Whether the band can decide anything."""
        return self.low > 0.0 or self.high < 1.0

    def decide(self, proba: np.ndarray, evidence: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(decided, decision)`` of cheap probabilities: decision 1/0 where decided, else -1."""
        negative = proba < self.low
        positive = (proba > self.high) & evidence & ~negative
        decision = np.full(len(proba), -1, dtype=np.int8)
        decision[negative] = 0
        decision[positive] = 1
        return negative | positive, decision

    def describe(self) -> str:
        if not self.enabled:
            return f"decides nothing ({self.reason})"
        return (
            f"band [{self.low:.4f}, {self.high:.4f}] decides {self.decided_share:.1%} of "
            f"{self.n} validation pairs ({self.decided_match} match, {self.decided_non_match} "
            f"no match); validation F1 {self.f1:.4f}, cross-encoder alone "
            f"{self.f1_cross_encoder:.4f}"
        )

    def to_dict(self) -> dict:
        return {"enabled": self.enabled, **asdict(self)}

    @classmethod
    def from_dict(cls, data: dict) -> Band:
        fields = {k: v for k, v in data.items() if k != "enabled"}
        band = cls(**fields)
        if not 0.0 <= band.low <= band.high <= 1.0:
            raise ValueError(f"band [{band.low}, {band.high}] is not inside [0, 1] in order")
        return band


def _f1(tp: np.ndarray, fp: np.ndarray, fn: np.ndarray) -> np.ndarray:
    denominator = 2 * tp + fp + fn
    return np.where(denominator > 0, 2 * tp / np.maximum(denominator, 1), 0.0)


def _cut_points(sorted_p: np.ndarray, max_cuts: int) -> np.ndarray:
    """Positions ``i`` where ``sorted_p[:i]`` / ``sorted_p[i:]`` splits ties apart."""
    n = len(sorted_p)
    cuts = np.r_[0, np.flatnonzero(sorted_p[1:] != sorted_p[:-1]) + 1, n]
    if len(cuts) > max_cuts:
        cuts = np.unique(cuts[np.linspace(0, len(cuts) - 1, max_cuts).round().astype(int)])
    return cuts


def _between(sorted_p: np.ndarray, i: int, *, low: bool) -> float:
    """A threshold at cut ``i``: ``p < t`` holds for the first ``i`` (``low``),
    ``p > t`` for the others (``not low``)."""
    n = len(sorted_p)
    if i == 0:
        return 0.0 if low else float(sorted_p[0]) / 2
    if i == n:
        top = float(sorted_p[-1])
        return (top + 1.0) / 2 if low and top < 1.0 else 1.0
    a, b = float(sorted_p[i - 1]), float(sorted_p[i])
    mid = a + (b - a) / 2
    if low:
        return mid if a < mid <= b else b
    return mid if a <= mid < b else a


def tune_band(
    labels: np.ndarray,
    cheap: np.ndarray,
    cross: np.ndarray,
    threshold: float,
    *,
    evidence: np.ndarray | None = None,
    tolerance: float = 0.005,
    max_cuts: int = 600,
) -> Band:
    """The widest band whose combined validation F1 stays within ``tolerance``.

    Args:
        labels: 0/1 validation labels.
        cheap: the cheap model's P(match) of the validation pairs.
        cross: the cross-encoder's P(match) of the same pairs.
        threshold: the cross-encoder's decision threshold.
        evidence: whether each pair shares evidence (a match is decided only
            then); ``None``: every pair does.
        tolerance: the most F1 the combined decisions may lose.
        max_cuts: candidate cut points per end of the band (quantiles of
            ``cheap`` beyond it); the search is ``max_cuts**2``.

    Returns:
        the band that decides the most pairs among those keeping F1 (the higher
        F1 on a tie); ``[0, 1]`` (decides nothing) when none does or when the
        validation pairs hold no match.
    """
    y = np.asarray(labels).astype(bool)
    cheap, cross = np.asarray(cheap, dtype=float), np.asarray(cross, dtype=float)
    n = len(y)
    if not (len(cheap) == len(cross) == n):
        raise ValueError(
            f"got {n} labels, {len(cheap)} cheap and {len(cross)} cross-encoder scores"
        )
    e = np.ones(n, dtype=bool) if evidence is None else np.asarray(evidence, dtype=bool)
    c = cross >= threshold
    tp_c, fp_c, fn_c = (c & y).sum(), (c & ~y).sum(), (~c & y).sum()
    base = float(_f1(np.array(tp_c), np.array(fp_c), np.array(fn_c)))

    def nothing(reason: str) -> Band:
        return Band(0.0, 1.0, base, base, 0.0, 0, 0, n, reason)

    if n == 0 or not y.any():
        return nothing("the validation pairs hold no match")
    order = np.argsort(cheap, kind="stable")
    p, y, e, c = cheap[order], y[order], e[order], c[order]

    def cum(mask: np.ndarray) -> np.ndarray:
        return np.r_[0, np.cumsum(mask)]

    pos, tpc, fpc, fnc = cum(y), cum(c & y), cum(c & ~y), cum(~c & y)
    ev_tp, ev_fp, ev = cum(e & y), cum(e & ~y), cum(e)
    ev_tpc, ev_fpc, ev_fnc = cum(c & y & e), cum(c & ~y & e), cum(~c & y & e)
    cuts = _cut_points(p, max_cuts)
    i, j = cuts[:, None], cuts[None, :]  # decide [0, i) no match, [j, n) with evidence match
    # [j, n): evidence pairs decided match, the others keep the cross-encoder's decision
    tp_hi = ev_tp[n] - ev_tp[j]
    fp_hi = ev_fp[n] - ev_fp[j]
    rest_tp = (tpc[n] - tpc[j]) - (ev_tpc[n] - ev_tpc[j])
    rest_fp = (fpc[n] - fpc[j]) - (ev_fpc[n] - ev_fpc[j])
    rest_fn = (fnc[n] - fnc[j]) - (ev_fnc[n] - ev_fnc[j])
    tp = (tpc[j] - tpc[i]) + tp_hi + rest_tp
    fp = (fpc[j] - fpc[i]) + fp_hi + rest_fp
    fn = pos[i] + (fnc[j] - fnc[i]) + rest_fn
    f1 = _f1(tp, fp, fn)
    decided = i + (ev[n] - ev[j])
    ok = (i <= j) & (f1 >= base - tolerance - 1e-12)
    score = np.where(ok, decided * 2.0 + f1, -1.0)  # most decided, then higher F1
    a, b = np.unravel_index(int(np.argmax(score)), score.shape)
    i_best, j_best = int(cuts[a]), int(cuts[b])
    if decided[a, b] == 0:
        return nothing(f"no band keeps validation F1 within {tolerance} of the cross-encoder's")
    return Band(
        low=_between(p, i_best, low=True),
        high=_between(p, j_best, low=False),
        f1=float(f1[a, b]),
        f1_cross_encoder=base,
        decided_share=float(decided[a, b]) / n,
        decided_match=int(ev[n] - ev[j_best]),
        decided_non_match=i_best,
        n=n,
    )
