"""The impact report as HTML (stage after the simulation): ``render_html(impact) -> str``.

A minimal, self-contained page with the headline numbers; the full report (charts, Chinese labels,
printable) replaces this function with the same signature.
"""

from __future__ import annotations

from html import escape

from mujun.simulate.model import Impact

__all__ = ["render_html"]


def render_html(impact: Impact) -> str:
    """A self-contained page: the headline table, then report.json's sections as preformatted JSON."""
    h = impact.headline
    rows = [
        ("OLD", f"{impact.baseline.id} {impact.baseline.version} ({impact.baseline.hash[:12]})"),
        ("NEW", f"{impact.candidate.id} {impact.candidate.version} ({impact.candidate.hash[:12]})"),
        ("data", impact.data.hash[:12]),
        ("firms that change tier", f"{h.tier_changes} (up {h.up}, down {h.down}, other {h.other_changes})"),
        (f"{h.worst_tier} firms", f"{h.worst_before} → {h.worst_after} ({h.worst_change:+d})"),
    ]
    if h.electricity_surcharge_change_yuan is not None:
        rows.append(("electricity surcharge (元)", f"{h.electricity_surcharge_before_yuan:,.2f} → "
                                                   f"{h.electricity_surcharge_after_yuan:,.2f} "
                                                   f"({h.electricity_surcharge_change_yuan:+,.2f})"))
    body = "".join(f'<tr><th>{escape(k)}</th><td data-key="{escape(k)}">{escape(v)}</td></tr>' for k, v in rows)
    return ("<!doctype html><html lang=\"zh\"><head><meta charset=\"utf-8\"><title>mujun simulation</title></head>"
            f"<body><h1>{escape(impact.candidate.title)}</h1><table>{body}</table>"
            f"<pre>{escape(impact.model_dump_json(indent=2))}</pre></body></html>")
