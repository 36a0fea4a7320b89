/*
 * migrations.h - the SQL migrations (sql/[0-9]*.sql) compiled into the program.
 *
 * The array is generated at build time by sql/embed.sh into $(BUILD)/gen/migrations.c,
 * in file-name order; `driftmon init` applies it (monitor/migrate.c), so the program needs no
 * SQL files at run time.  sql is the file's exact text (its sha256 is the file's).
 */
#ifndef DRIFTMON_MIGRATIONS_H
#define DRIFTMON_MIGRATIONS_H

#include <stddef.h>

typedef struct {
    const char *name; /* "001_schema.sql" */
    const char *sql;  /* the file's text, NUL-terminated */
} dm_migration;

extern const dm_migration dm_migrations[];
extern const size_t dm_migrations_count;

#endif
