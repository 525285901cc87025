"""The Datasette plugin behind stack-tracker's pages: what the templates may read.

Loaded with ``--plugins-dir`` (``stack-tracker serve``) and copied into every
published site as ``plugins/stack_site.py``, where stack-tracker itself is not
installed: so it imports only Datasette.

Templates get these functions and a few filters:

- ``report(name, where={...}, **params)``: the rows of a canned query, which is
  a report's one SQL definition. Parameters not given are blank, as in a
  blank form field, so the SQL applies its defaults. ``where`` keeps only rows
  whose columns equal a value (or are in a list), without copying any of the
  report's logic: ``report("adoption_by_team", where={"tool": "slack"})``.
- ``lookup(sql, **params)``: rows of a plain lookup (a tool's capabilities, the
  flows into it). Figures come from ``report`` or the derived tables. (Not
  ``query``: that name is Datasette's own on its SQL page, and shadowing it
  there broke the page.)
- ``search(q)``: tools and capabilities matching ``q`` in their full-text indexes
  (a tool by its name, vendor, any alias or notes), each word as the start of one.
- ``names(table, slugs)``: display names of tools, teams or capabilities, by slug.

Every call runs under the site's ``sql_time_limit_ms``; rows are dictionaries.

It also serves ``/search`` (``templates/search.html``) as a route rather than as
a ``pages/`` template: Datasette checks no permission before rendering those,
and a private site must refuse its search to a reader who has not signed in.
And the table pages' search (``?_search=``) reads each word as the start of
one, as the home page's does: see `prepare_connection`. A report's page shows
each slug as the name beside it: see `render_cell`.

And it bounds what one query may hand the server (`prepare_connection`):
arbitrary SQL stays allowed for the dashboard's charts, but
``select zeroblob(900000000)`` must not take the server's memory from every
other reader.
"""

from __future__ import annotations

import json
import re
import sqlite3
import weakref

from datasette import Response, hookimpl
from datasette.utils import derive_named_parameters, escape_fts, tilde_encode
from markupsafe import Markup, escape

PLUGIN = "stack-tracker"
IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
SEARCH_LIMIT = 50
NAMED_TABLES = ("tools", "teams", "capabilities")
CURRENCY_SYMBOLS = {"USD": "$", "EUR": "€", "GBP": "£"}
MIB = 1024 * 1024
#: The longest string or blob SQLite may build or return (its own SQLITE_LIMIT_LENGTH,
#: which it enforces before allocating). The largest real values, a tool's notes
#: and a chart's rows, run to kilobytes: this is a thousand times more.
MAX_VALUE_BYTES = 8 * MIB
#: The most text and bytes one query may return in all: its rows are held in
#: memory until the page is written, copied as it is rendered, by each of the
#: server's SQL threads at once. The biggest real page (a table page of 1,000
#: rows, the home page listing every tool) returns well under a MiB.
MAX_RESULT_BYTES = 16 * MIB


