"""Reusable Qt widgets: they render the document and emit intents (signals); they never run models."""
