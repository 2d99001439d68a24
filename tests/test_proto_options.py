"""The proto options let Go and Java agencies generate usable code from proto/mujun/v1."""

from __future__ import annotations

import pytest

from mujun_wire.v1 import common_pb2, cycles_pb2, packs_pb2, rule_engine_pb2

FILES = [common_pb2, cycles_pb2, packs_pb2, rule_engine_pb2]


@pytest.mark.parametrize("module", FILES, ids=lambda m: m.DESCRIPTOR.name)
def test_go_package_is_a_full_import_path_with_a_package_name(module):
    path, _, name = module.DESCRIPTOR.GetOptions().go_package.partition(";")
    assert path.count("/") >= 3 and "." in path.split("/")[0], path
    assert name == "mujunv1"


@pytest.mark.parametrize("module", FILES, ids=lambda m: m.DESCRIPTOR.name)
def test_java_gets_one_file_per_message_in_a_reverse_domain_package(module):
    options = module.DESCRIPTOR.GetOptions()
    assert options.java_package == "cn.mujun.v1" and options.java_multiple_files

