"""The commands: a thin skin over the library. Each command parses its
options, opens the database, calls one library function and prints its result."""

from __future__ import annotations

import inspect
import signal
import sys
from pathlib import Path

import click

from .. import __version__
from ..database import open_database, open_existing
from ..demo import build_demo
from ..generate import generate as generate_organisation
from ..database.custom_fields import custom_field_counts
from ..inputs.ingest import Options, ingest as ingest_file
from ..inputs.kinds import KINDS, describe_kind
from ..inputs.readers import FORMATS
from ..inputs.taxonomy import init as init_database
from ..inputs.workbook_ingest import ingest_workbook
from ..maintenance import backup as backup_database, check as check_database
from ..output import FORMATS as REPORT_FORMATS, render, write_output
from ..reports.registry import REPORTS, answer_report
from ..reports.summary import FORMATS as SUMMARY_FORMATS, summary as render_summary
from ..site.publish import PLATFORMS, deploy, deploy_command, deploy_database, publish as publish_site, shell_command
from ..site.serve import serve as serve_site
from ..stack_map import summary_stack_map
from .options import (
    database_argument,
    date_format_option,
    echo_result,
    friendly_errors,
    parse_params,
    period_option,
    progress_bar,
    sheet_option,
    silent_option,
    team_option,
)


def main() -> None:
    """The console script: `cli`, with SIGTERM and SIGHUP stopping it as Ctrl-C does.

    By default they end Python at once, so no ``finally`` runs and a killed
    publish or backup would leave its scratch files behind; as an interrupt
    they unwind like any error, and the commands clean up after themselves.
    """

    def interrupt(signum, frame):
        raise KeyboardInterrupt

    for stop in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(stop, interrupt)
    cli(prog_name="stack-tracker")


@click.group()
@click.version_option(__version__, prog_name="stack-tracker")
def cli():
    """The true picture of a marketing technology stack.

    Ingest what you know about your tools, teams, costs and usage into
    SQLite, then browse it as a Datasette site.

    \b
        stack-tracker demo                      # the sample organisation, served
        stack-tracker init stack.db
        stack-tracker ingest stack.db tools tools.csv
        stack-tracker serve stack.db
    """


@cli.command()
@database_argument(must_exist=False)
@click.option("--taxonomy", type=click.Path(dir_okay=False, exists=True, path_type=Path),
              help="Your own capability taxonomy (CSV: capability, category, description) instead of the shipped one.")
@click.option("--base-currency", metavar="CODE",
              help="The currency every report totals in, converted at the rates you ingest (default: USD, or the "
                   "database's). It can change only while the database holds no rates.")
@silent_option
@friendly_errors
def init(db_path, taxonomy, base_currency, silent):
    """Create a database and load the capability taxonomy.

    The shipped taxonomy has 49 capabilities in 6 categories. Running init
    again on an existing database upgrades its schema and changes nothing else.

    \b
        stack-tracker init stack.db
        stack-tracker init stack.db --base-currency EUR
        stack-tracker init stack.db --taxonomy our-capabilities.csv
    """
    db = open_database(db_path)
    echo_result(init_database(db, taxonomy, base_currency=base_currency), silent)


@cli.command()
@database_argument()
@click.argument("kind", required=False, metavar="KIND", type=click.Choice(list(KINDS)))
@click.argument("files", nargs=-1, metavar="FILES...", type=click.Path(dir_okay=False, exists=True, path_type=Path))
@click.option("--workbook", type=click.Path(dir_okay=False, exists=True, path_type=Path),
              help="Load every sheet of this .xlsx workbook named after a kind (Tools, Teams, Usage …), in one transaction; "
                   "instead of KIND and FILES.")
@click.option("--format", "fmt", type=click.Choice(FORMATS), help="Read the files as this format instead of guessing from the extension.")
@click.option("--dry-run", is_flag=True, help="Check the files and say what would change, without writing anything.")
@click.option("--allow-new", is_flag=True, help="Create tools (status 'unreviewed') and teams that the files name but the database does not know.")
@date_format_option
@click.option("--currency", help="Currency of amounts that name none (default: the database's base currency).")
@click.option("--as-of", metavar="DATE",
              help="Tools files only: the day the file's snapshot of the inventory is as of, which its changes are "
                   "recorded on in the tools' history (default: today). Load older snapshots first.")
