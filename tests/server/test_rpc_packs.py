"""mujun.v1.Packs: list, get, validate, publish (immutable, content-hashed), activate, history."""

from __future__ import annotations

import re

import grpc
import pytest

import mujun
from mujun_client import RemoteError

BUNDLED = {"js-huaian-2024", "zj-huangyan-2021", "zj-huangyan-2022"}
VARIANT = "js-huaian-2024-whatif"  # edited copies get their own id, so other tests keep the bundled pack


def _variant(version: str, weight: int) -> str:
    text = mujun.load_pack("js-huaian-2024").text
    text = text.replace("id: js-huaian-2024", f"id: {VARIANT}", 1)
    text = re.sub(r'^version: "[^"]*"', f'version: "{version}"', text, count=1, flags=re.MULTILINE)
    return text.replace("weight_tax: {value: 45,", f"weight_tax: {{value: {weight},", 1)


def test_the_bundled_packs_are_published_and_active_on_an_empty_store(client_as):
    listing = client_as("editor").list_packs()
    assert BUNDLED <= {p.pack_id for p in listing.packs}
    assert {a.pack_id for a in listing.activations} >= BUNDLED


def test_get_returns_the_yaml_and_the_content_hash(client_as):
    version = client_as("editor").get_pack("js-huaian-2024")
    assert version.hash == mujun.load_pack("js-huaian-2024").hash
    assert "id: js-huaian-2024" in version.text


def test_get_of_an_unknown_pack_is_not_found(client_as):
    with pytest.raises(RemoteError) as caught:
        client_as("editor").get_pack("no-such-pack")
    assert caught.value.code == grpc.StatusCode.NOT_FOUND


def test_validate_lists_every_problem_with_its_yaml_path(client_as):
    response = client_as("editor").validate_pack("id: x\nversion: 1\nitems: {tax: {wieght: 3}}\n")
    assert not response.valid
    assert {"title", "source"} <= {issue.path for issue in response.issues}


def test_validate_gives_the_line_and_column_of_an_issue(client_as):
    text = "id: x\nversion: '1'\ntitle: t\nsource: s\nindicators:\n  a: tax_wan + industry\n"
    [issue] = client_as("editor").validate_pack(text).issues
    assert (issue.path, issue.line, issue.column) == ("indicators.a", 6, 16)  # `industry`, a text added to a number


def test_publishing_a_malformed_pack_is_invalid_argument_with_field_violations(client_as):
    with pytest.raises(RemoteError) as caught:
        client_as("editor").publish_pack("id: x\nversion: 1\n")
    assert caught.value.code == grpc.StatusCode.INVALID_ARGUMENT
    assert caught.value.reason == "PACK_INVALID"
    assert ("title", "required key is missing") in caught.value.violations


def test_publish_is_idempotent_for_the_same_content(client_as):
    editor = client_as("editor")
    first = editor.publish_pack(_variant("2024.9", 50))
    again = editor.publish_pack(_variant("2024.9", 50))
    assert first.hash == again.hash and first.published_at == again.published_at


def test_a_published_version_cannot_be_replaced(client_as):
    editor = client_as("editor")
    editor.publish_pack(_variant("2024.8", 40))
    with pytest.raises(RemoteError) as caught:
        editor.publish_pack(_variant("2024.8", 41))
    assert caught.value.code == grpc.StatusCode.ALREADY_EXISTS


def test_activation_puts_a_version_in_force_and_history_records_it(client_as):
    editor = client_as("editor")
    published = editor.publish_pack(_variant("2024.7", 30))
    activation = editor.activate_pack("320199", VARIANT, "2024.7", "2024-01-01")
    assert activation.hash == published.hash
    history = editor.pack_history(VARIANT, "320199")
    assert [a.version for a in history.activations] == ["2024.7"]
    assert "2024.7" in {v.version for v in history.versions}
    result = client_as("admin").evaluate([{"enterprise_id": "X", "region": "320199", "land_mu": 5, "tax_wan": 9,
                                           "revenue_wan": 90}], region="320199", as_of="2024-05-01").results[0]
    assert result.pack_hash == published.hash
