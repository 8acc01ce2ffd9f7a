"""One module per ``masklet`` sub-command. Each defines ``register(subparsers)``.

A module's ``register`` adds its parser and sets ``func`` (``args -> int`` exit code) with
``parser.set_defaults(func=...)``. Heavy imports (torch, Qt, ultralytics) belong inside the
handler so that ``masklet --help`` stays fast.
"""

COMMAND_MODULES = ("open", "info", "import_labels", "export", "convert", "eval", "review", "track", "batch", "bench")
