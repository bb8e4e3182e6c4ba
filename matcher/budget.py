"""The wall-clock budget of a fit (``fit_matcher(max_minutes=...)``).

The first epoch sets the pace: the epochs still planned are cut to those that
end within the budget, so the learning-rate schedule, which reads the plan's
total steps, still decays to zero; after each later epoch training stops when
one more would overrun.
"""

from __future__ import annotations

import logging
import math
import time
from typing import Any

__all__ = ["epochs_within", "over_budget"]

logger = logging.getLogger(__name__)


def epochs_within(budget_s: float, elapsed_s: float, epoch_s: float, planned: int) -> int:
    """How many epochs of ``planned`` end within ``budget_s``, one already run.

    ``elapsed_s`` is the time spent so far (the first epoch included) and
    ``epoch_s`` the time an epoch takes; at least the epoch already run.
    """
    more = math.floor(max(0.0, budget_s - elapsed_s) / max(epoch_s, 1e-9))
    return int(max(1, min(planned, 1 + more)))


def over_budget(
    plan: dict[str, Any],
    budget_s: float,
    started: float,
    done: int,
    bar: Any,
) -> bool:
    """After an epoch: fit the epochs still planned to the budget; True to stop now.

    ``plan`` holds the planned ``epochs``, the schedule's ``total`` steps,
    ``steps`` an epoch and when the epochs started (``epochs_started``, a
    ``time.perf_counter`` value; the fit started at ``started``); ``done``
    epochs have run, each with its validation. After the first, ``epochs`` and
    ``total`` are cut to what fits (the learning-rate schedule reads
    ``total``), and ``cut`` is set when the budget bound. ``bar`` is the
    progress bar, its total kept in step.
    """
    if done >= plan["epochs"]:
        return False
    now = time.perf_counter()
    elapsed, pace = now - started, (now - plan["epochs_started"]) / done
    if done == 1:
        fits = epochs_within(budget_s, elapsed, pace, plan["epochs"])
        if fits < plan["epochs"]:
            logger.info(
                "max_minutes: %d of %d epochs fit in %.1f min at %.0f s an epoch",
                fits, plan["epochs"], budget_s / 60, pace,
            )  # fmt: skip
            plan.update(epochs=fits, total=plan["steps"] * fits, cut=True)
            bar.total = plan["total"]
            bar.refresh()
    if done < plan["epochs"] and elapsed + pace > budget_s:
        logger.info("max_minutes: stopping after epoch %d (%.1f min spent)", done, elapsed / 60)
        plan["cut"] = True
        return True
    return False
