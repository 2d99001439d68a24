"""Benchmark report: ratios, targets, ``results/results.json`` and ``results/scaling.png`` from the records.

Kept apart from the pytest hooks so the arithmetic of the report can be read (and re-run on a saved
``results.json``) without pytest.
"""

from __future__ import annotations

import json
import os
import platform
from datetime import datetime, timezone
from pathlib import Path

__all__ = ["summarize", "table", "write"]

#: The targets of issue 4: (name, key in the summary, comparison, bound).
TARGETS = [
    ("engine / numpy at 1M, CPU time, median of paired rounds (≤ 1.0)", "engine_over_numpy_cpu_1M", "<=", 1.0),
    ("engine / numpy at 1M, wall time, median of paired rounds (≤ 1.0)", "engine_over_numpy_wall_1M", "<=", 1.0),
    ("engine / Zen evaluate_batch throughput (≥ 1000×)", "engine_over_zen", ">=", 1000.0),
    ("engine / durable_rules throughput (≥ 100×)", "engine_over_durable", ">=", 100.0),
    ("peak RSS at 1M, MB (≤ 1024)", "peak_rss_mb_1M", "<=", 1024.0),
    ("pack compilation, ms (≤ 50)", "compile_cold_ms", "<=", 50.0),
    ("Parquet read + write / evaluation at 1M (≤ 1.0)", "io_over_eval_1M", "<=", 1.0),
    ("simulation (OLD + NEW + diff + report) / evaluation (≤ 3)", "simulate_over_evaluate", "<=", 3.0),
    ("sweep of 10 values / evaluation, in process (≤ 12)", "sweep10_over_evaluate_workers1", "<=", 12.0),
]


def _label(n: int) -> str:
    return f"{n // 1_000_000}M" if n >= 1_000_000 else f"{n // 1_000}k"


def summarize(records: list[dict], max_n: int) -> dict:
    """Reduce raw records to per-size timings, ratios and target verdicts."""
    summary: dict = {"scaling": {}, "paired": {}, "rules": {}, "memory": {}, "explain": {}, "compile": {}, "ratios": {}}
    timing = {}
    for r in records:
        if r["kind"] == "evaluate":
            timing.setdefault(r["n"], {})[r["impl"]] = r
    for n in sorted(timing):
        row = {impl: {"seconds": r["seconds"], "median_seconds": r["median_seconds"], "rounds": r["rounds"],
                      "per_second": n / r["seconds"], "us_per_enterprise": 1e6 * r["seconds"] / n}
               for impl, r in timing[n].items()}
        for a, b in (("engine", "numpy"), ("engine", "read_floor"), ("numpy", "read_floor")):
            if a in row and b in row:
                summary["ratios"][f"{a}_over_{b}_{_label(n)}"] = row[a]["seconds"] / row[b]["seconds"]
        summary["scaling"][n] = row
    engine_rates = {n: row["engine"]["per_second"] for n, row in summary["scaling"].items() if "engine" in row}
    for r in records:
        if r["kind"] == "throughput":
            summary["rules"][r["impl"]] = {k: v for k, v in r.items() if k not in ("kind", "impl")}
        elif r["kind"] == "rss":
            summary["memory"].setdefault(r["impl"], {})[r["n"]] = {k: v for k, v in r.items() if k not in ("kind", "impl", "n")}
        elif r["kind"] in ("explain", "explain_all"):
            summary["explain"][r["kind"]] = {k: v for k, v in r.items() if k not in ("kind", "impl")}
        elif r["kind"] == "compile":
            summary["compile"] = {k: v for k, v in r.items() if k not in ("kind", "impl")}
        elif r["kind"] == "paired":  # engine and numpy rounds interleaved: the engine/numpy ratio of record
            summary["paired"][r["n"]] = {k: v for k, v in r.items() if k not in ("kind", "impl", "n", "rounds")}
            for clock in ("cpu", "wall"):
                summary["ratios"][f"engine_over_numpy_{clock}_{_label(r['n'])}"] = r[f"{clock}_ratio"]
        elif r["kind"] == "simulate":  # each record carries its own ratio to one evaluation of the same data
            summary["ratios"][r["key"]] = r["ratio"]
    if engine_rates:
        best_n = max(engine_rates)
        summary["engine_rate_used_for_rules"] = {"n": best_n, "per_second": engine_rates[best_n]}
        for impl, key in (("zen_batch", "engine_over_zen"), ("durable", "engine_over_durable"),
                          ("zen_each", "engine_over_zen_each")):
            if impl in summary["rules"]:
                summary["ratios"][key] = engine_rates[best_n] / summary["rules"][impl]["per_second"]
                if 1_000_000 in engine_rates:  # the headline size, for comparison with a 1M-only run
                    summary["ratios"][f"{key}_1m"] = engine_rates[1_000_000] / summary["rules"][impl]["per_second"]
    for n, m in summary["memory"].get("engine", {}).items():
        summary["ratios"][f"peak_rss_mb_{_label(n)}"] = m["peak_rss_mb"]
        summary["ratios"][f"io_over_eval_{_label(n)}"] = (m["read_s"] + m["write_s"]) / m["eval_s"]
    if summary["compile"]:
        summary["ratios"]["compile_cold_ms"] = summary["compile"]["cold_ms"]
    summary["targets"] = [
        {"target": name, "value": summary["ratios"].get(key),
         "met": None if key not in summary["ratios"] else
         (summary["ratios"][key] <= bound if op == "<=" else summary["ratios"][key] >= bound)}
        for name, key, op, bound in TARGETS
    ]
    summary["machine"] = {"cpus": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version(),
                          "max_n": max_n, "load_average_1_5_15": os.getloadavg(), "when": datetime.now(timezone.utc).isoformat(timespec="seconds")}
    return summary


