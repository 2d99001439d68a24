"""What-if simulation of rule packs (the stage after evaluation): OLD and NEW on the same data, compared.

``simulate`` evaluates both packs (NEW with any parameter overlays), compares them firm by firm and
returns an :class:`Impact`, the content of ``report.json``; ``pack_diff`` says in an editor's words what
changed between two packs; ``render_html`` makes the report page.
"""

from mujun.simulate.html import render_html
from mujun.simulate.model import Impact

__all__ = ["Impact", "render_html"]
