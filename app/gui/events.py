"""The events panel's controller: reads the recorded events and the conflict episodes of the open document (on
open and after each change), feeds the events panel, the timeline's conflict links, the track table's conflict
counts and the conflict navigator, and marks episodes resolved through the undo stack."""
from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import replace

from PySide6.QtCore import QObject, Signal

from app.document import Document, TrackSummary
from app.edits import MarkReviewed
from app.gui.undo import EditStack
from app.review import ConflictEpisode, conflict_episodes
from tracker.results import EventKind
from widgets.events_panel import EventRow, EventsPanel
from widgets.timeline import TimelineWidget

KINDS = tuple(kind for kind in EventKind if kind is not EventKind.REVIEWED)
"""What the panel lists (review marks show as the resolved state of conflict episodes and in the review dock)."""


def event_rows(doc: Document, episodes: Sequence[ConflictEpisode]) -> list[EventRow]:
    """The panel's rows: every event but conflicts and review marks, and one row per conflict episode; by frame."""
    rows = [EventRow(e.frame, e.kind.value, tuple(t for t in (e.track_id, e.other_id) if t is not None), e.detail)
            for e in doc.events() if e.kind in KINDS and e.kind is not EventKind.CONFLICT]
    for episode in episodes:
        item = episode.item
        state = "resolved" if episode.resolved else "open"
        rows.append(EventRow(item.start, EventKind.CONFLICT.value, tuple(item.tracks),
                             f"{state} · {episode.frames} frames in conflict", item.end - 1, episode.resolved))
    return sorted(rows, key=lambda row: (row.frame, row.tracks))


class EventsController(QObject):
    """``goto(frame, tracks)`` is emitted with the frame and tracks to show; ``message`` with what to tell."""

    goto = Signal(int, list)
    message = Signal(str)

    def __init__(self, stack: EditStack, panel: EventsPanel, timeline: TimelineWidget,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.stack, self.panel, self.timeline = stack, panel, timeline
        self.doc: Document | None = None
        self.episodes: list[ConflictEpisode] = []
        self._rows: list[EventRow] = []
        panel.activated.connect(self.goto)
        panel.resolveRequested.connect(self.resolve_row)

    def set_document(self, doc: Document | None) -> None:
        self.doc = doc
        self.panel.editable = doc is not None and not doc.read_only
        self.refresh()

    def refresh(self) -> None:
        """Re-read the episodes (timeline links, navigator) and, while the panel is shown, its rows."""
        self.episodes = [] if self.doc is None else conflict_episodes(self.doc)
        rows = [(e.item.start, *e.item.tracks) for e in self.episodes]
        self.timeline.data.set_conflicts([r for r, e in zip(rows, self.episodes) if not e.resolved],
                                         [r for r, e in zip(rows, self.episodes) if e.resolved])
        self.timeline.viewport().update()
        if self.doc is None or self.panel.isVisible():
            self._rows = [] if self.doc is None else event_rows(self.doc, self.episodes)
            self.panel.set_rows(self._rows, [kind.value for kind in KINDS])

    def track_summaries(self) -> list[TrackSummary]:
        """The document's track summaries with their number of conflict episodes (not of conflict frames)."""
        counts = Counter(track for episode in self.episodes for track in episode.item.tracks)
        return [replace(summary, conflict_count=counts[summary.id]) for summary in self.doc.track_summaries()]

    def show(self, visible: bool) -> None:
        """The panel's dock was shown or hidden."""
        if visible:
            self.refresh()

    def resolve_row(self, index: int) -> bool:
        """Resolve the conflict episode of the panel's row ``index``."""
        row = self._rows[index]
        return self.resolve(next(e for e in self.episodes
                                 if e.item.start == row.frame and tuple(e.item.tracks) == row.tracks))

    def resolve_at(self, frame: int, tracks: Sequence[int]) -> bool:
        """Resolve the open episode at ``frame`` of the selected ``tracks`` (the one the navigator shows)."""
        found = [e for e in self.episodes if not e.resolved and e.item.start <= frame < e.item.end
                 and set(e.item.tracks) <= set(tracks)]
        if not found:
            self.message.emit(f"No open conflict of the selected tracks at frame {frame}")
            return False
        return self.resolve(found[0])

    def resolve(self, episode: ConflictEpisode) -> bool:
        """Mark an episode resolved, as one undoable edit."""
        if self.doc is None or self.doc.read_only or episode.resolved:
            return False
        return self.stack.apply(MarkReviewed(episode.item))
