/*
 * test_reportdir.c - the history pages' file names (monitor/reportdir.c): collision-free
 * for names whose slugs agree, bounded for long names.  The hashes are SHA-256 of the exact
 * name: "abc" from FIPS 180-2's example, the others from coreutils' sha256sum
 * (`printf 'prod risk' | sha256sum`).
 */
#include <criterion/criterion.h>

#include <string.h>

#include "monitor/reportdir.h"

Test(reportdir, history_name_is_slug_and_hash)
{
    char a[DM_REPORTDIR_NAME_MAX], b[DM_REPORTDIR_NAME_MAX];
    dm_reportdir_history_name("abc", a, sizeof a);
    cr_expect_str_eq(a, "history-abc-ba7816bf8f01cfea.html");
    dm_reportdir_history_name("prod risk", a, sizeof a);
    dm_reportdir_history_name("prod_risk", b, sizeof b);
    cr_expect_str_eq(a, "history-prod_risk-d1b714a26f3e8367.html");
    cr_expect_str_eq(b, "history-prod_risk-2bbbaa0c30a96542.html");
    cr_expect_str_neq(a, b);
}

Test(reportdir, long_names_are_bounded_and_distinct)
{
    char n1[301], n2[301], a[DM_REPORTDIR_NAME_MAX], b[DM_REPORTDIR_NAME_MAX];
    memset(n1, 'r', 300);
    n1[300] = '\0';
    memcpy(n2, n1, sizeof n2);
    n2[299] = 's'; /* differs only past the slug */
    dm_reportdir_history_name(n1, a, sizeof a);
    dm_reportdir_history_name(n2, b, sizeof b);
    /* "history-" + 64 + "-" + 16 + ".html" */
    cr_expect_eq(strlen(a), 8 + 64 + 1 + 16 + 5, "%s", a);
    cr_expect_lt(strlen(a), sizeof a);
    cr_expect_str_neq(a, b);
    cr_expect_eq(strncmp(a, b, 8 + 64), 0, "same slug: %s / %s", a, b);
    /* a multi-byte name: every byte outside [A-Za-z0-9._-] becomes '_' */
    dm_reportdir_history_name("r\xc3\xa9/..", a, sizeof a);
    cr_expect_eq(strncmp(a, "history-r___..-", 15), 0, "%s", a);
    cr_expect_null(strchr(a, '/'));
}
