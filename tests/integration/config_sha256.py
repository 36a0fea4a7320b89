#!/usr/bin/env python3
"""config_sha256.py FILE... - the SHA-256 of each driftmon configuration's canonical form, one
per line, computed without driftmon from the rule the README (Security) and monitor/config.h
give:

  the JSON document re-written compactly: members and elements in the file's order, no
  whitespace; strings with " \\ \\b \\f \\n \\r \\t escaped, other characters below U+0020 as
  \\u00xx (lower-case hex), the rest as UTF-8; true, false, null; each number as the shortest of
  %.15g, %.16g, %.17g that reads back as the same double; and database.conninfo and
  database.read_conninfo each replaced by its scrubbed form: the options libpq's PQconninfoParse finds set, in libpq's order, as
  key=value separated by one blank, each secret one (a '*' in libpq's dispchar, and a dbname
  that is itself a connection string) written ****, a value quoted '...' with \\' and \\\\ when
  empty or holding a blank, a quote or a backslash; a string without '=' and without a
  postgresql:// or postgres:// prefix is a database name: dbname=<it>.

libpq is called through ctypes; nothing of driftmon's code is used."""
import ctypes
import ctypes.util
import hashlib
import json
import sys


class Option(ctypes.Structure):  # PQconninfoOption, libpq-fe.h
    _fields_ = [("keyword", ctypes.c_char_p), ("envvar", ctypes.c_char_p),
                ("compiled", ctypes.c_char_p), ("val", ctypes.c_char_p),
                ("label", ctypes.c_char_p), ("dispchar", ctypes.c_char_p),
                ("dispsize", ctypes.c_int)]


libpq = ctypes.CDLL(ctypes.util.find_library("pq") or "libpq.so.5")
libpq.PQconninfoParse.restype = ctypes.POINTER(Option)
libpq.PQconninfoParse.argtypes = [ctypes.c_char_p, ctypes.POINTER(ctypes.c_char_p)]
libpq.PQconninfoFree.argtypes = [ctypes.POINTER(Option)]
ENC = dict(encoding="utf-8", errors="surrogateescape")


def is_connection_string(s):
    return "=" in s or s.startswith("postgresql://") or s.startswith("postgres://")


def libpq_value(v):
    if v and not any(c.isspace() or c in "'\\" for c in v):
        return v
    return "'" + v.replace("\\", "\\\\").replace("'", "\\'") + "'"


def scrub(ci):
    if not is_connection_string(ci):
        return "dbname=" + libpq_value(ci)
    err = ctypes.c_char_p()
    opts = libpq.PQconninfoParse(ci.encode(**ENC), ctypes.byref(err))
    if not opts:
        sys.exit("libpq cannot parse the conninfo")
    parts, i = [], 0
    while opts[i].keyword is not None:
        o = opts[i]
        i += 1
        if o.val is None:
            continue
        key, val = o.keyword.decode(), o.val.decode(**ENC)
        secret = b"*" in (o.dispchar or b"") or (key == "dbname" and is_connection_string(val))
        parts.append(key + "=" + ("****" if secret else libpq_value(val)))
    libpq.PQconninfoFree(opts)
    return " ".join(parts)


def string(s):
    out = ['"']
    for c in s:
        if c in '"\\':
            out.append("\\" + c)
        elif c in "\b\f\n\r\t":
            out.append({"\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t"}[c])
        elif ord(c) < 0x20:
            out.append("\\u%04x" % ord(c))
        else:
            out.append(c)
    return "".join(out) + '"'


def number(x):
    x = float(x)
    for p in (15, 16, 17):
        s = "%.*g" % (p, x)
        if float(s) == x:
            return s
    return s


def canonical(v):
    if isinstance(v, dict):
        return "{" + ",".join(string(k) + ":" + canonical(x) for k, x in v.items()) + "}"
    if isinstance(v, list):
        return "[" + ",".join(canonical(x) for x in v) + "]"
    if v is True:
        return "true"
    if v is False:
        return "false"
    if v is None:
        return "null"
    if isinstance(v, (int, float)):
        return number(v)
    return string(v)


for path in sys.argv[1:]:
    with open(path, **ENC) as f:
        doc = json.load(f)
    db = doc.get("database")
    for key in ("conninfo", "read_conninfo"):
        if isinstance(db, dict) and isinstance(db.get(key), str):
            db[key] = scrub(db[key])
    print(hashlib.sha256(canonical(doc).encode(**ENC)).hexdigest())
