"""Base currency and exchange rates: `init --base-currency` and `ingest rates`, including the ECB's file as published.

A rate is base-currency units for one unit of a currency, in force from its
date. The European Central Bank publishes units of each currency for one
euro, a day per row; in a USD base, a currency C's rate that day is
(USD per euro) / (C per euro), and the euro's is USD per euro.
"""

from __future__ import annotations

import pytest

from conftest import rows, run, write

# As the ECB publishes eurofxref-hist.csv: newest first, N/A gaps, a comma ending every line.
ECB_HISTORY = """Date,USD,JPY,CYP,GBP,
2024-03-28,1.0811,163.67,N/A,0.8551,
2024-03-27,N/A,163.94,N/A,0.8566,
2024-03-26,1.0846,164.09,N/A,0.8575,
"""
# As it publishes the day's eurofxref.csv: a space after each comma, the day in words.
ECB_DAILY = """Date, USD, JPY, GBP, 
28 March 2024, 1.0811, 163.67, 0.8551, 
"""


def init(db_path, *options, exit_code=0):
    return run("init", db_path, *options, "--silent", exit_code=exit_code)


def rates(db_path):
    return [(row["currency"], row["date"], row["rate"]) for row in rows(db_path, "select * from rates order by date, currency")]


def test_the_base_currency_is_a_setting_of_the_database(tmp_path):
    db_path = tmp_path / "stack.db"
    init(db_path, "--base-currency", "eur")
    assert rows(db_path, "select value from settings where key = 'base_currency'") == [{"value": "EUR"}]
    init(db_path)  # again, without the option: it stays
    assert rows(db_path, "select value from settings where key = 'base_currency'") == [{"value": "EUR"}]
    result = init(db_path, "--base-currency", "euros", exit_code=1)
    assert "Error: --base-currency 'euros': expected a three-letter currency code such as USD or EUR" in result.output


def test_usd_unless_chosen(tmp_path):
    init(tmp_path / "stack.db")
    assert rows(tmp_path / "stack.db", "select value from settings where key = 'base_currency'") == [{"value": "USD"}]


def test_a_rates_file(tmp_path):
    db_path = tmp_path / "stack.db"
    init(db_path, "--base-currency", "GBP")
    run("ingest", db_path, "rates", write(tmp_path / "rates.csv", "currency,rate,in force from\nEUR,0.8551,2024-03-28\n€,\"0,86\",2024-01-01\nUSD,0.79,2024-01-01\n"),
        "--silent")
    assert rates(db_path) == [("EUR", "2024-01-01", 0.86), ("USD", "2024-01-01", 0.79), ("EUR", "2024-03-28", 0.8551)]


def test_the_base_cannot_change_under_its_rates(tmp_path):
    db_path = tmp_path / "stack.db"
    init(db_path)
    run("ingest", db_path, "rates", write(tmp_path / "rates.csv", "currency,rate,date\nEUR,1.08,2024-01-01\n"), "--silent")
    result = init(db_path, "--base-currency", "EUR", exit_code=1)
    assert ("Error: the database's rates are in USD, its base currency: to total in EUR, make a new database "
            "with --base-currency EUR and import its rates there") in result.output
    init(db_path, "--base-currency", "USD")  # the same base: nothing to refuse


def test_the_ecb_history_as_published_in_a_dollar_base(tmp_path):
    db_path = tmp_path / "stack.db"
    init(db_path)
    result = run("ingest", db_path, "rates", write(tmp_path / "eurofxref-hist.csv", ECB_HISTORY))
    # Three days, each giving a rate per currency it has: 3 on the 28th and the 26th, none on the 27th.
    assert "eurofxref-hist.csv: read 6 rates rows, wrote 6 (6 new, 0 updated, 0 unchanged)" in result.output
    # CYP on each of the three days, and USD on the 27th.
    assert "warning: eurofxref-hist.csv: left out 4 gaps (N/A)" in result.output
    assert "warning: eurofxref-hist.csv: left out 1 days without a rate for the base currency" in result.output
    # 2024-03-27 has no USD rate: no rate that day. CYP is N/A throughout.
    assert rates(db_path) == [
        ("EUR", "2024-03-26", 1.0846), ("GBP", "2024-03-26", 1.0846 / 0.8575), ("JPY", "2024-03-26", 1.0846 / 164.09),
        ("EUR", "2024-03-28", 1.0811), ("GBP", "2024-03-28", 1.0811 / 0.8551), ("JPY", "2024-03-28", 1.0811 / 163.67),
    ]


