"""How deeply a JSON text nests, measured before it is parsed.

``json.loads`` and pydantic recurse once per level: a 20 kB socket message nested 10,000 levels deep raised
``RecursionError`` and killed its session. Every message and body nnplay accepts nests at most 5 levels
(``{"weights": [{"W": [[...]]}]}``), so anything deeper than :data:`MAX_DEPTH` is refused unparsed.
"""

from __future__ import annotations

import re

import numpy as np

MAX_DEPTH = 32  # levels of [ and { (docs/protocol.md)
_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"')  # a JSON string literal: its brackets do not nest


def nesting_depth(text: str | bytes) -> int:
    """The deepest nesting of ``[``/``{`` outside strings (vectorised: about 1 ms per MB)."""
    raw = text.encode() if isinstance(text, str) else text
    codes = np.frombuffer(_STRING.sub(b'""', raw), dtype=np.uint8)
    steps = ((codes == ord("[")) | (codes == ord("{"))).astype(np.int32)
    steps -= (codes == ord("]")) | (codes == ord("}"))
    return int(np.cumsum(steps).max(initial=0))


def depth_problem(text: str | bytes) -> str | None:
    """Why ``text`` nests too deeply to be parsed, or None."""
    depth = nesting_depth(text)
    if depth <= MAX_DEPTH:
        return None
    return f"JSON nested {depth} levels deep; allowed: at most {MAX_DEPTH} levels"
