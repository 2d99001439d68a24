"""The JSON Schema of pack.yaml, generated from the pydantic pack model, for editors.

Two things the model accepts before validation are added by hand so editors do not flag valid
packs: the ``extends`` key (resolved by the loader; a pack that extends another gives only the
parts it changes, so only its top-level keys are checked) and the shorthands (a bare number for a parameter, a bare expression for
an indicator).
"""

from __future__ import annotations

from typing import Any

from mujun.packs.model import Pack

__all__ = ["pack_json_schema"]

_SHORTHANDS = {
    "Parameter": [{"type": "number"}, {"type": "object", "additionalProperties": {"type": "number"}}],
    "Indicator": [{"type": "string"}, {"type": "number"}],
    "FieldTest": [{"type": "string"}, {"type": "number"}],  # an event condition: `severity: major`
}


def pack_json_schema() -> dict[str, Any]:
    schema = Pack.model_json_schema(by_alias=True)
    for name, forms in _SHORTHANDS.items():
        model = schema["$defs"][name]
        schema["$defs"][name] = {"anyOf": [*forms, model], "description": model.get("description", "")}
    properties, required = schema.pop("properties"), schema.pop("required", [])
    schema.pop("additionalProperties", None)
    extends = {"type": "string", "description": "id of the pack this one changes (its sections merge into the parent's)"}
    schema["oneOf"] = [  # a pack that extends another gives only what it changes: check its keys, not its sections
        {"required": ["extends"], "additionalProperties": False,
         "properties": {"extends": extends, **{key: {} for key in properties}}},
        {"not": {"required": ["extends"]}, "required": required, "additionalProperties": False,
         "properties": properties},
    ]
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", "title": "mujun rule pack", **schema}