@click.option("--header-row", type=click.IntRange(min=1), metavar="N",
              help="The line (a spreadsheet's row number) of the header, when the rows above it are not titles "
                   "(default: the first row that names the kind's required columns).")
@sheet_option
@silent_option
@friendly_errors
def ingest(db_path, kind, files, workbook, fmt, dry_run, allow_new, date_format, currency, as_of, header_row, sheet, silent):
    """Load FILES of one KIND into the database, or every sheet of a workbook.

    KIND is one of: {kinds}. Or, instead of KIND and
    FILES, --workbook FILE. Each file loads whole or not at all; a rejected file lists every problem
    with its line. Re-ingesting an unchanged file changes nothing; a corrected
    file updates rows by their natural key. `stack-tracker kinds` lists the
    columns each kind accepts.

    Spreadsheets are taken as people keep them: title rows above the header
    are skipped (the header is the first row naming the kind's required
    columns; --header-row N says otherwise), and so are totals rows and notes
    below the data, each named in a warning. Columns a tools, teams or
    capabilities file has beyond the kind's are kept as custom fields of each
    row. --workbook loads each sheet named after a kind, in dependency order,
    all or nothing.

    \b
        stack-tracker ingest stack.db teams teams.csv
        stack-tracker ingest stack.db usage usage-*.csv --allow-new
        stack-tracker ingest stack.db tools export.txt --format tsv --dry-run
        stack-tracker ingest stack.db tools tools-2025-12.csv --as-of 2025-12-31
        stack-tracker ingest stack.db tools inventory.xlsx --header-row 4
        stack-tracker ingest stack.db --workbook stack.xlsx
    """
    if workbook and (kind or files):
        raise click.UsageError("give KIND and FILES, or --workbook, not both")
    if not workbook and not (kind and files):
        raise click.UsageError("give KIND and FILES (or --workbook FILE)")
    if workbook and (header_row or fmt):
        raise click.UsageError("--header-row and --format apply to single files: a workbook's sheets find their own headers")
    db = open_database(db_path, must_exist=True)
    options = Options(allow_new=allow_new, date_format=date_format, default_currency=currency, sheet=sheet, as_of=as_of,
                      header_row=header_row)
    if workbook:
        with progress_bar(workbook.name, silent, workbook.stat().st_size) as progress:
            echo_result(ingest_workbook(db, workbook, dry_run=dry_run, options=options, progress=progress), silent)
        return
    for path in files:
        with progress_bar(path.name, silent, path.stat().st_size) as progress:
            result = ingest_file(db, kind, path, fmt=fmt, dry_run=dry_run, options=options, progress=progress)
        echo_result(result, silent)


ingest.help = ingest.help.replace("{kinds}", ", ".join(KINDS))


@cli.command()
@click.argument("kind", required=False, type=click.Choice(list(KINDS)))
@click.option("--db", "db_path", type=click.Path(dir_okay=False, exists=True, path_type=Path),
              help="Also list the custom fields this database holds for each kind.")
@friendly_errors
def kinds(kind, db_path):
    """List the kinds of input file and the columns (and header aliases) each accepts.

    With --db, also the custom fields the database keeps for each kind: the
    columns its files had beyond the kind's, with how many rows have each.

    \b
        stack-tracker kinds
        stack-tracker kinds usage
        stack-tracker kinds tools --db stack.db
    """
    db = open_existing(db_path) if db_path else None
    for spec in KINDS.values():
        if kind in (None, spec.name):
            fields = custom_field_counts(db, spec.table) if db is not None else None
            click.echo(describe_kind(spec, fields) + "\n")


@cli.command()
@database_argument()
@click.argument("name", type=click.Choice(list(REPORTS)), metavar="NAME")
@period_option
@team_option
@click.option("--as-of", metavar="YYYY-MM-DD", help="What counts as today for date-relative reports (default: today).")
@click.option("--param", "params", multiple=True, metavar="KEY=VALUE",
              help="A report parameter or threshold, e.g. renewal_window_days=60 (repeatable).")
