"""The reports, each defined once in SQL (``reports/sql/``), and the summary a
leader reads, built from the same reports."""
