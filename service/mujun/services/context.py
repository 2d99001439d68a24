"""What the services share: the store, the meters, and the one cache of compiled packs keyed by content hash."""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Protocol

from prometheus_client import Counter, Histogram

import mujun
from mujun.errors import NotFound, PackNotFound, PreconditionFailed
from mujun.packs.load import bundled_pack_files, bundled_parents
from mujun.store import Database, packs
from mujun.store.models import PackVersionRow

__all__ = ["Context", "Meters", "PackCache"]


class Meters(Protocol):
    """The instruments the services count with (the server's ``Metrics`` has them)."""

    enterprises: Counter
    batch_rows: Histogram
    pack_cache: Counter


@dataclass
class PackCache:
    """Compiled packs by content hash, least recently used first out; safe across threads."""

    size: int = 32
    _packs: OrderedDict[str, mujun.Pack] = field(default_factory=OrderedDict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def get(self, content_hash: str) -> mujun.Pack | None:
        with self._lock:
            pack = self._packs.get(content_hash)
            if pack is not None:
                self._packs.move_to_end(content_hash)
            return pack

    def put(self, pack: mujun.Pack) -> None:
        with self._lock:
            self._packs[pack.hash] = pack
            while len(self._packs) > self.size:
                self._packs.popitem(last=False)


@dataclass
class Context:
    """The store, the meters and the pack cache, handed to every service."""

    db: Database
    meters: Meters
    cache: PackCache = field(default_factory=PackCache)

    def load(self, text: str, name: str) -> mujun.Pack:
        """Pack text from a caller or the store, its ``extends`` resolved on the server (:meth:`_parent`)."""
        return mujun.load_pack_text(text, name=name, parents=self._parent)

    def _parent(self, ref: str) -> tuple[str, str]:
        """``extends`` on the server: a bundled pack id, else a published one (its latest version).

        Never a path: pack text comes from callers, and a path would let them read server files.
        """
        if ref in bundled_pack_files():
            return bundled_parents(ref)
        with self.db.read() as session:
            try:
                row = packs.get(session, ref)
            except NotFound:
                raise PackNotFound(f"no bundled or published pack named {ref!r}; 'extends' names a pack id, "
                                   "never a file") from None
            return row.text, f"{row.pack_id}@{row.version}"

    def compiled(self, row: PackVersionRow) -> mujun.Pack:
        """The published version ``row`` compiled, from the cache when its hash was compiled before."""
        pack = self.cache.get(row.hash)
        self.meters.pack_cache.labels("hit" if pack is not None else "miss").inc()
        if pack is not None:
            return pack
        pack = self.load(row.text, f"{row.pack_id}@{row.version}")
        if pack.hash != row.hash:
            # A pack that `extends` a bundled one changes when that one does: refuse rather than
            # publish results under a hash nobody published.
            raise PreconditionFailed(f"pack {row.pack_id} {row.version} no longer compiles to its published hash "
                                     f"{row.hash[:12]} (got {pack.hash[:12]}): a pack it extends has changed; "
                                     "publish it again as a new version", location=f"packs/{row.pack_id}/{row.version}")
        self.cache.put(pack)
        return pack

    def counted(self, rows: int) -> None:
        """Count ``rows`` enterprises evaluated in one evaluation."""
        self.meters.enterprises.inc(rows)
        self.meters.batch_rows.observe(rows)