class SiteData:
    """Reads for the templates, against the one database the site serves."""

    def __init__(self, datasette):
        self.datasette = datasette
        self.database = database_name(datasette)

    async def query(self, sql: str, **params) -> list[dict]:
        """The rows of ``sql`` with ``params``, as dictionaries."""
        results = await self.datasette.get_database(self.database).execute(sql, params)
        columns = list(results.columns)
        return [dict(zip(columns, row)) for row in results.rows]

    async def report(self, name: str, where: dict | None = None, **params) -> list[dict]:
        """The rows of canned query ``name``, optionally only those matching ``where``."""
        canned = await self.datasette.get_canned_query(self.database, name, None)
        if canned is None:
            raise ValueError(f"no report {name!r}")
        names = await derive_named_parameters(self.datasette.get_database(self.database), canned["sql"])
        unknown = set(params) - set(names)
        if unknown:
            raise ValueError(f"report {name!r} has no parameter {', '.join(sorted(unknown))}")
        values = {key: "" if params.get(key) is None else str(params[key]) for key in names}
        sql = canned["sql"]
        if where:
            conditions = []
            for index, (column, wanted) in enumerate(where.items()):
                if not IDENTIFIER.match(column):
                    raise ValueError(f"not a column name: {column!r}")
                wanted = await _materialised(wanted)
                wanted = list(wanted) if isinstance(wanted, (list, tuple, set)) else [wanted]
                keys = [f"_where_{index}_{position}" for position in range(len(wanted))]
                values.update(zip(keys, wanted))
                conditions.append(f"[{column}] in ({', '.join(':' + key for key in keys)})" if keys else "0")
            # The report stays one statement; SQLite pushes the filter down into it.
            sql = f"select * from (\n{sql}\n) as report where {' and '.join(conditions)}"
        return await self.query(sql, **values)

    async def search(self, q: str | None) -> dict:
        """Tools and capabilities whose full-text index matches ``q``, best first
        (``available`` is false when the database has no full-text indexes)."""
        found = {"tools": [], "capabilities": [], "available": True}
        terms = prefix_query(q)
        if not terms:
            return found
        database = self.datasette.get_database(self.database)
        if not (await database.table_exists("tools_fts") and await database.table_exists("capabilities_fts")):
            found["available"] = False
            return found
        found["tools"] = await self.query(
            "select tools.slug, tools.name, tools.vendor, tools.status, teams.name as owner_team_name "
            "from tools_fts join tools on tools.rowid = tools_fts.rowid "
            "left join teams on teams.slug = tools.owner_team "
            f"where tools_fts match :terms order by tools_fts.rank, tools.name limit {SEARCH_LIMIT}",
            terms=terms,
        )
        found["capabilities"] = await self.query(
            "select capabilities.slug, capabilities.name, capabilities.category, capabilities.description, "
            "(select group_concat(name, ', ') from (select tools.name from tool_capabilities as provides "
            " join tools on tools.slug = provides.tool where provides.capability = capabilities.slug "
            " order by provides.[primary] desc, tools.name)) as tools "
            "from capabilities_fts join capabilities on capabilities.rowid = capabilities_fts.rowid "
            f"where capabilities_fts match :terms order by capabilities_fts.rank, capabilities.name limit {SEARCH_LIMIT}",
            terms=terms,
        )
        return found

    async def names(self, table: str, keys) -> dict:
        """The display names of some rows of tools, teams or capabilities, by slug."""
        if table not in NAMED_TABLES:
            raise ValueError(f"no names for table {table!r}")
        keys = await _materialised(keys)
        rows = await self.query(
            f"select slug, name from [{table}] where slug in (select value from json_each(:keys))",
            keys=json.dumps([str(key) for key in keys if key is not None]),
        )
        return {row["slug"]: row["name"] for row in rows}

    def row_url(self, table: str, key: object) -> str:
        """The page of one row of ``table``, by its primary key."""
        return self.datasette.urls.row(self.database, table, tilde_encode(str(key)))

    async def reports(self) -> list[dict]:
        """Every canned query (one per report): name, title, description and page."""
        queries = await self.datasette.get_canned_queries(self.database, None)
        return [
            {
                "name": name,
                "title": query.get("title") or name,
                "description": query.get("description") or "",
                "url": self.datasette.urls.table(self.database, name),
            }
            for name, query in queries.items()
        ]


def prefix_query(q: str | None) -> str:
    """What a person typed as a full-text query: each word (or quoted phrase) as
    words, never query syntax, and each as the start of a word, so "sales" finds
    Salesforce and a name in a script written without spaces (百度统计) is found
    by what a reader types first."""
    return " ".join(f"{word}*" for word in re.findall(r'"[^"]*"', escape_fts((q or "").strip())))


async def _materialised(value):
    """A value from a template as a plain value: Jinja's async filters (``map`` …) yield async generators."""
    if hasattr(value, "__aiter__"):
        return [item async for item in value]
    return value


def database_name(datasette) -> str:
    """The database the site is about: the plugin's ``database`` setting, else the first one served."""
    configured = (datasette.plugin_config(PLUGIN) or {}).get("database")
    if configured in datasette.databases:
        return configured
    return next((name for name in datasette.databases if name != "_internal"), configured)


