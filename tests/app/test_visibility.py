"""Track visibility: hide/show, solo, lock, as toggles over the selected tracks."""
from __future__ import annotations

from app.visibility import TrackVisibility


def test_hide_toggles_and_solo_shows_only_the_soloed_tracks() -> None:
    view = TrackVisibility()
    view.toggle_hidden([1, 2])
    assert view.invisible([1, 2, 3]) == [1, 2]
    view.toggle_hidden([2, 3])  # not all hidden yet: hide both
    assert view.invisible([1, 2, 3]) == [1, 2, 3]
    view.toggle_hidden([2, 3])  # all hidden: show them again
    assert view.invisible([1, 2, 3]) == [1]
    view.toggle_solo([2])
    assert view.invisible([1, 2, 3, 4]) == [1, 3, 4]  # a track added while soloing is not drawn either
    view.toggle_hidden([2])  # hiding the soloed track ends its solo
    assert view.solo == set() and view.invisible([1, 2, 3]) == [1, 2]
    view.toggle_solo([1])  # soloing a hidden track shows it
    assert view.invisible([1, 2, 3]) == [2, 3]
    view.toggle_solo([1])
    assert view.invisible([1, 2, 3]) == [2]
    view.show_all()
    assert view.invisible([1, 2, 3]) == []


def test_lock_toggles_per_selection_and_unlock_all() -> None:
    view = TrackVisibility()
    view.toggle_locked([3, 1])
    assert view.locked_among([1, 2, 3]) == [1, 3]
    view.toggle_locked([1, 2])  # not all locked: lock both
    assert view.locked_among([1, 2, 3]) == [1, 2, 3]
    view.toggle_locked([1, 2])
    assert view.locked_among([1, 2, 3]) == [3]
    view.toggle_locked([])
    assert view.locked == {3}
    view.unlock_all()
    assert view.locked_among([1, 2, 3]) == []
