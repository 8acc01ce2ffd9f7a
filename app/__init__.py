"""Application layer: the annotation document, projects, the CLI and the main window."""
