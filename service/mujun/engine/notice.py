"""The printable notice (评价结果告知书): one page per firm, made of the explanation's own sentences.

The HTML is a Jinja2 template with autoescaping (a firm's name or a pack label can hold ``<``), one
``<section>`` per firm with a page break after it, so a county prints every firm of a group at once.
Nothing here computes: the sections are the lines of :func:`mujun.engine.explain.explain_row`.
"""

from __future__ import annotations

from typing import Any

import jinja2

__all__ = ["render_notices", "sections"]

_TITLE = {"zh": "评价结果告知书", "en": "Notice of evaluation result"}
_WORDS = {
    "zh": {"firm": "企业", "method": "评价办法", "pack": "规则包", "source": "依据", "result": "评价结果",
           "footer": "本告知书依据上列办法及规则包（版本与内容哈希如上）生成，所列每一数值均可追溯至输入记录与规则。",
           "seal": "（盖章）　　　　年　　月　　日"},
    "en": {"firm": "Enterprise", "method": "Method", "pack": "Rule pack", "source": "Source", "result": "Result",
           "footer": "Generated from the method and rule pack above (version and content hash); every number traces "
                     "back to the input record and the rules.",
           "seal": "(seal)      date: ____________"},
}

_TEMPLATE = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined).from_string("""<!DOCTYPE html>
<html lang="{{ lang }}"><head><meta charset="utf-8"><title>{{ title }}</title>
<style>
  body { font-family: "Noto Serif CJK SC", "Songti SC", "SimSun", serif; margin: 0; color: #111; }
  section.notice { width: 180mm; margin: 12mm auto; page-break-after: always; break-after: page; }
  section.notice:last-child { page-break-after: auto; break-after: auto; }
  h1 { text-align: center; font-size: 22pt; letter-spacing: 0.3em; margin: 0 0 8mm; }
  table.meta { width: 100%; border-collapse: collapse; margin-bottom: 6mm; font-size: 10.5pt; }
  table.meta th { text-align: left; width: 24mm; vertical-align: top; padding: 1mm 2mm; background: #f3f3f3; }
  table.meta td { padding: 1mm 2mm; border-bottom: 1px solid #ddd; }
  p.result { font-size: 14pt; font-weight: bold; border: 1.5px solid #111; padding: 3mm; text-align: center; }
  h2 { font-size: 12pt; margin: 5mm 0 1mm; border-bottom: 1px solid #999; }
  ul { margin: 0; padding-left: 6mm; font-size: 10.5pt; line-height: 1.6; }
  p.footer { font-size: 9pt; color: #444; margin-top: 8mm; }
  p.seal { text-align: right; margin-top: 10mm; }
  @page { size: A4; margin: 10mm; }
</style></head><body>
{% for n in notices %}<section class="notice">
  <h1>{{ title }}</h1>
  <table class="meta">
    <tr><th>{{ w.firm }}</th><td>{{ n.enterprise_id }}</td></tr>
    <tr><th>{{ w.method }}</th><td>{{ n.pack.title }}</td></tr>
    <tr><th>{{ w.pack }}</th><td>{{ n.pack.id }} {{ n.pack.version }} · {{ n.pack.hash[:12] }}</td></tr>
    <tr><th>{{ w.source }}</th><td>{{ n.pack.source }}</td></tr>
  </table>
  <p class="result">{{ w.result }}：{{ n.summary }}</p>
  {% for s in n.sections %}<h2>{{ s.title }}</h2>{% if s.lines %}<ul>{% for line in s.lines %}<li>{{ line }}</li>{% endfor %}</ul>{% endif %}
  {% endfor %}
  <p class="footer">{{ w.footer }}</p>
  <p class="seal">{{ w.seal }}</p>
</section>
{% endfor %}</body></html>
""")


def sections(trace: dict[str, Any]) -> list[dict[str, Any]]:
    """The explanation's lines as titled sections: an unindented line opens one, indented lines fill it.

    The first two lines (the heading and the pack) and the last (the source) are in the notice's frame.
    """
    out: list[dict[str, Any]] = []
    for line in trace["lines"][2:-1]:
        if line.startswith("  ") and out:
            out[-1]["lines"].append(line.strip())
        else:
            out.append({"title": line.rstrip("：").rstrip(": ").rstrip(":"), "lines": []})
    return out


def _summary(trace: dict[str, Any]) -> str:
    zh = trace["lang"] == "zh"
    if trace.get("checks"):
        return str(trace["checks"]["decision"] or "—")
    tier = (trace.get("tier") or {}).get("tier")
    if trace["status"] == "error":
        return "记录有误，未评价" if zh else "record error, not evaluated"
    if trace["status"] != "ok":
        return (f"未参评（按 {tier} 类管理）" if zh else f"not rated (managed as {tier})") if tier else \
            ("未参评" if zh else "not rated")
    parts = [f"{tier} 类" if zh else f"tier {tier}"] if tier else []
    if trace.get("score") is not None:
        score = f"{trace['score']:.4f}".rstrip("0").rstrip(".")
        parts.append(f"综合得分 {score} 分" if zh else f"score {score}")
    if not parts and trace.get("measures"):
        parts = [f"{m['label'] or k}：{m['value']}" for k, m in trace["measures"].items() if isinstance(m["value"], str)]
    return ("，" if zh else ", ").join(parts) or "—"


def render_notices(traces: list[dict[str, Any]]) -> str:
    """One HTML document with a notice per trace (all traces in one language: the first one's)."""
    lang = traces[0]["lang"] if traces else "zh"
    notices = [{**t, "summary": _summary(t), "sections": sections(t)} for t in traces]
    return _TEMPLATE.render(lang=lang, title=_TITLE[lang], w=_WORDS[lang], notices=notices)
