/* cmd_db.h - subcommands that talk to PostgreSQL (init, reference load, check).  Each takes
 * argv with argv[0] the subcommand's name and returns the process exit code. */
#ifndef DRIFTMON_CMD_DB_H
#define DRIFTMON_CMD_DB_H

int dm_cmd_init(int argc, char **argv);
int dm_cmd_reference(int argc, char **argv);
int dm_cmd_check(int argc, char **argv);

#endif
