#!/usr/bin/python3
"""Print a CREATE TABLE for a CSV file, with column types as pandas infers them
(float64 / int64 -> float8 / int8, bool -> boolean, anything else -> text), plus extra
columns given as NAME:TYPE:DEFAULT.  Used by the integration tests to load the real Home
Credit samples into PostgreSQL.

Usage: csv2sql.py FILE.csv TABLE [--text COL,...] [NAME:TYPE[:DEFAULT] ...]
"""
import sys

import pandas as pd


def qi(name):
    return '"' + name.replace('"', '""') + '"'


def main():
    path, table = sys.argv[1], sys.argv[2]
    rest = sys.argv[3:]
    text = set()
    if rest[:1] == ["--text"]:
        text = set(rest[1].split(","))
        rest = rest[2:]
    df = pd.read_csv(path, nrows=100000)
    cols = []
    for c in df.columns:
        kind = df[c].dtype.kind
        t = "text" if c in text else {"f": "float8", "i": "int8", "b": "boolean"}.get(kind, "text")
        cols.append(f"  {qi(c)} {t}")
    for extra in rest:
        parts = extra.split(":", 2)
        d = f" DEFAULT {parts[2]}" if len(parts) > 2 else ""
        cols.append(f"  {qi(parts[0])} {parts[1]}{d}")
    print(f"CREATE TABLE {table} (\n" + ",\n".join(cols) + "\n);")


if __name__ == "__main__":
    main()
