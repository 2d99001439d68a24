"""mujun — a rule engine for 亩均效益 evaluation and differentiated resource allocation.

    >>> import mujun
    >>> pack = mujun.load_pack("js-huaian-2024")
    >>> result = pack.evaluate(table, prior=last_year)   # doctest: +SKIP
    >>> result.table, result.explain("E001")              # doctest: +SKIP
"""

from importlib import metadata as _metadata

from mujun import errors
from mujun.engine.result import Result
from mujun.io import read_table, write_table
from mujun.pack import Pack, list_packs, load_pack, load_pack_text

try:
    __version__ = _metadata.version("mujun")
except _metadata.PackageNotFoundError:  # a source tree on sys.path without an install
    __version__ = "0+unknown"

__all__ = ["__version__", "Pack", "Result", "errors", "list_packs", "load_pack", "load_pack_text", "read_table", "write_table"]
