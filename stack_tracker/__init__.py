"""stack-tracker: the true picture of a marketing technology stack, in SQLite and Datasette."""

__version__ = "0.1.0"
