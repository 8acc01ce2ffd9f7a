"""Label formats: one module per format (writer and reader), ``registry`` maps names to modules,
``base`` holds what they share."""
