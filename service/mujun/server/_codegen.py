"""Build step: compile proto/mujun/v1/*.proto into the ``mujun._proto`` package (never committed).

protoc writes imports such as ``from mujun.v1 import common_pb2``, which only work with the proto
root on ``sys.path``; this step rewrites them to ``from mujun._proto import common_pb2`` so the
generated modules live inside the package. Run by ``make setup`` (and therefore ``make test``)::

    python service/mujun/server/_codegen.py
"""

from __future__ import annotations

import re
import shutil
import sys
import tempfile
from pathlib import Path

__all__ = ["generate", "is_stale", "ensure_generated"]

_PACKAGE = Path(__file__).resolve().parent.parent  # service/mujun
_PROTO_ROOT = _PACKAGE.parent.parent / "proto"
_OUT = _PACKAGE / "_proto"
_IMPORT = re.compile(r"^from mujun\.v1 import (\w+)", re.MULTILINE)


def _sources() -> list[Path]:
    return sorted((_PROTO_ROOT / "mujun" / "v1").glob("*.proto"))


def is_stale() -> bool:
    """True when a .proto is newer than the generated package, or the package is missing."""
    marker = _OUT / "__init__.py"
    if not marker.exists():
        return True
    built = marker.stat().st_mtime
    return any(src.stat().st_mtime > built for src in _sources())


def generate() -> Path:
    """Run grpc_tools.protoc over every proto and install the result atomically into ``_proto/``."""
    from grpc_tools import protoc
    import grpc_tools

    sources = _sources()
    if not sources:
        raise SystemExit(f"no .proto files under {_PROTO_ROOT}")
    well_known = Path(grpc_tools.__file__).parent / "_proto"
    with tempfile.TemporaryDirectory(dir=_PACKAGE) as tmp:
        args = ["protoc", f"-I{_PROTO_ROOT}", f"-I{well_known}", f"--python_out={tmp}",
                f"--pyi_out={tmp}", f"--grpc_python_out={tmp}", *map(str, sources)]
        if protoc.main(args) != 0:
            raise SystemExit("protoc failed; see the messages above")
        staged = Path(tmp) / "staged"
        staged.mkdir()
        for path in (Path(tmp) / "mujun" / "v1").iterdir():
            text = _IMPORT.sub(r"from mujun._proto import \1", path.read_text())
            (staged / path.name).write_text(text)
        (staged / "__init__.py").write_text('"""Generated from proto/mujun/v1 by mujun.server._codegen; do not edit."""\n')
        if _OUT.exists():
            shutil.rmtree(_OUT)
        staged.rename(_OUT)
    return _OUT


def ensure_generated() -> None:
    """Generate when stale; lets a fresh checkout run without a separate build step."""
    if is_stale():
        generate()


if __name__ == "__main__":
    print(f"generated {generate()}", file=sys.stderr)
