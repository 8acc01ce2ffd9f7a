"""Widget tests run offscreen (``make test`` sets this too)."""
import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
