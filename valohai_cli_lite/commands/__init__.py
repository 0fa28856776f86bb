"""One module per command word: `<verb>_command` (Typer: flags -> options) and `run_<verb>`."""