def test_the_ecb_history_in_a_euro_base(tmp_path):
    db_path = tmp_path / "stack.db"
    init(db_path, "--base-currency", "EUR")
    run("ingest", db_path, "rates", write(tmp_path / "eurofxref-hist.csv", ECB_HISTORY), "--silent")
    # Every day counts: the euro is the ECB's own base. No rate for the euro itself.
    assert [row for row in rates(db_path) if row[1] == "2024-03-27"] == [
        ("GBP", "2024-03-27", 1 / 0.8566), ("JPY", "2024-03-27", 1 / 163.94)]
    assert len(rates(db_path)) == 3 + 2 + 3  # USD, JPY, GBP on 28 and 26 March; JPY and GBP on the 27th


def test_the_ecb_daily_file_as_published(tmp_path):
    db_path = tmp_path / "stack.db"
    init(db_path)
    run("ingest", db_path, "rates", write(tmp_path / "eurofxref.csv", ECB_DAILY), "--silent")
    assert rates(db_path) == [("EUR", "2024-03-28", 1.0811), ("GBP", "2024-03-28", 1.0811 / 0.8551),
                              ("JPY", "2024-03-28", 1.0811 / 163.67)]


def test_importing_the_same_rates_again_changes_nothing(tmp_path):
    db_path = tmp_path / "stack.db"
    init(db_path)
    path = write(tmp_path / "eurofxref-hist.csv", ECB_HISTORY)
    run("ingest", db_path, "rates", path, "--silent")
    result = run("ingest", db_path, "rates", path)
    assert "wrote 0 (0 new, 0 updated, 6 unchanged)" in result.output


@pytest.mark.parametrize("line, message", [
    ("USD,1.1,2024-01-01", 'rates.csv:2: currency: "USD": is the base currency, whose rate is always 1'),
    ("EUR,0,2024-01-01", 'rates.csv:2: rate: "0": expected a rate above zero'),
    ("EUR,1.08 USD,2024-01-01", 'rates.csv:2: rate: "1.08 USD": expected a rate such as 1.0811'),
    ("EURO,1.08,2024-01-01", 'rates.csv:2: currency: "EURO": expected a three-letter currency code'),
])
def test_a_rate_that_cannot_be_is_refused(tmp_path, line, message):
    db_path = tmp_path / "stack.db"
    init(db_path)
    result = run("ingest", db_path, "rates", write(tmp_path / "rates.csv", f"currency,rate,date\n{line}\n"), exit_code=1)
    assert message in result.output


def test_the_base_currencys_own_rate_of_one_is_left_out(tmp_path):
    db_path = tmp_path / "stack.db"
    init(db_path)
    result = run("ingest", db_path, "rates", write(tmp_path / "rates.csv", "currency,rate,date\nUSD,1,2024-01-01\nEUR,1.08,2024-01-01\n"))
    assert "rates.csv: left out 1 rates of the base currency itself" in result.output
    assert rates(db_path) == [("EUR", "2024-01-01", 1.08)]


def test_amounts_that_name_no_currency_are_in_the_base(tmp_path):
    db_path = tmp_path / "stack.db"
    init(db_path, "--base-currency", "EUR")
    run("ingest", db_path, "tools", write(tmp_path / "tools.csv", "tool,annual cost\nAlpha,1200\nBravo,$500\n"), "--silent")
    assert rows(db_path, "select slug, currency from tools order by slug") == [
        {"slug": "alpha", "currency": "EUR"}, {"slug": "bravo", "currency": "USD"}]
    run("ingest", db_path, "tools", write(tmp_path / "more.csv", "tool,annual cost\nCharlie,100\n"), "--currency", "gbp", "--silent")
    assert rows(db_path, "select currency from tools where slug = 'charlie'") == [{"currency": "GBP"}]
