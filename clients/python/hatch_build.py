"""Build step: compile proto/mujun/v1/*.proto into the ``mujun_wire.v1`` package (never committed).

Hatch runs ``CodegenHook`` before every build of mujun-client (wheel, sdist, editable install), so a
wheel or an sdist always carries the generated code; grpcio-tools is a build requirement, not a
runtime one. The protos are the repository's ``proto/`` (two levels up), or the copy an sdist
carries in ``proto/``. protoc writes imports such as ``from mujun.v1 import common_pb2``, which only
work with the proto root on ``sys.path``; this step rewrites them to ``from mujun_wire.v1 import
common_pb2``. ``make proto`` (or ``python clients/python/hatch_build.py``) regenerates in a checkout
after a .proto changed.
"""

from __future__ import annotations

import re
import shutil
import sys
import tempfile
from pathlib import Path

__all__ = ["CodegenHook", "generate"]

_ROOT = Path(__file__).resolve().parent  # clients/python
_PACKAGE = _ROOT / "mujun_wire"
_PROTO_ROOT = next((p for p in (_ROOT / "proto", _ROOT.parent.parent / "proto") if (p / "mujun" / "v1").is_dir()),
                   _ROOT.parent.parent / "proto")
_OUT = _PACKAGE / "v1"
_IMPORT = re.compile(r"^from mujun\.v1 import (\w+)", re.MULTILINE)


def _sources() -> list[Path]:
    return sorted((_PROTO_ROOT / "mujun" / "v1").glob("*.proto"))


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
            text = _IMPORT.sub(r"from mujun_wire.v1 import \1", path.read_text())
            (staged / path.name).write_text(text)
        (staged / "__init__.py").write_text('"""mujun.v1 stubs, generated from proto/mujun/v1 by clients/python/hatch_build.py; do not edit."""\n')
        if _OUT.exists():
            shutil.rmtree(_OUT)
        staged.rename(_OUT)
    return _OUT


try:
    from hatchling.builders.hooks.plugin.interface import BuildHookInterface
except ImportError:  # run as a script (make proto) outside a build environment
    BuildHookInterface = object


class CodegenHook(BuildHookInterface):
    """Generate the stubs before hatch collects files; in an sdist they are already there."""

    PLUGIN_NAME = "custom"

    def initialize(self, version: str, build_data: dict) -> None:
        if _sources():
            generate()
        elif not (_OUT / "__init__.py").exists():
            raise RuntimeError(f"neither proto sources under {_PROTO_ROOT} nor generated stubs in {_OUT}")


if __name__ == "__main__":
    print(f"generated {generate()}", file=sys.stderr)