def table(summary: dict) -> str:
    """The ratio table as Markdown, ready to paste into a README."""
    lines = ["| n | engine s | numpy s | read floor s | engine/numpy | engine/floor | engine ent/s | engine µs/ent |",
             "|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for n, row in summary["scaling"].items():
        cell = lambda impl, key, fmt: format(row[impl][key], fmt) if impl in row else "—"  # noqa: E731
        ratio = lambda a, b: f"{row[a]['seconds'] / row[b]['seconds']:.2f}" if a in row and b in row else "—"  # noqa: E731
        lines.append(f"| {n:,} | {cell('engine', 'seconds', '.3f')} | {cell('numpy', 'seconds', '.3f')} | "
                     f"{cell('read_floor', 'seconds', '.4f')} | {ratio('engine', 'numpy')} | {ratio('engine', 'read_floor')} | "
                     f"{cell('engine', 'per_second', ',.0f')} | {cell('engine', 'us_per_enterprise', '.2f')} |")
    if summary["paired"]:
        lines += ["", "| n | pairs | engine/numpy CPU (median of pairs) | engine/numpy wall (median of pairs) | "
                      "engine CPU s | numpy CPU s | engine wall s | numpy wall s |", "|---:|---:|---:|---:|---:|---:|---:|---:|"]
        for n, p in sorted(summary["paired"].items()):
            lines.append(f"| {n:,} | {p['pairs']} | {p['cpu_ratio']:.2f} | {p['wall_ratio']:.2f} | {p['engine_cpu']:.3f} | "
                         f"{p['numpy_cpu']:.3f} | {p['engine_wall']:.3f} | {p['numpy_wall']:.3f} |")
    if summary["rules"]:
        largest = summary.get("engine_rate_used_for_rules", {}).get("n", 0)
        lines += ["", f"| per-enterprise engine | n | ent/s | mujun ent/s at {largest:,} ÷ this | mujun ent/s at 1M ÷ this "
                      "| tier agreement |", "|---|---:|---:|---:|---:|---:|"]
        ratio_key = {"zen_batch": "engine_over_zen", "zen_each": "engine_over_zen_each", "durable": "engine_over_durable"}
        shown = lambda value: "—" if value is None else f"{value:,.0f}×"  # noqa: E731
        for impl, r in summary["rules"].items():
            lines.append(f"| {impl} | {r['n']:,} | {r['per_second']:,.0f} | {shown(summary['ratios'].get(ratio_key[impl]))} | "
                         f"{shown(summary['ratios'].get(ratio_key[impl] + '_1m'))} | {r.get('tier_agreement', float('nan')):.4f} |")
    if summary["memory"]:
        lines += ["", "| RSS (subprocess, Parquet in → result out) | n | peak MB | after read MB | read s | eval s | write s |",
                  "|---|---:|---:|---:|---:|---:|---:|"]
        for impl, by_n in summary["memory"].items():
            for n, m in by_n.items():
                lines.append(f"| {impl} | {n:,} | {m['peak_rss_mb']:,.0f} | {m['rss_after_read_mb']:,.0f} | "
                             f"{m['read_s']:.2f} | {m['eval_s']:.2f} | {m['write_s']:.2f} |")
    lines += ["", "| target | value | met |", "|---|---:|:---:|"]
    for t in summary["targets"]:
        value = "—" if t["value"] is None else f"{t['value']:,.2f}"
        lines.append(f"| {t['target']} | {value} | {({True: 'yes', False: 'NO', None: 'not run'})[t['met']]} |")
    extra = []
    if summary["explain"].get("explain"):
        e = summary["explain"]["explain"]
        extra.append(f"explain(): {e['count']} random ids after a {e['n']:,} run: {e['seconds']:.3f} s "
                     f"({1e3 * e['seconds'] / e['count']:.2f} ms each; first call, which builds the id index, "
                     f"{e['first_call_s']:.3f} s)")
    if summary["explain"].get("explain_all"):
        e = summary["explain"]["explain_all"]
        extra.append(f"explain everything ({e['n']:,}): {e['seconds']:.2f} s via {e['method']}")
    if summary["compile"]:
        c = summary["compile"]
        extra.append(f"pack compilation: cold {c['cold_ms']:.1f} ms (fresh process), warm load_pack {c['warm_ms']:.3f} ms")
    load = summary["machine"]["load_average_1_5_15"]
    extra.append(f"machine: {summary['machine']['cpus']} CPUs, load average at the end {load[0]:.1f} / {load[1]:.1f} / "
                 f"{load[2]:.1f} (1/5/15 min) — above the CPU count, absolute times are inflated; ratios less so")
    return "\n".join(lines + [""] + extra)


def write(records: list[dict], out: Path, max_n: int) -> dict:
    """Summarize, then write results.json and scaling.png into ``out``; returns the summary."""
    out.mkdir(parents=True, exist_ok=True)
    summary = summarize(records, max_n)
    (out / "results.json").write_text(json.dumps({"summary": summary, "records": records}, indent=2, default=str,
                                                 ensure_ascii=False))
    _plot(summary, out / "scaling.png")
    return summary


def _plot(summary: dict, path: Path) -> None:
    """Time per enterprise against n: flat or falling lines mean the engine scales linearly or better."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.5))
    for impl, style in (("engine", "o-"), ("numpy", "s--"), ("read_floor", "^:")):
        points = [(n, row[impl]["us_per_enterprise"]) for n, row in summary["scaling"].items() if impl in row]
        if points:
            ax.plot(*zip(*points), style, label={"engine": "mujun engine", "numpy": "hand-written numpy",
                                                 "read_floor": "read floor (one pass over inputs)"}[impl])
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("enterprises (n)")
    ax.set_ylabel("µs per enterprise (best of rounds)")
    ax.set_title("js-huaian-2024: time per enterprise vs n")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
