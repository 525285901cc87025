from .cli import cli

cli(prog_name="stack-tracker")
