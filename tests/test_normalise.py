"""The value forms people type, and what each becomes."""

import pytest

from stack_tracker.normalise import (
    BadValue,
    display_name,
    lookup_key,
    parse_bool,
    parse_date,
    parse_int,
    parse_money,
    parse_period,
    parse_usage_level,
    slugify,
)


@pytest.mark.parametrize("text, expected", [
    ("12000", (12000.0, None)),
    ("$12,000.00", (12000.0, "USD")),
    ("USD 9,500", (9500.0, "USD")),
    ("€18.000", (18000.0, "EUR")),
    ("1.200,50 €", (1200.5, "EUR")),
    ("£3,000", (3000.0, "GBP")),
    ("12k", (12000.0, None)),
    ("2.5M", (2500000.0, None)),
    ("0.500", (0.5, None)),
    ("12,5", (12.5, None)),
    ("CHF 1'200", (1200.0, "CHF")),
])
def test_money_forms(text, expected):
    assert parse_money(text) == expected


@pytest.mark.parametrize("text", ["abc", "$", "-$100", "12 USD EUR", "$12$"])
def test_money_rejects(text):
    with pytest.raises(BadValue):
        parse_money(text)


@pytest.mark.parametrize("text, expected", [
    ("2026-03-31", "2026-03-31"),
    ("2026-3-1", "2026-03-01"),
    ("2026-03-31T10:15:00Z", "2026-03-31"),
    ("31.03.2026", "2026-03-31"),
    ("12/31/2026", "2026-12-31"),
    ("31/12/2026", "2026-12-31"),
    ("04/04/2026", "2026-04-04"),
    ("Mar 31, 2026", "2026-03-31"),
    ("31 March 2026", "2026-03-31"),
    ("Sept 1, 2026", "2026-09-01"),
])
def test_date_forms(text, expected):
    assert parse_date(text) == expected


def test_ambiguous_slashed_date_needs_a_format():
    with pytest.raises(BadValue, match="--date-format"):
        parse_date("03/04/2026")
    assert parse_date("03/04/2026", "mdy") == "2026-03-04"
    assert parse_date("03/04/2026", "dmy") == "2026-04-03"
    assert parse_date("2026.04.03", "%Y.%m.%d") == "2026-04-03"


@pytest.mark.parametrize("text", ["31/02/2026", "2026-02-30", "2026-13-01", "tomorrow", "31.13.2026"])
def test_impossible_dates(text):
    with pytest.raises(BadValue):
        parse_date(text)


@pytest.mark.parametrize("text, expected", [
    ("2026-03", "2026-03"), ("2026-03-01", "2026-03"), ("Mar 2026", "2026-03"), ("March 2026", "2026-03"),
    ("03/2026", "2026-03"), ("3/2026", "2026-03"), ("2026-3", "2026-03"), ("Dec-25", "2025-12"),
])
def test_period_forms(text, expected):
    assert parse_period(text) == expected


@pytest.mark.parametrize("text", ["2026-13", "13/2026", "2026-00", "Foo 2026", "2026-02-30", "26-03"])
def test_period_rejects(text):
    with pytest.raises(BadValue):
        parse_period(text)


@pytest.mark.parametrize("text, expected", [("yes", 1), ("Y", 1), ("TRUE", 1), ("1", 1), ("no", 0), ("False", 0), ("0", 0), ("off", 0)])
def test_booleans(text, expected):
    assert parse_bool(text) == expected


def test_whole_numbers():
    assert parse_int("1,200") == 1200
    assert parse_int("12.0") == 12
    with pytest.raises(BadValue, match="zero or more"):
        parse_int("-3")
    with pytest.raises(BadValue, match="whole number"):
        parse_int("2.5")


def test_usage_levels():
    assert [parse_usage_level(text) for text in ("0", "4", "none", "High", "critical")] == [0, 4, 0, 3, 4]
    with pytest.raises(BadValue):
        parse_usage_level("5")


def test_slugs_and_lookup_keys():
    assert slugify("  HubSpot Marketing Hub ") == "hubspot-marketing-hub"
    assert slugify("Brand & Creative") == "brand-and-creative"
    assert slugify("Café Analytics") == "cafe-analytics"
    assert lookup_key("  Hubspot   Marketing HUB ") == lookup_key("HubSpot Marketing Hub")


@pytest.mark.parametrize("name, slug", [
    ("Маркетинг", "маркетинг"),
    ("Яндекс.Метрика", "яндекс-метрика"),
    ("市场部", "市场部"),
    ("Γραφή & Σχέδιο", "γραφή-and-σχέδιο"),
    ("تحليلات الويب", "تحليلات-الويب"),
    ("צוות שיווק", "צוות-שיווק"),
    ("हिन्दी टीम", "हिन्दी-टीम"),
    ("마케팅 팀", "마케팅-팀"),
    ("Straße", "strasse"),
    ("ＨｕｂＳｐｏｔ", "hubspot"),
    ("Cafe\u0301", "cafe"),
])
def test_slugs_keep_letters_of_every_script(name, slug):
    assert slugify(name) == slug


@pytest.mark.parametrize("name", ["!!!", "—·—", "🚀", "\u0301\u0301", "   "])
def test_a_name_without_letters_or_digits_has_no_slug(name):
    assert slugify(name) == ""


def test_composed_and_decomposed_names_are_one_name():
    assert display_name("Cafe\u0301") == "Caf\u00e9"
    assert lookup_key("CAFE\u0301") == lookup_key("caf\u00e9")
    assert lookup_key("МАРКЕТИНГ") == lookup_key("маркетинг")
