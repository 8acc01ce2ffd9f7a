"""The options of a tracking run, typed: what ``masklet track``, ``masklet batch`` and the GUI's run dialog ask
for, what every engine's ``build`` takes and what a project stores (meta ``engine``; ``to_dict``/``from_dict``).

One frozen :class:`EngineOptions` holds the engine's name, the options every engine takes and the options of
one engine only (``None``: the engine's default). Options given to an engine that does not take them, and values
out of range, are a :class:`~tracker.errors.MaskletError` naming the option by its command-line flag.
"""
from __future__ import annotations

from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tracker.errors import MaskletError

if TYPE_CHECKING:
    from tracker.detectors import Detector

ENGINE_NAMES = ("sam2mot", "smotracker", "bytetrack", "botsort", "smot")
"""Every engine (``tracker.engines.ENGINES`` says how each is built)."""
SAM2_ENGINES = ("sam2mot", "smotracker")
"""Engines that segment with SAM2 (they take ``sam2``, ``image_size`` and ``random_init``)."""
DEVICES = ("auto", "cpu", "cuda", "mps")


def _option(flag: str, engines: tuple[str, ...] = ENGINE_NAMES, default: Any = None) -> Any:
    """A field named ``flag`` on the command line, taken by ``engines`` only."""
    return field(default=default, metadata={"flag": flag, "engines": engines})


