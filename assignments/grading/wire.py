"""Plain data across the sandbox boundary: what may cross, how it is written, how it is checked.

Both kernels use this module: the checker sends the arguments of a call, the
student's kernel sends back the result. Only these cross, as JSON:

- ``None``, ``bool``, ``int`` (at most 128 bits), ``float`` (NaN and inf
  included), ``str``;
- ``list``, ``tuple`` and ``dict`` with ``str`` keys, nested at most
  ``MAX_DEPTH`` deep;
- NumPy arrays (exactly ``numpy.ndarray``, no subclass) and NumPy scalars of a
  bool, integer or float dtype, sent as raw little-endian bytes.

Anything else (objects, functions, generators, masked arrays, ``np.matrix``,
object or string arrays) is refused where it is sent, with a message naming the
type; a malformed or oversized message is refused where it arrives
(``WireError``). Decoding builds fresh objects from the bytes only, so nothing a
student defines (a subclass, a lying ``__eq__``, ``__array_function__``) can
arrive in the checker.
"""

from __future__ import annotations

import base64
import json
import math

import numpy as np

MAX_BYTES = 64 * 2**20  # one message, as JSON text
MAX_DEPTH = 16
MAX_ITEMS = 2_000_000  # containers' entries plus array elements, per message
MAX_STR = 1_000_000
MAX_INT_BITS = 128
DTYPES = frozenset(
    ["bool", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64"]
    + ["float16", "float32", "float64"]
)
_TAGS = ("list", "tuple", "dict", "array", "scalar")


class WireError(ValueError):
    """A message that is not plain data of the allowed kinds and sizes."""


class Unsendable(TypeError):
    """A value that cannot be sent (not plain data)."""


def _dtype_name(dtype: np.dtype) -> str:
    name = dtype.name
    if name not in DTYPES:
        raise Unsendable(
            f"a NumPy array or scalar of dtype {dtype} cannot be sent: only bool, integer and "
            "float dtypes can (convert with .astype(float), or return plain numbers)"
        )
    return name


def _bytes_of(a: np.ndarray) -> str:
    little = a.astype(a.dtype.newbyteorder("<"), copy=False)
    return base64.b64encode(np.ascontiguousarray(little).tobytes()).decode("ascii")


def encode(obj, _depth: int = 0):
    """``obj`` as a JSON-able structure; ``Unsendable`` for anything that is not plain data."""
    if _depth > MAX_DEPTH:
        raise Unsendable(f"data nested more than {MAX_DEPTH} deep cannot be sent")
    kind = type(obj)
    if obj is None or kind is bool or kind is str:
        if kind is str and len(obj) > MAX_STR:
            raise Unsendable(f"a string of {len(obj):,} characters is too long to send")
        return obj
    if kind is int:
        if obj.bit_length() > MAX_INT_BITS:
            raise Unsendable(f"an integer of {obj.bit_length()} bits is too large to send")
        return obj
    if kind is float:
        return obj
    if kind is list or kind is tuple:
        return {kind.__name__: [encode(v, _depth + 1) for v in obj]}
    if kind is dict:
        if not all(type(k) is str for k in obj):
            raise Unsendable("a dict can be sent only if all its keys are strings")
        return {"dict": [[k, encode(v, _depth + 1)] for k, v in obj.items()]}
    if kind is np.ndarray:
        return {"array": [_dtype_name(obj.dtype), list(obj.shape), _bytes_of(obj)]}
    if isinstance(obj, np.generic) and type(obj).__module__ == "numpy":
        return {"scalar": [_dtype_name(obj.dtype), _bytes_of(np.asarray(obj))]}
    raise Unsendable(
        f"a value of type {kind.__module__}.{kind.__qualname__} cannot be sent: only numbers, "
        "strings, None, lists, tuples, dicts with string keys and NumPy arrays of numbers or "
        "bools can (a generator or map: wrap it in list(...); a masked array or np.matrix: "
        "np.asarray(...))"
    )


class _Budget:
    def __init__(self) -> None:
        self.items = 0

    def spend(self, n: int) -> None:
        self.items += n
        if self.items > MAX_ITEMS:
            raise WireError(f"more than {MAX_ITEMS:,} values in one message")


def _decode_array(spec, budget: _Budget, scalar: bool):
    if scalar:
        if not (isinstance(spec, list) and len(spec) == 2):
            raise WireError("malformed scalar")
        name, data = spec
        shape = []
    else:
        if not (isinstance(spec, list) and len(spec) == 3):
            raise WireError("malformed array")
        name, shape, data = spec
    if not isinstance(name, str) or name not in DTYPES:
        raise WireError(f"dtype {name!r} is not allowed")
    if not (
        isinstance(shape, list)
        and len(shape) <= 32
        and all(type(n) is int and 0 <= n <= MAX_ITEMS for n in shape)
    ):
        raise WireError("malformed array shape")
    if not isinstance(data, str):
        raise WireError("malformed array data")
    size = math.prod(shape)
    budget.spend(size)
    dtype = np.dtype(name).newbyteorder("<")
    try:
        raw = base64.b64decode(data.encode("ascii"), validate=True)
    except (ValueError, UnicodeEncodeError) as err:
        raise WireError("array data is not base64") from err
    if len(raw) != size * dtype.itemsize:
        raise WireError("array data does not match its shape and dtype")
    out = np.frombuffer(raw, dtype=dtype).astype(np.dtype(name), copy=True).reshape(shape)
    return out[()] if scalar else out


def decode(data, _depth: int = 0, _budget: _Budget | None = None):
    """The Python/NumPy value a structure from ``encode`` describes; ``WireError`` if malformed."""
    budget = _budget if _budget is not None else _Budget()
    if _depth > MAX_DEPTH + 1:
        raise WireError(f"data nested more than {MAX_DEPTH} deep")
    kind = type(data)
    if data is None or kind is bool or kind is float:
        return data
    if kind is int:
        if data.bit_length() > MAX_INT_BITS:
            raise WireError("integer too large")
        return data
    if kind is str:
        if len(data) > MAX_STR:
            raise WireError("string too long")
        return data
    if kind is not dict or len(data) != 1:
        raise WireError(f"unexpected {kind.__name__} in a message")
    ((tag, body),) = data.items()
    if tag not in _TAGS:
        raise WireError(f"unknown tag {tag!r}")
    if tag in ("array", "scalar"):
        return _decode_array(body, budget, scalar=tag == "scalar")
    if not isinstance(body, list):
        raise WireError(f"malformed {tag}")
    budget.spend(len(body))
    if tag == "dict":
        out = {}
        for pair in body:
            if not (isinstance(pair, list) and len(pair) == 2 and type(pair[0]) is str):
                raise WireError("malformed dict entry")
            out[pair[0]] = decode(pair[1], _depth + 1, budget)
        return out
    values = [decode(v, _depth + 1, budget) for v in body]
    return tuple(values) if tag == "tuple" else values


def dumps(message: dict) -> str:
    """A message (a dict of plain JSON values) as text, refusing what is too large."""
    text = json.dumps(message, separators=(",", ":"))
    if len(text) > MAX_BYTES:
        raise Unsendable(
            f"the data is {len(text) / 2**20:.0f} MiB; at most {MAX_BYTES / 2**20:.0f} MiB can be "
            "sent at once"
        )
    return text


def loads(text) -> dict:
    """A message from ``dumps``, checked for size and shape (not yet ``decode``-d)."""
    if not isinstance(text, str) or len(text) > MAX_BYTES:
        raise WireError("message missing or too large")
    try:
        message = json.loads(text)
    except (ValueError, RecursionError) as err:
        raise WireError(f"message is not JSON ({err})") from None
    if not isinstance(message, dict):
        raise WireError("message is not a JSON object")
    return message


def arrays_in(value) -> list[np.ndarray]:
    """The ``numpy.ndarray`` objects inside plain data, in a fixed (depth-first) order."""
    found: list[np.ndarray] = []
    stack = [value]
    while stack:
        v = stack.pop()
        if type(v) is np.ndarray:
            found.append(v)
        elif type(v) in (list, tuple):
            stack.extend(reversed(v))
        elif type(v) is dict:
            stack.extend(reversed(list(v.values())))
    return found
