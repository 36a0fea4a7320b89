/* cmd_history.h - the auditor's subcommands (issue 5).  Each takes argv with argv[0] the
 * subcommand's name and returns the process exit code (0, 1 environment, 2 usage/input).
 *
 *   driftmon history [--column C | --runs] [--since T] [--reference R] [--format table|csv|json]
 *       per-column results over runs from the view driftmon.column_history, oldest first;
 *       with --runs instead one row per run from driftmon.runs: the drifted share, the
 *       importance-weighted share, the score PSI and band, retraining and its reasons;
 *   driftmon report RUN [--html FILE] [--json FILE]
 *       the run's stored HTML report, byte for byte as first written (checked against the
 *       run's report_html_sha256), and/or its JSON report (driftmon.run.report, as
 *       PostgreSQL's jsonb prints it: the same content, keys in jsonb's order).
 */
#ifndef DRIFTMON_CMD_HISTORY_H
#define DRIFTMON_CMD_HISTORY_H

int dm_cmd_history(int argc, char **argv);
int dm_cmd_report(int argc, char **argv);

#endif
