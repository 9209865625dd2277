"""A panel's settings as a short, URL-safe string: what a "link to these settings" carries.

The string is base64url (no padding) of compact JSON ``[version, panel class name,
{control: value}]``, holding only the controls whose value differs from the
panel's default (never the machine-specific backend). The class name lets a
panel recognise a state made for another panel; the version, one made by a
losskit that stores settings differently. Decoding only parses and checks the
shape: whether the values suit the controls is the panel's job (the same checks
as constructor values).

In Voilà, the page's query string reaches the kernel as the environment variable
``QUERY_STRING`` (voila/handler.py puts it in the kernel's environment; a
pre-heated kernel only gets it through ``voila.utils.get_query_string()``, which
waits for the page, so pre-heated kernels start from the defaults).
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from urllib.parse import parse_qs

import numpy as np

__all__ = ["KEY", "StateError", "decode", "encode", "from_query", "restore"]

#: The query parameter of a panel link: ``?losskit=<state>``.
KEY = "losskit"
VERSION = 1
MAX_LENGTH = 2000  # far above any panel's state; longer is not one of ours
_ALPHABET = re.compile(r"[A-Za-z0-9_-]*")


class StateError(ValueError):
    """A string that is not a usable panel state; the message says why, in words."""


def _plain(value):
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"a control value of type {type(value).__name__} cannot be stored")


def encode(panel: str, values: dict) -> str:
    """The state string of ``values`` (``{control: value}``) for the panel class ``panel``."""
    payload = json.dumps(
        [VERSION, panel, values],
        separators=(",", ":"),
        ensure_ascii=False,
        allow_nan=False,
        default=_plain,
    )
    return base64.urlsafe_b64encode(payload.encode()).rstrip(b"=").decode("ascii")


def decode(state) -> tuple[str, dict]:
    """``(panel class name, {control: value})`` of a state string; :class:`StateError`
    saying what is wrong with anything else."""
    if not isinstance(state, str):
        raise StateError(f"a state is a string, not {type(state).__name__}")
    state = state.strip()
    if not state or len(state) > MAX_LENGTH or not _ALPHABET.fullmatch(state):
        raise StateError("it is not a losskit settings string (cut short or altered?)")
    try:
        raw = base64.urlsafe_b64decode(state + "=" * (-len(state) % 4))
        data = json.loads(raw.decode())
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise StateError("it is not a losskit settings string (cut short or altered?)") from None
    if not (isinstance(data, list) and len(data) == 3 and isinstance(data[0], int)):
        raise StateError("it is not a losskit settings string")
    version, panel, values = data
    if version != VERSION:
        raise StateError(
            f"it was made by another version of losskit (format {version}, this one reads "
            f"{VERSION})"
        )
    if not isinstance(panel, str) or not isinstance(values, dict):
        raise StateError("it is not a losskit settings string")
    return panel, values


def restore(value, default):
    """``value`` as decoded from JSON, back in the type of the control's value (JSON
    has no tuples: a range slider's or multiple selection's list becomes a tuple)."""
    if isinstance(default, tuple) and isinstance(value, list):
        return tuple(value)
    return value


def from_query(query: str | None, panel: str) -> str | None:
    """The state for panel class ``panel`` in a URL query string (``a=1&losskit=...``).

    A state for another panel is ignored (a page may hold several); a value that is no
    state at all is returned, so the panel says the link was broken. ``None``: nothing.
    """
    broken = None
    for state in parse_qs(query or "", keep_blank_values=True).get(KEY, []):
        try:
            owner, _ = decode(state)
        except StateError:
            broken = state
            continue
        if owner == panel:
            return state
    return broken
