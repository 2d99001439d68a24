"""Numbers as the oracle rounds and writes them: exact decimal arithmetic, no binary shortcuts.

A float is rounded as the decimal it reads as (its shortest round-trip text: 1.005 is 1.005, not
the binary 1.00499999…), half away from zero, as a person rounds the figure on the form; it is written with the fewest digits that read back as the same float — positional from 0.00001 up to
10¹⁶, in scientific notation beyond ("1e-7", "1e+16").
"""

from __future__ import annotations

import math
from decimal import ROUND_FLOOR, ROUND_HALF_UP, Decimal


def round_half_away(value: float, digits: int) -> float:
    """``value`` to ``digits`` decimals, a half going away from zero (四舍五入).

    >>> round_half_away(2.5, 0), round_half_away(-2.5, 0), round_half_away(0.125, 2)
    (3.0, -3.0, 0.13)
    """
    if not math.isfinite(value):
        return value
    return float(Decimal(repr(float(value))).quantize(Decimal(1).scaleb(-digits), rounding=ROUND_HALF_UP))


def floor_forgiving(value: float, decimals: int = 9) -> int:
    """Whole units of a share, forgiving binary noise: rounded to ``decimals`` first, then floored,
    so 69.99999999999999 is 70 units."""
    return int(Decimal(round_half_away(value, decimals)).to_integral_value(rounding=ROUND_FLOOR))


def float_text(value: float) -> str:
    """A float as written in an error message.

    >>> float_text(-3.0), float_text(0.000025), float_text(1e-7), float_text(1e16)
    ('-3.0', '0.000025', '1e-7', '1e+16')
    """
    text = repr(float(value))
    if value != 0 and not 1e-5 <= abs(value) < 1e16:
        mantissa, _, exponent = text.partition("e")
        return f"{mantissa}e{'-' if exponent.startswith('-') else '+'}{exponent.lstrip('+-').lstrip('0')}"
    if "e" in text:  # Python writes 0.000025 as 2.5e-05
        text = format(Decimal(text), "f")
    return text if "." in text else text + ".0"


def message_number(value: float, digits: int) -> str:
    """A number in a check's message: rounded to ``digits``, a whole number without decimals.

    >>> message_number(250.0, 2), message_number(12.345, 2), message_number(0.1 + 0.2, 2)
    ('250', '12.35', '0.3')
    """
    rounded = round_half_away(value, digits)
    if rounded == math.floor(rounded) and abs(rounded) < 1e15:
        return str(int(rounded))
    return float_text(rounded)
