"""The Masklet main window, its controllers and the application set-up.

Importing this package imports OpenCV through ``tracker.opencv`` first, which undoes what ``cv2`` does
to the Qt environment on import, so PySide6 finds its own platform plugins whatever the import order.
"""
import tracker.opencv  # noqa: F401
