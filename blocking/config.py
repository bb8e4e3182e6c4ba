"""Blockers as JSON: what a model directory stores of the blocker tuned for it.

:func:`blocker_to_config` writes a :class:`~blocking.fuzzy.FuzzyBlocker`, or a
:class:`~blocking.union.UnionBlocker` of them (what :func:`~blocking.tune_blocker`
returns), as a plain dict; :func:`blocker_from_config` builds the same blocker
back. Only the settings that decide which pairs come out are stored (key
attributes and normalizers, scorer, ``top_k``, index, symmetry, cutoff); the ones
that bound work or memory (``chunk_pairs``, ``workers``, ``progress``) are the
reader's. A blocker with a normalizer that has no name (a user's own callable)
cannot be stored: :func:`blocker_to_config` says so rather than store a blocker
that would come back different.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from blocking.base import Blocker
from blocking.fuzzy import FuzzyBlocker
from blocking.normalize import _NAMED, Key, StopTokens, normalizer
from blocking.union import UnionBlocker
from data.errors import BemError

__all__ = [
    "CONFIG_VERSION",
    "blocker_from_config",
    "blocker_to_config",
    "config_attributes",
    "describe_config",
    "fuzzy_options",
]

CONFIG_VERSION = 1
"""The version of the stored layout (``"version"`` in the dict)."""

_FUZZY_FIELDS = (
    "top_k",
    "scorer",
    "score_cutoff",
    "symmetric",
    "index",
    "q",
    "max_df",
    "max_postings",
    "word_pairs",
)


def _normalizer_name(spec: Any) -> str:
    if isinstance(spec, StopTokens):
        if spec.max_df != StopTokens().max_df:
            raise ValueError(f"cannot store {spec!r}: only the default StopTokens has a name")
        return "stop"
    for name, make in _NAMED.items():
        if name != "stop" and make() is spec:
            return name
    raise ValueError(f"cannot store the normalizer {spec!r}: only named normalizers can be saved")


def _fuzzy_to_config(blocker: FuzzyBlocker) -> dict[str, Any]:
    return {
        "type": "fuzzy",
        "name": blocker.name,
        "attributes": list(blocker.key.attributes),
        "normalizers": [_normalizer_name(n) for n in blocker.key.normalizers],
        **{f: getattr(blocker, f) for f in _FUZZY_FIELDS},
    }


def blocker_to_config(blocker: Blocker) -> dict[str, Any]:
    """A JSON-ready dict of a fuzzy blocker or a union of fuzzy blockers.

    Raises:
        ValueError: another kind of blocker, or a normalizer without a name.
    """
    if isinstance(blocker, FuzzyBlocker):
        parts = [_fuzzy_to_config(blocker)]
        name = None
    elif isinstance(blocker, UnionBlocker) and all(
        isinstance(b, FuzzyBlocker) for b in blocker.blockers
    ):
        parts = [_fuzzy_to_config(b) for b in blocker.blockers]
        name = blocker.name
    else:
        raise ValueError(
            f"only fuzzy blockers and unions of them can be stored, got {type(blocker).__name__}"
        )
    return {"version": CONFIG_VERSION, "blockers": parts, "union_name": name}


def fuzzy_options(part: Mapping[str, Any]) -> dict[str, Any]:
    """One stored fuzzy blocker as keyword arguments: ``key`` (a :class:`Key`),
    ``name`` and the options that decide its pairs (what :class:`FuzzyBlocker`
    and an engine's blocker with the same options take)."""
    if part.get("type") != "fuzzy":
        raise BemError(f"stored blocker of unknown type {part.get('type')!r}")
    for name in part.get("normalizers", []):
        normalizer(name)  # a clear error for an unknown name
    return {
        "key": Key(part["attributes"], normalizers=part.get("normalizers", [])),
        "name": part.get("name"),
        **{f: part[f] for f in _FUZZY_FIELDS if f in part},
    }


def config_attributes(config: Mapping[str, Any]) -> list[str]:
    """Every attribute a stored blocker keys on, in order, each once."""
    seen: list[str] = []
    for part in config.get("blockers", []):
        seen += [a for a in part.get("attributes", []) if a not in seen]
    return seen


def _fuzzy_from_config(part: Mapping[str, Any], progress: bool) -> FuzzyBlocker:
    return FuzzyBlocker(progress=progress, **fuzzy_options(part))


def blocker_from_config(config: Mapping[str, Any], *, progress: bool = True) -> Blocker:
    """The blocker a :func:`blocker_to_config` dict describes.

    Raises:
        BemError: a dict this version cannot read (the model directory's
            ``config.json`` is damaged or newer than this BEM).
    """
    version = config.get("version")
    if version != CONFIG_VERSION:
        raise BemError(
            f"stored blocker has layout version {version!r}; this BEM reads version "
            f"{CONFIG_VERSION} (upgrade BEM, or block with --key)"
        )
    parts = config.get("blockers") or []
    if not parts:
        raise BemError("stored blocker lists no blockers")
    try:
        blockers = [_fuzzy_from_config(p, progress) for p in parts]
    except (KeyError, TypeError, ValueError) as err:
        raise BemError(f"stored blocker cannot be read: {err}") from None
    if len(blockers) == 1:
        return blockers[0]
    return UnionBlocker(blockers, name=config.get("union_name"))


def describe_config(config: Mapping[str, Any]) -> str:
    """One line: ``title token_set_ratio k=5 | model ratio k=3``."""
    return " | ".join(
        f"{'+'.join(p['attributes'])} {p.get('scorer', 'token_set_ratio')} k={p.get('top_k')}"
        for p in config.get("blockers", [])
    )
