"""The typed engine options: validation, the stored form, and reading what older projects stored."""
from __future__ import annotations

from dataclasses import fields

import pytest

from tracker.engine_options import _KINDS, ENGINE_NAMES, EngineOptions
from tracker.engines import ENGINES
from tracker.errors import MaskletError


def test_every_engine_and_every_option_is_known() -> None:
    assert set(ENGINE_NAMES) == set(ENGINES)
    assert set(_KINDS) == {f.name for f in fields(EngineOptions)[1:]}


def test_an_option_of_another_engine_is_one_line_naming_its_flag() -> None:
    with pytest.raises(MaskletError, match=r"^engine bytetrack does not take --clip-len, --tiles \(smotracker only\)$"):
        EngineOptions("bytetrack", clip_len=3, tiles=640)
    with pytest.raises(MaskletError, match=r"^engine smot does not take --sam2 \(sam2mot or smotracker only\)$"):
        EngineOptions("smot", sam2="tiny")
    with pytest.raises(MaskletError, match=r"^engine bytetrack does not take --sam2 \(sam2mot or smotracker only\); "
                                           r"--no-motion \(smot only\)$"):
        EngineOptions("bytetrack", sam2="small", motion=False)
    with pytest.raises(MaskletError, match="does not take --no-cross-object"):
        EngineOptions("smotracker", cross_object=False)
    with pytest.raises(MaskletError, match="unknown engine 'nope'"):
        EngineOptions("nope")


@pytest.mark.parametrize(("values", "flag"), [
    ({"conf": 1.5}, "--conf"), ({"device": "tpu"}, "--device"), ({"image_size": 0}, "--image-size"),
])
def test_a_value_out_of_range_is_one_line_naming_its_flag(values: dict, flag: str) -> None:
    with pytest.raises(MaskletError, match=f"^engine sam2mot: {flag} "):
        EngineOptions("sam2mot", **values)


def test_smot_and_smotracker_ranges() -> None:
    with pytest.raises(MaskletError, match="--top-k 0 must be at least 1"):
        EngineOptions("smot", top_k=0)
    with pytest.raises(MaskletError, match="--tile-overlap 1.0 must be"):
        EngineOptions("smotracker", tiles=640, tile_overlap=1.0)


def test_the_stored_form_keeps_only_what_differs_from_the_defaults_and_reads_back() -> None:
    options = EngineOptions("sam2mot", detector="/d/det.txt", classes=["person"], conf=0.3, device="cpu",
                            random_init=True, cross_object=False)
    stored = options.to_dict()
    assert stored == {"detector": "/d/det.txt", "classes": ["person"], "conf": 0.3, "device": "cpu",
                      "random_init": True, "cross_object": False}
    assert EngineOptions.from_dict("sam2mot", stored) == options
    assert EngineOptions("bytetrack").to_dict() == {}


def test_an_older_projects_dict_reads_as_typed_options() -> None:
    """Projects stored the options as ``masklet track`` collected them: the same keys, classes as a list."""
    old = {"detector": "/data/det.txt", "classes": ["car", "truck"], "conf": 0.25, "device": "cuda", "link": True,
           "tiles": 640, "tile_overlap": 0.3, "clip_len": 8, "sam2": "small", "image_size": 512}
    options = EngineOptions.from_dict("smotracker", old)
    assert (options.classes, options.tiles, options.link, options.sam2) == (("car", "truck"), 640, True, "small")
    assert options.without_device() == EngineOptions.from_dict("smotracker", {**old, "device": "cpu"}).without_device()


@pytest.mark.parametrize(("stored", "problem"), [
    ({"colour": "red"}, "unknown option 'colour'"), ({"conf": "high"}, "option 'conf' cannot be 'high'"),
    ({"link": 1}, "option 'link' cannot be 1"), ({"device": None}, "option 'device' cannot be None"),
])
def test_a_damaged_stored_form_is_one_line_naming_the_option(stored: dict, problem: str) -> None:
    with pytest.raises(MaskletError, match=f"^engine bytetrack: {problem}$"):
        EngineOptions.from_dict("bytetrack", stored)


def test_applicable_leaves_out_what_the_engine_does_not_take() -> None:
    values = {"detector": "d.pt", "random_init": True, "image_size": 128, "top_k": 2}
    assert EngineOptions.applicable("bytetrack", **values) == EngineOptions("bytetrack", detector="d.pt")
    assert EngineOptions.applicable("smot", **values).top_k == 2
    assert EngineOptions.applicable("sam2mot", **values).segmenter_options() == {
        "model": "tiny", "device": "auto", "image_size": 128, "random_init": True}
