"""``python -m feedserver`` runs the CLI."""

from feedserver.cli import main

main()
