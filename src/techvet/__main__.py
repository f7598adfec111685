"""``python -m techvet``: the same command line as ``techvet``."""

from techvet.cli import main

main()
