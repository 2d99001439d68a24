"""Simulation and pack diff on the server (Packs.Simulate, Packs.Diff): a stored cycle against a candidate pack.

OLD is the pack the cycle was run with (its pinned published version); the data are the cycle's own stored
tables (current year, prior year, history) and its year, so the answer is what ``mujun simulate`` gives
on the same files. NEW is a candidate's YAML, a published version, or a copy of OLD, with parameter
overlays. The computation is :func:`mujun.simulate.simulate`'s; this module finds the inputs, checks the
caller's region and turns a bad request into a typed error that names the request's field.
"""

from __future__ import annotations

from dataclasses import dataclass

import mujun
from mujun.errors import InputError, PackError, PreconditionFailed, RequestInvalid
from mujun.simulate import render_html, simulate
from mujun.simulate.diff import PackDiff, pack_diff
from mujun.simulate.sweep import parse_sweep
from mujun.services._arrow import from_ipc
from mujun.services.context import Context
from mujun.services.principal import Principal
from mujun.store import cycles, packs

__all__ = ["SimulationService", "SimulationAnswer", "Candidate"]


@dataclass(frozen=True)
class Candidate:
    """NEW: a pack text, or a published id (and version; empty: latest); neither: a copy of OLD."""

    yaml: str = ""
    pack_id: str = ""
    version: str = ""


@dataclass(frozen=True)
class SimulationAnswer:
    report_json: str
    html: str = ""


class SimulationService:
    def __init__(self, context: Context):
        self._context = context
        self._db = context.db

    def simulate(self, principal: Principal, region: str, year: int, candidate: Candidate, overrides: dict[str, str], *,
                 sweep: str = "", with_html: bool = False) -> SimulationAnswer:
        """report.json (and the page) of NEW against the cycle's pack on the cycle's data."""
        principal.require_region(region)
        if candidate.yaml and candidate.pack_id:
            raise RequestInvalid("give the candidate as YAML or as a published pack, not both",
                                 [("candidate_pack_id", "leave empty when candidate_yaml is set")])
        if candidate.version and not candidate.pack_id:
            raise RequestInvalid("candidate_version names a version of candidate_pack_id, which is empty",
                                 [("candidate_pack_id", "name the published pack of that version")])
        with self._db.read() as session:
            cycle = cycles.get(session, region, year)
            if cycle.pack_version_id is None or not cycle.data_arrow:
                raise PreconditionFailed(f"cycle {region}/{year} has no completed run: there is no data to simulate "
                                         "on; run the cycle first", location=f"cycles/{region}/{year}")
            baseline_row = packs.by_id(session, cycle.pack_version_id)
            candidate_row = packs.get(session, candidate.pack_id, candidate.version or None) \
                if candidate.pack_id else None
        baseline = self._context.compiled(baseline_row)
        if candidate.yaml:  # a pack error comes back with its YAML paths, as from Packs.Publish
            new = self._context.load(candidate.yaml, "<candidate>")
        elif candidate_row is not None:
            new = self._context.compiled(candidate_row)
        else:
            new = None
        _check_overrides(new or baseline, overrides)
        spec = None
        if sweep:
            try:
                spec = parse_sweep(sweep)
            except InputError as error:
                raise RequestInvalid(error.message, [("sweep", error.message)]) from error
            _check_overrides(new or baseline, {spec.parameter: str(spec.values[0])}, field="sweep")
        data, prior, history = (from_ipc(cycle.data_arrow), from_ipc(cycle.prior_arrow),
                                from_ipc(cycle.history_arrow))
        # One process: a server call runs beside others on the server's threads; a pool per call would
        # fight them for the cores.
        impact = simulate(baseline, new, data, prior, history, cycle.year, overrides=dict(overrides), sweep=spec,
                          workers=1)
        return SimulationAnswer(impact.model_dump_json(indent=2), render_html(impact) if with_html else "")

    def diff(self, pack_id: str, version: str, other_pack_id: str, other_version: str) -> PackDiff:
        """The changes from one published version to another (each with its line of text)."""
        if not pack_id:
            raise RequestInvalid("pack_id is empty", [("pack_id", "name the published pack to compare from")])
        with self._db.read() as session:
            old_row = packs.get(session, pack_id, version or None)
            new_row = packs.get(session, other_pack_id or pack_id, other_version or None)
        return pack_diff(self._context.compiled(old_row), self._context.compiled(new_row))


def _check_overrides(pack: mujun.Pack, overrides: dict[str, str], *, field: str = "overrides") -> None:
    """Each overlay names a parameter of NEW and a number; every bad one is named by its key (in key order:
    a proto map has none)."""
    violations = []
    for key, value in sorted(overrides.items()):
        try:
            pack.with_parameters({key: value})
        except PackError as error:
            violations.extend((f"{field}[{key}]", issue.message) for issue in error.issues)
    if violations:
        raise RequestInvalid(f"{violations[0][0]}: {violations[0][1]}", violations)
