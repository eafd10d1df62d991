"""One module per ``mmnet`` subcommand: ``add_arguments(parser)`` and ``run(args) -> int``."""
