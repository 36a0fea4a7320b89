/* cmd_export.h - `driftmon export --since T --until T --out DIR`: the evidence bundle of the
 * runs finished in [since, until).  argv[0] is "export"; returns the exit code: 0 written,
 * 2 bad usage or input (a bad time, DIR exists and is not empty), 1 environment. */
#ifndef DRIFTMON_CMD_EXPORT_H
#define DRIFTMON_CMD_EXPORT_H

int dm_cmd_export(int argc, char **argv);

#endif
