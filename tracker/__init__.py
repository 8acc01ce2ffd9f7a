"""Tracking engines: video sources, detectors, the SAM2 engine, SAM2MOT, SMOTracker. No Qt."""
