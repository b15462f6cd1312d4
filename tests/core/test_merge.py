"""JSON merge patch (RFC 7386) and the desk settings it patches."""

from __future__ import annotations

import copy

import pytest

from app.core.errors import Unprocessable
from app.core.merge import merge_patch
from app.desks.schemas import DeskSettings
from app.desks.service import merged_settings


@pytest.mark.parametrize(
    ("target", "patch", "expected"),
    [  # RFC 7386, Appendix A
        ({"a": "b"}, {"a": "c"}, {"a": "c"}),
        ({"a": "b"}, {"b": "c"}, {"a": "b", "b": "c"}),
        ({"a": "b"}, {"a": None}, {}),
        ({"a": "b", "b": "c"}, {"a": None}, {"b": "c"}),
        ({"a": ["b"]}, {"a": "c"}, {"a": "c"}),
        ({"a": "c"}, {"a": ["b"]}, {"a": ["b"]}),
        ({"a": {"b": "c"}}, {"a": {"b": "d", "c": None}}, {"a": {"b": "d"}}),
        ({"a": [{"b": "c"}]}, {"a": [1]}, {"a": [1]}),
        (["a", "b"], ["c", "d"], ["c", "d"]),
        ({"a": "b"}, ["c"], ["c"]),
        ({"a": "foo"}, None, None),
        ({"a": "foo"}, "bar", "bar"),
        ({"e": None}, {"a": 1}, {"e": None, "a": 1}),
        ([1, 2], {"a": "b", "c": None}, {"a": "b"}),
        ({}, {"a": {"bb": {"ccc": None}}}, {"a": {"bb": {}}}),
    ],
)
def test_merge_patch_follows_rfc_7386(target, patch, expected):
    assert merge_patch(target, patch) == expected


def test_merge_patch_leaves_its_inputs_unchanged():
    target = {"a": {"b": 1, "c": [1, 2]}, "d": 1}
    patch = {"a": {"b": None, "e": {"f": 1}}, "d": None}
    before_target, before_patch = copy.deepcopy(target), copy.deepcopy(patch)
    assert merge_patch(target, patch) == {"a": {"c": [1, 2], "e": {"f": 1}}}
    assert target == before_target
    assert patch == before_patch


def test_merged_settings_keeps_unpatched_keys():
    current = DeskSettings(time_zone="Europe/Berlin", auto_create_organizations=True
                           ).model_dump(mode="json")
    merged = merged_settings(current, {"default_priority": "high"})
    assert merged["time_zone"] == "Europe/Berlin"
    assert merged["auto_create_organizations"] is True
    assert merged["default_priority"] == "high"


def test_merged_settings_null_resets_a_key_to_its_default():
    current = DeskSettings(time_zone="Europe/Berlin", sla={"first_response_minutes": 30}
                           ).model_dump(mode="json")
    merged = merged_settings(current, {"time_zone": None, "sla": None})
    assert merged == DeskSettings().model_dump(mode="json")


def test_merged_settings_merges_nested_objects():
    current = DeskSettings(sla={"first_response_minutes": 30, "resolution_minutes": 600}
                           ).model_dump(mode="json")
    merged = merged_settings(current, {"sla": {"resolution_minutes": None}})
    assert merged["sla"] == {"first_response_minutes": 30, "resolution_minutes": None}


def test_merged_settings_rejects_invalid_keys_by_location():
    with pytest.raises(Unprocessable) as caught:
        merged_settings(DeskSettings().model_dump(mode="json"),
                        {"time_zone": "Mars/Base", "sla": {"resolution_minutes": 0}, "x": 1})
    locs = sorted(e["loc"] for e in caught.value.errors)
    assert locs == [["body", "settings", "sla", "resolution_minutes"],
                    ["body", "settings", "time_zone"], ["body", "settings", "x"]]
