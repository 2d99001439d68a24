"""What-if simulation of rule packs (the stage after evaluation): OLD and NEW on the same data, compared.

``simulate`` evaluates both packs (NEW with any parameter overlays), compares them firm by firm and
returns an :class:`Impact`, the content of ``report.json``; ``render_html`` makes the report page;
``parse_sweep`` reads ``name=start:stop:step``.
"""

from mujun.simulate.html import render_html
from mujun.simulate.impact import simulate
from mujun.simulate.model import Impact
from mujun.simulate.sweep import SweepSpec, parse_sweep

__all__ = ["Impact", "SweepSpec", "parse_sweep", "render_html", "simulate"]
