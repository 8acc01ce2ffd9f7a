"""Which tracks the views draw and which may be edited: hide/show, solo and lock, per track.

This is view state of one window: it is not saved in the project and starts empty for every
project opened (hiding or locking a track never changes the labels that are exported).
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field


@dataclass
class TrackVisibility:
    """Hidden, soloed and locked tracks. While some tracks are soloed only they are visible."""

    hidden: set[int] = field(default_factory=set)
    solo: set[int] = field(default_factory=set)
    locked: set[int] = field(default_factory=set)

    def is_visible(self, track_id: int) -> bool:
        return track_id in self.solo if self.solo else track_id not in self.hidden

    def invisible(self, track_ids: Iterable[int]) -> list[int]:
        """The tracks among ``track_ids`` that are not drawn."""
        return [t for t in track_ids if not self.is_visible(t)]

    def toggle_hidden(self, track_ids: Iterable[int]) -> None:
        """Hide the tracks, or show them again when they are all hidden already."""
        track_ids = set(track_ids)
        if track_ids and track_ids <= self.hidden:
            self.hidden -= track_ids
        else:
            self.hidden |= track_ids
            self.solo -= track_ids

    def toggle_solo(self, track_ids: Iterable[int]) -> None:
        """Show only these tracks, or every visible track again when exactly they are soloed."""
        track_ids = set(track_ids)
        self.solo = set() if track_ids == self.solo else track_ids
        self.hidden -= self.solo

    def show_all(self) -> None:
        self.hidden.clear()
        self.solo.clear()

    def toggle_locked(self, track_ids: Iterable[int]) -> None:
        """Lock the tracks, or unlock them when they are all locked already."""
        track_ids = set(track_ids)
        if track_ids and track_ids <= self.locked:
            self.locked -= track_ids
        else:
            self.locked |= track_ids

    def unlock_all(self) -> None:
        self.locked.clear()

    def locked_among(self, track_ids: Iterable[int]) -> list[int]:
        return sorted(set(track_ids) & self.locked)
