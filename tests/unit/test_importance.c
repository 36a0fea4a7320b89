/* test_importance.c - the importance file (monitor/importance.h): LightGBM / XGBoost exports as
 * CSV `column,importance` or a JSON object, and every error naming the file, the line and the
 * value. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "monitor/importance.h"

static int parse(const char *text, dm_importance *imp, char *err, size_t errlen)
{
    return dm_importance_parse(text, strlen(text), "imp.csv", imp, err, errlen);
}

static void expect_error(const char *text, const char *f1, const char *f2)
{
    dm_importance imp;
    char err[512] = "";
    cr_assert_eq(parse(text, &imp, err, sizeof err), -1, "accepted: %s", text);
    cr_assert(strstr(err, "importance file \"imp.csv\"") != NULL, "no file name in: %s", err);
    cr_assert(strstr(err, f1) != NULL, "\"%s\" not in: %s", f1, err);
    if (f2)
        cr_assert(strstr(err, f2) != NULL, "\"%s\" not in: %s", f2, err);
}

Test(importance, csv_values_and_lookup)
{
    /* a byte order mark, CRLF, a quoted name with a comma and a quote, blanks, a blank line */
    const char *text = "\xEF\xBB\xBF"
                       "column,importance\r\n"
                       "EXT_SOURCE_3,1520.25\r\n"
                       "\"AMT,\"\"X\"\"\", 7\r\n"
                       "\r\n"
                       "bureau_x,0\n"
                       "days, 1e3 \n";
    dm_importance imp;
    char err[256];
    cr_assert_eq(parse(text, &imp, err, sizeof err), 0, "%s", err);
    cr_assert_eq(imp.n, 4);
    cr_assert_str_eq(imp.name[1], "AMT,\"X\"");
    cr_assert_eq(dm_importance_of(&imp, "EXT_SOURCE_3"), 1520.25);
    cr_assert_eq(dm_importance_of(&imp, "AMT,\"X\""), 7.0);
    cr_assert_eq(dm_importance_of(&imp, "bureau_x"), 0.0);
    cr_assert_eq(dm_importance_of(&imp, "days"), 1000.0);
    cr_assert(isnan(dm_importance_of(&imp, "absent")));
    cr_assert(isnan(dm_importance_of(NULL, "days")));
    cr_assert_str_eq(imp.source, "imp.csv");
    dm_importance_release(&imp);
}

Test(importance, json_object)
{
    const char *text = "{\n  \"a\": 3,\n  \"b\": 0.5,\n  \"c\": 0\n}\n";
    dm_importance imp;
    char err[256];
    cr_assert_eq(parse(text, &imp, err, sizeof err), 0, "%s", err);
    cr_assert_eq(imp.n, 3);
    cr_assert_eq(dm_importance_of(&imp, "a"), 3.0);
    cr_assert_eq(dm_importance_of(&imp, "b"), 0.5);
    cr_assert_eq(dm_importance_of(&imp, "c"), 0.0);
    dm_importance_release(&imp);
}

Test(importance, sha256_of_the_bytes)
{
    /* sha256sum of the 22 bytes "column,importance\na,1\n" (coreutils) */
    dm_importance imp;
    char err[256];
    cr_assert_eq(parse("column,importance\na,1\n", &imp, err, sizeof err), 0, "%s", err);
    cr_assert_str_eq(imp.sha256,
                     "601c3dc8a221d8a1468c2b0a814e74ac325285b1ef41ac123fd4db8cd4dafd98");
    dm_importance_release(&imp);
}

Test(importance, errors_name_line_and_value)
{
    expect_error("", "line 1", "empty");
    expect_error("feature,gain\na,1\n", "line 1", "feature,gain");
    expect_error("column,importance\na,1\nb,-2\n", "line 3", "\"-2\"");
    expect_error("column,importance\na,1\nb,inf\n", "line 3", "\"inf\"");
    expect_error("column,importance\na,lots\n", "line 2", "\"lots\"");
    expect_error("column,importance\na,\n", "line 2", "column \"a\"");
    expect_error("column,importance\na\n", "line 2", "expected two fields");
    expect_error("column,importance\na,1,2\n", "line 2", "a,1,2");
    expect_error("column,importance\n\"a,1\n", "line 2", "quote");
    expect_error("column,importance\n,1\n", "line 2", "empty");
    expect_error("column,importance\nx,1\ny,2\nx,3\n", "line 4",
                 "\"x\" is named twice (first on line 2)");
    expect_error("{\"a\": 1,\n \"b\": \"big\"}", "line 2", "\"big\"");
    expect_error("{\"a\": 1,\n\n \"b\": -1}", "line 3", "-1");
    expect_error("{\"a\": 1,\n \"a\": 2}", "line 2", "named twice");
    expect_error("{\"a\": 1,\n \"b\" 2}", "line 2", "invalid JSON");
    expect_error("[1, 2]", "line 1", "expected the header"); /* not an object: read as CSV */
    expect_error("{\"a\": 1,\n \"a\": 2}", "line 2", "(first on line 1)");
    /* a long value is cut (60 bytes, "..."), control bytes escaped */
    char text[400];
    snprintf(text, sizeof text, "column,importance\na,%0200d\x01\n", 7);
    dm_importance imp;
    char err[1024];
    cr_assert_eq(parse(text, &imp, err, sizeof err), -1);
    cr_assert(strstr(err, "...") != NULL && strlen(err) < 400, "%s", err);
    cr_assert(strchr(err, '\x01') == NULL, "%s", err);
}

Test(importance, missing_file)
{
    dm_importance imp;
    char err[256];
    cr_assert_eq(dm_importance_load("/nonexistent/imp.csv", &imp, err, sizeof err), -1);
    cr_assert(strstr(err, "/nonexistent/imp.csv") != NULL, "%s", err);
}