@click.option("--format", "fmt", type=click.Choice(REPORT_FORMATS), default="table", show_default=True)
@friendly_errors
def report(db_path, name, period, team, as_of, params, fmt):
    """Run report NAME and print its rows.

    Every report is one SQL query stored with the package; the Datasette site
    runs the same query as a canned query, so both show the same numbers.
    Teams and tools are named by name, alias or slug, in any case. --period,
    --team or --as-of given to a report that does not use it is left out, with
    a note on stderr. Reports and their parameters, with defaults:
    """
    db = open_database(db_path, must_exist=True)
    answer = answer_report(db, name, period=period, team=team, as_of=as_of, params=parse_params(params))
    for note in answer.notes:
        click.echo(f"note: {note}", err=True)
    click.echo(render(answer.rows, fmt), nl=False)


def _report_list() -> str:
    lines = []
    for name, spec in REPORTS.items():
        lines.append(f"{name}: {spec.title}")
        lines.append("    " + ", ".join(f"{key}={default}" if default else key for key, default in spec.parameters.items()))
    return "\n".join(lines)


report.help = inspect.cleandoc(report.help) + f"""

\b
{_report_list()}

\b
Examples:
    stack-tracker report stack.db adoption
    stack-tracker report stack.db renewals --as-of 2026-11-30 --param renewal_window_days=60
    stack-tracker report stack.db gaps --team "Field Marketing" --format markdown
"""


@cli.command()
@database_argument()
@team_option
@period_option
@click.option("--as-of", metavar="YYYY-MM-DD", help="What counts as today for renewals (default: today).")
@click.option("--format", "fmt", type=click.Choice(SUMMARY_FORMATS), default="markdown", show_default=True)
@click.option("-o", "--output", type=click.Path(dir_okay=False, writable=True, path_type=Path),
              help="Write to this file instead of printing.")
@friendly_errors
def summary(db_path, team, period, as_of, fmt, output):
    """An adoption summary a leader reads in two minutes.

    Headline numbers (capability utilisation beside industry survey figures,
    seat utilisation, spend, idle-seat cost), what changed since last month,
    the top findings of each report with what to do (savings count each tool
    once), money found (software paid outside the inventory or twice, seats
    to take back), and the tools in use. The HTML is self-contained, to email
    or print, with the stack map drawn in it; a Markdown file written with -o
    links to the map's PNG, written beside it as NAME-stack-map.png.

    \b
        stack-tracker summary stack.db
        stack-tracker summary stack.db --team "Field Marketing" --format html -o field.html
    """
    db = open_database(db_path, must_exist=True)
    stack_map = summary_stack_map(db, fmt=fmt, output=output, db_path=db_path, team=team, period=period)
    text = render_summary(db, team=team, period=period, as_of=as_of, fmt=fmt, stack_map=stack_map)
    if output:
        write_output(output, text, db_path=db_path)
        click.echo(f"Wrote {output}", err=True)
    else:
        click.echo(text, nl=False)


@cli.command()
@click.argument("path", metavar="DB|SITE", type=click.Path(exists=True, path_type=Path))
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8001, show_default=True, type=int, help="Port to listen on.")
@friendly_errors
def serve(path, host, port):
    """Browse a database, or a site written by publish, as a Datasette site.

    A database file is served live, so what an ingest writes shows at once
    (the first time, it gets full-text indexes on tools and capabilities). A
    published directory is served read-only, exactly as it will be deployed.

    \b
        stack-tracker serve stack.db
        stack-tracker serve site/ --port 8080
    """
    click.echo(f"Serving {path} at http://{host}:{port}/ (Ctrl-C to stop)", err=True)
    sys.exit(serve_site(path, host=host, port=port))


@cli.command()
@database_argument()
@click.argument("outdir", required=False, type=click.Path(file_okay=False, path_type=Path))
@click.option("--to", "platform", type=click.Choice(PLATFORMS),
              help="Deploy the site with `datasette publish` (the platform's own tool must be installed and signed in).")
