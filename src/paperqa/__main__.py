"""``python -m paperqa`` runs the CLI."""

from .cli import app

app()
