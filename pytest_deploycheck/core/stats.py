"""Order statistics shared by the live checks and the score."""

from __future__ import annotations

import math
from collections.abc import Sequence

__all__ = ["percentile"]


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (0-100) of ``values``, interpolated linearly like numpy."""
    if not values:
        raise ValueError("percentile() of no values")
    if not 0 <= q <= 100:
        raise ValueError(f"a percentile must be within 0..100 (got {q!r})")
    ordered = sorted(values)
    position = (len(ordered) - 1) * q / 100
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)
