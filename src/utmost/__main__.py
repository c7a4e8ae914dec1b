"""``python -m utmost`` runs the CLI."""

from utmost.cli import main

main()