@click.option("--app", metavar="NAME", help="With --to: the Cloud Run service or Heroku app to deploy to.")
@click.option("--dry-run", is_flag=True, help="With --to: print the datasette publish command instead of running it.")
@click.option("--password-hash", metavar="HASH", envvar="STACK_TRACKER_PASSWORD_HASH", show_envvar=True,
              help="Make the site private: readers sign in as 'viewer' with the password this is the hash of "
                   "(make it with `datasette hash-password`).")
@click.option("--follow-symlinks", is_flag=True,
              help="If OUTDIR is a symlink, write the site where it points (refused otherwise).")
@click.option("--publish-names", is_flag=True,
              help="Publish team leads' names too (left out by default: they name people).")
@silent_option
@friendly_errors
def publish(db_path, outdir, platform, app, dry_run, password_hash, follow_symlinks, publish_names, silent):
    """Write a deployable Datasette site for DB to OUTDIR, or deploy it.

    OUTDIR gets a copy of the database as stack.db with the report tables,
    search indexes and statistics built and nothing that names a person (no
    per-person rows, no team leads' names, no e-mail address but the owner
    contacts you published), metadata.yml, templates, the site's plugin,
    settings, an inspect file, pinned requirements, a README and a manifest
    of what it wrote. `stack-tracker serve OUTDIR` serves it read-only. With
    --to, the same files go to `datasette publish`. With a password hash,
    every page and the JSON API ask for the password.

    Publish writes only what it owns. It refuses an OUTDIR that holds the
    database or its files, a symlink (unless --follow-symlinks), or a folder
    with files it did not write; into an earlier site it replaces only what
    that site's manifest lists, keeping any file you added.

    \b
        stack-tracker publish stack.db site/
        stack-tracker serve site/
        datasette hash-password        # prints the hash of a password you type
        export STACK_TRACKER_PASSWORD_HASH='pbkdf2_sha256$480000$...'
        stack-tracker publish stack.db private-site/
        stack-tracker publish stack.db --to cloudrun --app martech-stack
        stack-tracker publish stack.db site/ --to heroku --app martech-stack --dry-run
    """
    if outdir is None and platform is None:
        raise click.UsageError("give OUTDIR, or --to a platform to deploy to")
    if (app or dry_run) and platform is None:
        raise click.UsageError("--app and --dry-run go with --to")
    if dry_run and outdir is None:
        raise click.UsageError("--dry-run needs OUTDIR: the command it prints refers to that directory")

    def echo_published(result):
        if not silent:
            click.echo(result.summary(), err=True)
        for warning in result.warnings:
            click.echo(f"warning: {warning}", err=True)

    if outdir is None:
        sys.exit(deploy_database(db_path, platform, app=app, password_hash=password_hash, publish_names=publish_names,
                                 on_published=echo_published))
    echo_published(publish_site(db_path, outdir, password_hash=password_hash, follow_symlinks=follow_symlinks,
                                publish_names=publish_names))
    if platform is None:
        if not silent:
            click.echo(f"Serve it with: stack-tracker serve {outdir}", err=True)
    elif dry_run:
        click.echo(shell_command(deploy_command(outdir, platform, app=app)))
    else:
        sys.exit(deploy(outdir, platform, app=app))


@cli.command()
@click.option("--db", "db_path", default="sample.db", show_default=True, type=click.Path(dir_okay=False, path_type=Path),
              help="Where to build the sample database (replaced if it exists).")
@click.option("--port", default=8001, show_default=True, type=int, help="Port to serve on.")
@click.option("--no-serve", is_flag=True, help="Build the database and stop.")
@silent_option
@friendly_errors
def demo(db_path, port, no_serve, silent):
    """Build the sample organisation's database and serve it.

    The sample is a fictional mid-size marketing organisation with real
    findings planted for the reports: overlaps, gaps, shelfware, shadow IT.

    \b
        stack-tracker demo
        stack-tracker demo --db /tmp/sample.db --no-serve
    """
    build_demo(db_path, on_result=lambda result: echo_result(result, silent))
    if not silent:
        click.echo(f"Built {db_path}", err=True)
    if not no_serve:
        click.echo(f"Serving {db_path} at http://127.0.0.1:{port}/ (Ctrl-C to stop)", err=True)
        sys.exit(serve_site(db_path, port=port))


