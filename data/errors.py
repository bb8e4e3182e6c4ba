"""The package-level error for problems in user data."""

from __future__ import annotations

__all__ = ["BemError"]


class BemError(ValueError):
    """A problem in user data that the user must fix.

    The message names the file (or table), the row numbers or ids and the column
    concerned, and says how to fix it. It subclasses :class:`ValueError` so that
    callers catching ``ValueError`` also catch it.
    """
