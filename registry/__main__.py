"""`python -m registry` runs the `flep` CLI."""

from registry.cli import main

main()