@cli.command()
@database_argument()
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--force", is_flag=True, help="Replace FILE if it exists.")
@silent_option
@friendly_errors
def backup(db_path, file, force, silent):
    """Copy DB to FILE, safely while the database is in use.

    The copy is one consistent state (before or after an ingest running at
    the same time, never half of one), is checked before it replaces
    anything, and is a single file, ready to store elsewhere. The key file
    that pseudonymises people is not copied: keep it with your backups.

    \b
        stack-tracker backup stack.db backups/stack-2026-03-31.db
        stack-tracker backup stack.db stack-copy.db --force
    """
    db = open_existing(db_path)
    with progress_bar(db_path.name, silent) as progress:
        result = backup_database(db, file, force=force, progress=progress)
    echo_result(result, silent)


@cli.command()
@database_argument()
@click.option("--repair", is_flag=True, help="Rebuild the derived report tables if they disagree with the base tables.")
@friendly_errors
def check(db_path, repair):
    """Check that DB is intact and consistent; exit 1 saying what is wrong if not.

    Runs SQLite's integrity and foreign key checks, lists rows that name a
    team, tool or capability the database lacks (grouped, with counts), and
    checks that the report tables agree with the base tables. Prints "ok: …"
    when all is well. Nothing is changed, except with --repair.

    \b
        stack-tracker check stack.db
        stack-tracker check stack.db --repair
    """
    db = open_existing(db_path)
    result = check_database(db, repair=repair)
    for repaired in result.repaired:
        click.echo(f"repaired: {repaired}", err=True)
    if not result.ok:
        raise click.ClickException(result.summary())
    click.echo(result.summary())


# -- A synthetic organisation at any scale -----------------------------------


@cli.command()
@click.argument("outdir", type=click.Path(file_okay=False, path_type=Path))
@click.option("--teams", type=int, required=True, help="Teams in the organisation (at least 2).")
@click.option("--tools", type=int, required=True, help="Tools in the inventory (at least 5).")
@click.option("--months", type=int, required=True, help="Months of usage, ending with --end.")
@click.option("--users", type=int, required=True, help="People in the organisation (at least one per team).")
@click.option("--events", type=int, default=0, show_default=True,
              help="Also write an Okta System Log of this many events (okta.jsonl) and a people directory (directory.csv).")
@click.option("--seed", type=int, default=0, show_default=True, help="The same seed and arguments give the same files.")
@click.option("--end", default="2026-11", show_default=True, metavar="YYYY-MM", help="The last month of usage and sign-ins.")
@click.option("--force", is_flag=True, help="Write into OUTDIR even if it holds files (the generated ones are replaced).")
@silent_option
@friendly_errors
def generate(outdir, teams, tools, months, users, events, seed, end, force, silent):
    """Write a synthetic organisation to OUTDIR, in the shapes of the sample's files.

    Teams, tools, aliases, tool capabilities, needs, monthly usage and
    integrations, with the findings of real stacks planted at any scale:
    tools nearly every team uses and a long tail, overlaps, gaps, shelfware,
    one-person tools, shadow IT, renewals over the coming year. With
    --events, also an Okta System Log and a people directory. Load it the way
    the sample loads (usage with --allow-new: it names tools missing from the
    inventory).

    \b
        stack-tracker generate org/ --teams 12 --tools 60 --months 12 --users 300 --events 100000
        stack-tracker init org.db
        stack-tracker ingest org.db teams org/teams.csv
        stack-tracker ingest org.db tools org/tools.csv
        stack-tracker ingest org.db aliases org/aliases.csv
        stack-tracker ingest org.db tool-capabilities org/tool-capabilities.csv
        stack-tracker ingest org.db needs org/needs.csv
        stack-tracker ingest org.db usage org/usage.csv --allow-new
        stack-tracker ingest org.db integrations org/integrations.csv
        stack-tracker import-logins org.db org/okta.jsonl --source okta --directory org/directory.csv
    """
    with progress_bar(outdir.name, silent) as progress:
        result = generate_organisation(outdir, teams=teams, tools=tools, months=months, users=users, events=events,
                                       seed=seed, end=end, force=force, progress=progress)
    if not silent:
        click.echo(result.summary(), err=True)
