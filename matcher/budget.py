"""The wall-clock budget of a fit (``fit_matcher(max_minutes=...)``).

The first epoch sets the pace: the epochs still planned are cut to those that
end within the budget, and the learning-rate schedule, which reads the planned
epochs, still decays to zero; after each later epoch training stops when one
more would overrun.
"""

from __future__ import annotations

import logging
import math
import time

__all__ = ["budgeted_epochs", "epochs_within"]

logger = logging.getLogger(__name__)


def epochs_within(budget_s: float, elapsed_s: float, epoch_s: float, planned: int) -> int:
    """How many epochs of ``planned`` end within ``budget_s``, one already run.

    ``elapsed_s`` is the time spent so far (the first epoch included) and
    ``epoch_s`` the time an epoch takes; at least the epoch already run.
    """
    more = math.floor(max(0.0, budget_s - elapsed_s) / max(epoch_s, 1e-9))
    return int(max(1, min(planned, 1 + more)))


def budgeted_epochs(
    planned: int, budget_s: float, started: float, epochs_started: float, done: int
) -> int:
    """The epochs to run in all, ``done`` of them run: ``planned`` or fewer, to end in time.

    ``started`` and ``epochs_started`` are ``time.perf_counter`` values of the
    fit's start and of its first epoch's; each epoch's time includes its
    validation. After the first epoch the plan is cut to what fits at its pace;
    after a later one, training stops (``done``) when one more would overrun.
    """
    now = time.perf_counter()
    elapsed, pace = now - started, (now - epochs_started) / done
    fits = epochs_within(budget_s, elapsed, pace, planned) if done == 1 else planned
    if done > 1 and elapsed + pace > budget_s:
        fits = done
    if fits < planned:
        logger.info(
            "max_minutes: %d of %d epochs fit in %.1f min (%.1f spent, %.0f s an epoch)",
            fits, planned, budget_s / 60, elapsed / 60, pace,
        )  # fmt: skip
    return fits
