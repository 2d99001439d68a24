"""The export reader (on SQLite and PostgreSQL): current versions only, in id order, pages, UTF-8 bytes."""

from __future__ import annotations

import json

from mujun.store import cycles, exports, packs


def _decision(eid: str, tier: str, note: str = "") -> dict:
    result = {"enterprise_id": eid, "tier": tier, "reason": note}
    return {"enterprise_id": eid, "status": "ok", "tier": tier, "score": 1.0, "group_key": "320102",
            "result_json": json.dumps(result, ensure_ascii=False), "input_json": "{}"}


def _cycle(db, ids: list[str]):
    with db.write() as s:
        cycle = cycles.begin_run(s, "320102", 2024, "op")
    with db.write() as s:
        version, _ = packs.publish(s, pack_id="p", version="1", hash="h1", title="t", source="s", regions=[],
                                   effective_from=None, text="id: p", actor="tester")
        cycles.complete_run(s, cycle.id, pack_version_id=version.id,
                            decisions=[_decision(i, "A", "亩均税收 \\ 低") for i in ids], tiers=[], results_hash="r",
                            data_arrow=b"", prior_arrow=None, history_arrow=None, actor="op")
        cycles.freeze(s, "320102", 2024, "op")
    with db.write() as s:
        cycle = cycles.get(s, "320102", 2024)
        cycles.add_version(s, cycle, ids[1], decision={k: v for k, v in _decision(ids[1], "B").items()
                                                       if k != "enterprise_id"}, reason="tax corrected", actor="op")
    return cycle


def test_pages_hold_each_enterprises_newest_version_in_id_order_as_utf8_bytes(db):
    cycle = _cycle(db, ["e3", "e1", "e2", "e5", "e4"])
    with db.read() as s:
        pages = list(exports.current_pages(s, cycle, page_rows=2))
    assert [len(page) for page in pages] == [2, 2, 1]
    rows = [row for page in pages for row in page]
    assert [(r[0], r[1], r[2]) for r in rows] == [("e1", 2, "tax corrected"), ("e2", 1, ""), ("e3", 1, ""),
                                                  ("e4", 1, ""), ("e5", 1, "")]
    assert all(isinstance(r[5], bytes) for r in rows)
    assert json.loads(rows[1][5].decode()) == {"enterprise_id": "e2", "tier": "A", "reason": "亩均税收 \\ 低"}
    assert json.loads(rows[0][5].decode())["tier"] == "B"
