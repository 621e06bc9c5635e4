"""The command line: thin typer modules over the core. Only this layer prints."""
