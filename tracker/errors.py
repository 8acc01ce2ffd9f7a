"""Errors the user can act on. The CLI prints them as one line; the GUI shows them in a dialog."""


class MaskletError(Exception):
    """Base class of every error caused by the user's input or environment (not a bug)."""


class VideoError(MaskletError):
    """A video file or image folder is missing, unreadable or inconsistent."""


class CheckpointError(MaskletError):
    """A model checkpoint is missing, corrupt, or of the wrong kind."""


class DetectorError(MaskletError):
    """A detector's weights are missing or cannot be loaded."""