def money(value, currency: str | None = "USD") -> str:
    """``48000, "USD"`` as ``$48,000``; blank for none."""
    if value is None or value == "":
        return ""
    code = (currency or "USD").upper()
    symbol = CURRENCY_SYMBOLS.get(code)
    amount = f"{float(value):,.0f}"
    return f"{symbol}{amount}" if symbol else f"{amount} {code}"


def percent(value) -> str:
    """``0.8`` as ``80%``; ``n/a`` for none."""
    return "n/a" if value is None or value == "" else f"{float(value):.0%}"


def number(value) -> str:
    """``1234`` as ``1,234``; blank for none."""
    if value is None or value == "":
        return ""
    return f"{value:,}" if isinstance(value, int) else f"{float(value):,.0f}"


def web_url(value) -> str | None:
    """``value`` if it is an http(s) address, else None: never a ``javascript:`` link."""
    text = str(value or "").strip()
    return text if re.match(r"^https?://[^\s\"'<>]+$", text, re.IGNORECASE) else None


async def search_page(datasette, request):
    """``/search?q=``: the home page's search box, for readers who may see the database."""
    database = database_name(datasette)
    await datasette.ensure_permissions(request.actor, [("view-database", database), "view-instance"])
    return Response.html(await datasette.render_template("search.html", request=request, view_name="search"))


@hookimpl(trylast=True)
def prepare_connection(conn):
    """Bound each value SQLite builds, and all a query returns, on every connection the site opens;
    and make the table pages' search find what people type.

    Datasette's table search matches ``escape_fts(:search)``, a SQL function
    that keeps each word whole: "hub" would not find HubSpot. The function is
    replaced by `prefix_query` (hence ``trylast``: after Datasette defines it).
    """
    conn.setlimit(sqlite3.SQLITE_LIMIT_LENGTH, MAX_VALUE_BYTES)
    conn.row_factory = bounded_rows(conn.row_factory or sqlite3.Row)
    conn.create_function("escape_fts", 1, prefix_query, deterministic=True)


def bounded_rows(make_row):
    """A row factory that refuses a query once its rows hold more than `MAX_RESULT_BYTES` of text and bytes.

    SQLite's own limit holds each value; this holds their sum (1,000 rows of
    16 MiB each would be 16 GiB). The refusal is an SQLite error, so the page
    says what went wrong as for any other bad query.
    """
    returned: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # cursor -> bytes returned so far

    def row_factory(cursor, row):
        size = returned.get(cursor, 0)
        for value in row:
            if value.__class__ is str or value.__class__ is bytes:
                size += len(value)
        if size > MAX_RESULT_BYTES:
            raise sqlite3.DataError(f"the query returns more than {MAX_RESULT_BYTES // MIB} MiB: "
                                    "select fewer rows or shorter values")
        returned[cursor] = size
        return make_row(cursor, row)

    return row_factory


@hookimpl
def render_cell(row, value, column, table, database, datasette):
    """On a report's page, a slug shows as the display name the row carries beside it
    (``tool_name`` for ``tool``), linked to its page: people read names, the JSON keeps slugs."""
    named = f"{column}_name"
    if table is not None or value in (None, "") or not hasattr(row, "keys") or named not in row.keys():
        return None
    name = row[named] if row[named] not in (None, "") else value
    target = ((datasette.plugin_config(PLUGIN) or {}).get("named_columns") or {}).get(column)
    if target is None:
        return Markup(escape(str(name)))
    url = datasette.urls.row(database, target, tilde_encode(str(value)))
    return Markup(f'<a href="{escape(url)}">{escape(str(name))}</a>')


@hookimpl
def register_routes():
    return [(r"^/search$", search_page)]


@hookimpl
def prepare_jinja2_environment(env):
    env.filters.update({"money": money, "percent": percent, "number": number, "web_url": web_url})


@hookimpl
def extra_template_vars(datasette):
    site = SiteData(datasette)
    return {
        "stack_db": site.database,
        "report": site.report,
        "lookup": site.query,
        "search": site.search,
        "names": site.names,
        "row_url": site.row_url,
        "site_reports": site.reports,
    }
