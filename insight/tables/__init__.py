"""The one reader of table files (CSV, TSV, Parquet, Excel; plain or gzip), and the parsers
that type its cells. Every problem is an `insight.errors.DataError` naming the file and, as
precisely as the format allows, the line (or row) and the column."""

from insight.tables.cells import clean_customer_ids, parse_dates, parse_numbers
from insight.tables.checks import CellCheck, check_dates, check_numbers, is_blank, with_missing
from insight.tables.lines import MAX_LINE_BYTES, located
from insight.tables.read import FORMATS, ReadOptions, Table, read_table, read_tables
from insight.tables.source import decode_text, gunzip_if_needed, read_source_bytes

__all__ = [
    "FORMATS",
    "MAX_LINE_BYTES",
    "CellCheck",
    "ReadOptions",
    "Table",
    "check_dates",
    "check_numbers",
    "clean_customer_ids",
    "decode_text",
    "gunzip_if_needed",
    "is_blank",
    "located",
    "parse_dates",
    "parse_numbers",
    "read_source_bytes",
    "read_table",
    "read_tables",
    "with_missing",
]
