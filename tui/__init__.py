"""The edge: the Textual app and the Typer command line. Only this package imports Textual or Typer."""