@dataclass(frozen=True)
class EngineOptions:
    """An engine and its options; ``None`` (and the defaults below) leave the engine's own default."""

    engine: str
    detector: str | Detector | None = _option("--detector")
    """Ultralytics weights or a MOTChallenge ``det.txt`` (None: ``tracker.detectors.DEFAULT_DETECTOR``); benchmarks
    may pass a loaded ``Detector`` to share it between engines (such options are not stored)."""
    classes: tuple[str | int, ...] | None = _option("--classes")
    """Detector classes to keep, names or ids (None: all)."""
    conf: float | None = _option("--conf")
    """The detection confidence threshold (the engine's default differs per engine)."""
    device: str = _option("--device", default="auto")
    """Compute device; the one option a stopped run may continue with another value of."""
    link: bool | None = _option("--link/--no-link")
    """Join tracklets with the online linker (None: ``tracker.engines.LINKED_BY_DEFAULT``)."""
    sam2: str | None = _option("--sam2", SAM2_ENGINES)
    """SAM2.1 model name or checkpoint path (None: tiny)."""
    image_size: int | None = _option("--image-size", SAM2_ENGINES)
    random_init: bool = _option("--sam2-random-init", SAM2_ENGINES, False)
    addition_filter: bool = _option("--no-addition-filter", ("sam2mot",), True)
    cross_object: bool = _option("--no-cross-object", ("sam2mot",), True)
    reconstruction: bool = _option("--no-reconstruction", ("sam2mot",), True)
    clip_len: int | None = _option("--clip-len", ("smotracker",))
    tiles: int | None = _option("--tiles", ("smotracker",))
    tile_overlap: float | None = _option("--tile-overlap", ("smotracker",))
    motion: bool | None = _option("--no-motion", ("smot",))
    top_k: int | None = _option("--top-k", ("smot",))

    def __post_init__(self) -> None:
        if self.engine not in ENGINE_NAMES:
            raise MaskletError(f"unknown engine {self.engine!r}; choose one of {', '.join(ENGINE_NAMES)}")
        if isinstance(self.detector, Path):
            object.__setattr__(self, "detector", str(self.detector))
        if self.classes is not None:
            object.__setattr__(self, "classes", tuple(self.classes))
        misplaced = [f for f in fields(self)[1:] if self.engine not in f.metadata["engines"]
                     and getattr(self, f.name) != f.default]
        if misplaced:
            takers: dict[tuple[str, ...], list[str]] = {}
            for f in misplaced:
                takers.setdefault(f.metadata["engines"], []).append(f.metadata["flag"])
            parts = [f"{', '.join(flags)} ({' or '.join(engines)} only)" for engines, flags in takers.items()]
            raise MaskletError(f"engine {self.engine} does not take {'; '.join(parts)}")
        self._check_ranges()

    def _check_ranges(self) -> None:
        problems = {
            "conf": self.conf is not None and not 0 <= self.conf <= 1,
            "device": self.device not in DEVICES,
            "image_size": self.image_size is not None and self.image_size < 1,
            "clip_len": self.clip_len is not None and self.clip_len < 1,
            "tiles": self.tiles is not None and self.tiles < 1,
            "tile_overlap": self.tile_overlap is not None and not 0 <= self.tile_overlap < 1,
            "top_k": self.top_k is not None and self.top_k < 1,
        }
        wanted = {"conf": "between 0 and 1", "device": f"one of {', '.join(DEVICES)}", "image_size": "at least 1",
                  "clip_len": "at least 1", "tiles": "at least 1", "tile_overlap": "at least 0 and below 1",
                  "top_k": "at least 1"}
        for name, bad in problems.items():
            if bad:
                value = getattr(self, name)
                raise MaskletError(f"engine {self.engine}: {self.flag(name)} {value!r} must be {wanted[name]}")

    @classmethod
    def flag(cls, name: str) -> str:
        """The command-line flag of option ``name``."""
        return cls.__dataclass_fields__[name].metadata["flag"]

    @classmethod
    def applicable(cls, engine: str, **values: Any) -> EngineOptions:
        """``engine``'s options from ``values``, leaving out those it does not take (one set of values for
        several engines, as benchmarks use)."""
        taken = {f.name for f in fields(cls)[1:] if engine in f.metadata["engines"]}
        return cls(engine, **{key: value for key, value in values.items() if key in taken})

    def to_dict(self) -> dict[str, Any]:
        """The stored form (meta ``engine``'s ``options``): the options that differ from their defaults."""
        return {f.name: list(value) if isinstance(value, tuple) else value
                for f in fields(self)[1:] if (value := getattr(self, f.name)) != f.default}

    @classmethod
    def from_dict(cls, engine: str, values: dict[str, Any]) -> EngineOptions:
        """The options stored in a project (``to_dict``; older projects stored the same keys). ``MaskletError``
        naming the key when one is unknown or holds a value of the wrong kind."""
        known = {f.name: f for f in fields(cls)[1:]}
        unknown = sorted(set(values) - set(known))
        if unknown:
            raise MaskletError(f"engine {engine}: unknown option {unknown[0]!r}")
        for key, value in values.items():
            if not _fits(key, value, known[key].default):
                raise MaskletError(f"engine {engine}: option {key!r} cannot be {value!r}")
        return cls(engine, **values)

    def segmenter_options(self) -> dict[str, Any]:
        """``SAM2Engine`` keyword options: these options' model, device and input size."""
        options: dict[str, Any] = {"model": self.sam2 or "tiny", "device": self.device}
        if self.image_size is not None:
            options["image_size"] = self.image_size
        if self.random_init:
            options["random_init"] = True
        return options

    def without_device(self) -> EngineOptions:
        """These options on the default device: two runs with equal ``without_device`` give the same results."""
        return replace(self, device="auto")

    def with_changes(self, **changes: Any) -> EngineOptions:
        """These options with some changed (validated again)."""
        return replace(self, **changes)


_KINDS: dict[str, tuple[type, ...]] = {
    "detector": (str,), "classes": (list, tuple), "conf": (int, float), "device": (str,), "link": (bool,),
    "sam2": (str,), "image_size": (int,), "random_init": (bool,), "addition_filter": (bool,),
    "cross_object": (bool,), "reconstruction": (bool,), "clip_len": (int,), "tiles": (int,),
    "tile_overlap": (int, float), "motion": (bool,), "top_k": (int,),
}


def _fits(key: str, value: Any, default: Any) -> bool:
    """Whether a stored ``value`` has the kind option ``key`` (of that ``default``) takes."""
    if value is None:
        return default is None
    kinds = _KINDS[key]
    return isinstance(value, kinds) and (bool in kinds or not isinstance(value, bool))
