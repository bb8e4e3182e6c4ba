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
        folds: the ``(low, high)`` bands tuned on the two halves when the band
            was cross-fitted (:func:`tune_band`); empty when it was not.
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
    folds: tuple[tuple[float, float], ...] = ()

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

    @property
    def cross_fitted(self) -> bool:
        """Whether the band was chosen by cross-fitting (it records its fold bands)."""
        return bool(self.folds)

    def describe(self) -> str:
        folds = " and ".join(f"[{low:.4f}, {high:.4f}]" for low, high in self.folds)
        folds = f"; cross-fitted from the fold bands {folds}" if folds else ""
        if not self.enabled:
            return f"decides nothing ({self.reason}){folds}"
        return (
            f"band [{self.low:.4f}, {self.high:.4f}] decides {self.decided_share:.1%} of "
            f"{self.n} validation pairs ({self.decided_match} match, {self.decided_non_match} "
            f"no match); validation F1 {self.f1:.4f}, cross-encoder alone "
            f"{self.f1_cross_encoder:.4f}{folds}"
        )

    def to_dict(self) -> dict:
        # folds as lists, as JSON gives them back
        return {"enabled": self.enabled, **asdict(self), "folds": [list(f) for f in self.folds]}

    @classmethod
    def from_dict(cls, data: dict) -> Band:
        fields = {k: v for k, v in data.items() if k != "enabled"}
        # JSON gives lists; a band saved before cross-fitting has no folds
        fields["folds"] = tuple((float(low), float(high)) for low, high in fields.get("folds", ()))
        band = cls(**fields)
        if not 0.0 <= band.low <= band.high <= 1.0:
            raise ValueError(f"band [{band.low}, {band.high}] is not inside [0, 1] in order")
        return band


def _f1(tp: np.ndarray, fp: np.ndarray, fn: np.ndarray) -> np.ndarray:
    denominator = 2 * tp + fp + fn
    return np.where(denominator > 0, 2 * tp / np.maximum(denominator, 1), 0.0)


def _f1_of(y: np.ndarray, predicted: np.ndarray) -> float:
    """F1 of boolean decisions against boolean labels."""
    tp, fp, fn = (predicted & y).sum(), (predicted & ~y).sum(), (~predicted & y).sum()
    return float(_f1(np.array(tp), np.array(fp), np.array(fn)))


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


def _split(y: np.ndarray, seed: int) -> np.ndarray:
    """Fold 0/1 of every pair: each class shuffled with ``seed`` and dealt alternately."""
    rng = np.random.default_rng(seed)
    fold = np.zeros(len(y), dtype=np.int8)
    for cls in (False, True):
        members = rng.permutation(np.flatnonzero(y == cls))
        fold[members[1::2]] = 1
    return fold


def _fit(
    y: np.ndarray,
    cheap: np.ndarray,
    c: np.ndarray,
    e: np.ndarray,
    *,
    tolerance: float,
    max_cuts: int,
) -> Band:
    """The widest band on these pairs alone (``c``: the cross-encoder's decisions)."""
    n, base = len(y), _f1_of(y, c)

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


def _cross_fit(
    y: np.ndarray,
    cheap: np.ndarray,
    c: np.ndarray,
    e: np.ndarray,
    *,
    tolerance: float,
    max_cuts: int,
    seed: int,
) -> Band:
    """The more conservative of two fold bands, kept if it holds on all the pairs."""
    fold = _split(y, seed)
    bands = [
        _fit(y[m], cheap[m], c[m], e[m], tolerance=tolerance / 2, max_cuts=max_cuts)
        for m in (fold == 0, fold == 1)
    ]
    folds = tuple((b.low, b.high) for b in bands)
    low, high = min(b.low for b in bands), max(b.high for b in bands)
    n, base = len(y), _f1_of(y, c)

    def nothing(reason: str) -> Band:
        return Band(0.0, 1.0, base, base, 0.0, 0, 0, n, reason, folds)

    if not (low > 0.0 or high < 1.0):
        why = "; ".join(f"fold {k}: {b.reason}" for k, b in enumerate(bands) if b.reason)
        why = why or "one decides only match, the other only no match"
        return nothing(f"the cross-fitted fold bands decide nothing together ({why})")
    decided, decision = Band(low, high, 0.0, 0.0, 0.0, 0, 0, n).decide(cheap, e)
    f1 = _f1_of(y, np.where(decided, decision == 1, c))
    if f1 < base - tolerance - 1e-12:
        return nothing(
            f"the cross-fitted band [{low:.4f}, {high:.4f}] has validation F1 {f1:.4f}, "
            f"more than {tolerance} below the cross-encoder's {base:.4f}"
        )
    return Band(
        low=low,
        high=high,
        f1=f1,
        f1_cross_encoder=base,
        decided_share=float(decided.mean()),
        decided_match=int((decision == 1).sum()),
        decided_non_match=int((decision == 0).sum()),
        n=n,
        folds=folds,
    )


def tune_band(
    labels: np.ndarray,
    cheap: np.ndarray,
    cross: np.ndarray,
    threshold: float,
    *,
    evidence: np.ndarray | None = None,
    tolerance: float = 0.005,
    max_cuts: int = 600,
    cross_fit: bool = True,
    seed: int = 0,
) -> Band:
    """The band that decides the most validation pairs while keeping F1 within ``tolerance``.

    With ``cross_fit`` (the default) the band is chosen by 2-fold cross-fitting,
    because the widest band on all the validation pairs overfits them (it is
    the best of ``max_cuts**2`` bands, and on Amazon-Google it lost 4 test F1
    points where validation said 0.5): the pairs are split into two halves
    stratified by label (``seed``), the widest band is tuned on each half, and
    the more conservative of the two is taken (the smaller ``low``, the larger
    ``high``: a pair is decided only where both halves would decide it). It is
    kept only if its F1 on all the validation pairs is within ``tolerance`` of
    the cross-encoder's alone; else the band decides nothing.

    Rule: each half is tuned with ``tolerance / 2``. The F1 loss of a band is
    close to additive over the pairs it gets wrong, so the combined band's loss
    on all the pairs is about the mean of its losses on the two halves: tuning
    each half at the full ``tolerance`` would spend all of it on pairs the band
    was chosen on, the optimism that failed on test; half of it leaves the
    other half as margin for pairs the band has not seen, and the final check
    at the full ``tolerance`` guards against the approximation.

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
        cross_fit: choose the band by 2-fold cross-fitting (above); ``False``:
            the widest band on all the validation pairs (the most decided, the
            higher F1 on a tie).
        seed: the random split of the cross-fit.

    Returns:
        the band; ``[0, 1]`` (decides nothing, with a ``reason``) when none
        keeps F1 or when the validation pairs hold no match. A cross-fitted
        band records its two fold bands in ``folds``.
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
    if not cross_fit or n == 0 or not y.any():
        return _fit(y, cheap, c, e, tolerance=tolerance, max_cuts=max_cuts)
    return _cross_fit(y, cheap, c, e, tolerance=tolerance, max_cuts=max_cuts, seed=seed)
