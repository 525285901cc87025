"""The command line, ``stack-tracker``: `commands` holds one function per command,
`usage_commands` import-logins, import-activity and import-users, `spend_commands` import-spend,
`renewal_commands` the calendar and reminders, `map_commands` the stack map,
`options` what they share."""

from .commands import cli, main
from .map_commands import stack_map
from .renewal_commands import calendar, remind
from .spend_commands import import_spend
from .usage_commands import import_activity, import_logins, import_users

cli.add_command(import_logins)
cli.add_command(import_users)
cli.add_command(import_activity)
cli.add_command(import_spend)
cli.add_command(calendar)
cli.add_command(remind)
cli.add_command(stack_map)

__all__ = ["cli", "main"]
