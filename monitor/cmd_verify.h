/* cmd_verify.h - `driftmon verify`: the history's hash chain, stored documents, report files
 * and reference profiles checked from the raw rows (docs/AUDIT.md).  argv[0] is "verify";
 * returns the exit code: 0 intact, 4 anything failed, 2 bad usage or input, 1 environment. */
#ifndef DRIFTMON_CMD_VERIFY_H
#define DRIFTMON_CMD_VERIFY_H

int dm_cmd_verify(int argc, char **argv);

#endif
