"""Model-number-like codes in values: what counts as one, and one spelling of it.

A *code* is a run of letters and digits, mixed, of at least 3 characters once
its inner separators (``-``, ``/``) are dropped: ``WH-1000XM4``, ``KDL40V5100``,
``SD-16GB``; a point stays (``3.5mm`` and ``35mm`` are not one code). Product
records spell one code several ways (``KDL-40V5100``, ``KDL40V5100``), and a
WordPiece tokenizer splits the spellings into different pieces (``40`` against
``##40``), so a matcher reading the text sees two codes. :func:`join_codes`
writes each code without its separators, so both spellings tokenize alike;
:mod:`matcher.similarity` finds codes with the same pattern.
"""

from __future__ import annotations

import re

__all__ = ["CODE", "is_code", "join_codes"]

CODE = re.compile(r"[^\W_]+(?:[-/.][^\W_]+)*")
"""A run of letters and digits with single ``-``, ``/`` or ``.`` inside."""

_SEPARATORS = str.maketrans("", "", "-/")
_DIGIT = re.compile(r"\d")


def is_code(token: str) -> bool:
    """At least 3 characters, letters and digits mixed (``token`` is alphanumeric)."""
    return len(token) >= 3 and not token.isdigit() and not token.isalpha()


def join_codes(text: str) -> str:
    """``text`` with every code written without its inner separators.

    ``"Sony KDL-40V5100 40in"`` -> ``"Sony KDL40V5100 40in"``. Numbers (``15.6``,
    ``1-800``: no letter), words (``e-mail``: no digit) and points (``3.5mm``,
    ``2.4GHz``) are left as they are, as is everything between codes; case is kept.
    """
    if not _DIGIT.search(text):
        return text

    def joined(match: re.Match[str]) -> str:
        word = match.group(0)
        bare = word.translate(_SEPARATORS)
        return bare if bare != word and is_code(bare) else word

    return CODE.sub(joined, text)
