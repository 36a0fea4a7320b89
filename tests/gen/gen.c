/* dm-gen: deterministic synthetic data for driftmon's tests, demo and benchmarks.
 *
 *   build/dm-gen [--shape homecredit|bench] --rows N --seed S [knobs] [-o FILE]   (--help)
 *
 * Shape "homecredit" (default): the 122 columns of Home Credit's application_train, in the real
 * order (121 with --no-target: application_test's header), with marginals modelled on
 * ../shared/data/homecredit-samples (the README's full-table facts, and shares measured with
 * pandas on the 6000 sample rows; names only, no row is copied), followed (--bureau, default) by
 * 12 aggregated credit-bureau columns named as in the original study (client_bureau_balance_*),
 * all empty for applicants without bureau balance history (share: --bureau-share, 0.30).
 * Built-in structure the tests rely on: DAYS_EMPLOYED = 365243 exactly when NAME_INCOME_TYPE is
 * Pensioner or Unemployed, and then ORGANIZATION_TYPE = XNA, FLAG_EMP_PHONE = 0 and
 * OCCUPATION_TYPE empty; the 47 building columns APARTMENTS_AVG .. EMERGENCYSTATE_MODE are all
 * empty in 47 % of rows and EMERGENCYSTATE_MODE is empty only then; the six
 * AMT_REQ_CREDIT_BUREAU_* are empty together (13.5 %); AMT_INCOME_TOTAL is a multiple of 4500.
 *
 * Shape "bench": 100 columns, 80 numeric num_00..num_79 and 20 categorical cat_00..cat_19 (see
 * the comment above bench_setup); --drifted N gives the ground truth num_00..num_(N-1) and
 * cat_00..cat_(ceil(N/5)-1) drifted, every other column byte-identical to the undrifted run.
 *
 * Numbers are written as k / 10^d in plain decimal (gen_out_dec): the text is the value.
 * Every row, and every group of columns inside a homecredit row, draws from its own
 * xoshiro256** stream derived from (seed, row, group): the output depends only on the seed and
 * the options (not on the compiler, optimisation level or libm: see gen_core.h), a prefix of
 * the rows does not depend on --rows, and a knob that moves one column (--revolving-share,
 * --bureau-share, --drift) leaves every unrelated column byte-identical. */
#include "tests/gen/gen_core.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_COLS 160
#define MAX_DRIFTS 256

enum { SHAPE_HC = 0, SHAPE_BENCH = 1 };

typedef struct {
    char *column;   /* owned */
    char *category; /* owned, NULL: the first (most frequent) category */
    double factor;
} drift_t;

typedef struct {
    int shape;
    long long rows;
    uint64_t seed;
    long long first_id;
    int target;
    int bureau;
    int format;
    int header; /* -1: by format */
    double revolving_share;
    double bureau_share;
    int bureau_fill_set; /* --bureau-fill: value for applicants without history, not empty */
    double bureau_fill;
    int drifted;
    int score;                  /* --score: the scoring engine's column, TARGET drawn from it */
    const char *importance_out; /* --importance-out FILE */
    const char *labels_out;     /* --labels-out FILE */
    const char *out_path;
    const char *schema_table;
    drift_t drift[MAX_DRIFTS];
    size_t ndrift;
} opts_t;

/* The columns of the shape being generated. */
typedef struct {
    size_t n;
    const char *name[MAX_COLS];
    gen_cat_t *cat[MAX_COLS];     /* categorical table, or NULL for numeric */
    unsigned char skip[MAX_COLS]; /* not written (TARGET with --no-target) */
    double fac[MAX_COLS];         /* multiplicative drift of numeric columns */
} cols_t;

/* Writes one row's fields, in column order; col is the running column index. */
typedef struct {
    gen_out_t *o;
    const cols_t *c;
    size_t col;
    int dry; /* draw the row without writing it (--score's first pass) */
} emit_t;

/* The value v would be written as without any --drift factor (k / 10^dec). */
static double undrifted(double v, int dec, int64_t step)
{
    double p10 = 1.0;
    for (int i = 0; i < dec; i++)
        p10 *= 10.0;
    return (double)gen_quantise(v, dec, step) / p10;
}

/* Returns the value written (k / 10^dec: the double the text parses back to). */
static double e_num(emit_t *e, double v, int dec, int64_t step)
{
    size_t c = e->col++;
    int64_t k = gen_quantise(v * e->c->fac[c], dec, step);
    if (!e->dry && !e->c->skip[c])
        gen_out_dec(e->o, k, dec);
    double p10 = 1.0;
    for (int i = 0; i < dec; i++)
        p10 *= 10.0;
    return (double)k / p10;
}

/* A value no drift factor touches (the DAYS_EMPLOYED sentinel). */
static void e_fixed(emit_t *e, int64_t k)
{
    size_t c = e->col++;
    if (!e->dry && !e->c->skip[c])
        gen_out_dec(e->o, k, 0);
}

static void e_null(emit_t *e)
{
    size_t c = e->col++;
    if (!e->dry && !e->c->skip[c])
        gen_out_null(e->o);
}

static void e_str(emit_t *e, const char *s)
{
    size_t c = e->col++;
    if (!e->dry && !e->c->skip[c])
        gen_out_str(e->o, s);
}

/* 0/1 column with P(1) = p (times the column's factor); always uses exactly one draw. */
static int e_flag(emit_t *e, gen_rng_t *r, double p)
{
    double u = gen_u01(r);
    size_t c = e->col++;
    int v = u < p * e->c->fac[c];
    if (!e->dry && !e->c->skip[c])
        gen_out_dec(e->o, v, 0);
    return v;
}

static void e_cat_idx(emit_t *e, const gen_cat_t *t, size_t i)
{
    e_str(e, t->name[i]);
}

static double clampd(double x, double lo, double hi)
{
    return x < lo ? lo : (x > hi ? hi : x);
}

/* ================================================================================================
 * Shape "homecredit"
 * ============================================================================================== */

static const char *const HC_NAMES[122] = {
    "SK_ID_CURR",
    "TARGET",
    "NAME_CONTRACT_TYPE",
    "CODE_GENDER",
    "FLAG_OWN_CAR",
    "FLAG_OWN_REALTY",
    "CNT_CHILDREN",
    "AMT_INCOME_TOTAL",
    "AMT_CREDIT",
    "AMT_ANNUITY",
    "AMT_GOODS_PRICE",
    "NAME_TYPE_SUITE",
    "NAME_INCOME_TYPE",
    "NAME_EDUCATION_TYPE",
    "NAME_FAMILY_STATUS",
    "NAME_HOUSING_TYPE",
    "REGION_POPULATION_RELATIVE",
    "DAYS_BIRTH",
    "DAYS_EMPLOYED",
    "DAYS_REGISTRATION",
    "DAYS_ID_PUBLISH",
    "OWN_CAR_AGE",
    "FLAG_MOBIL",
    "FLAG_EMP_PHONE",
    "FLAG_WORK_PHONE",
    "FLAG_CONT_MOBILE",
    "FLAG_PHONE",
    "FLAG_EMAIL",
    "OCCUPATION_TYPE",
    "CNT_FAM_MEMBERS",
    "REGION_RATING_CLIENT",
    "REGION_RATING_CLIENT_W_CITY",
    "WEEKDAY_APPR_PROCESS_START",
    "HOUR_APPR_PROCESS_START",
    "REG_REGION_NOT_LIVE_REGION",
    "REG_REGION_NOT_WORK_REGION",
    "LIVE_REGION_NOT_WORK_REGION",
    "REG_CITY_NOT_LIVE_CITY",
    "REG_CITY_NOT_WORK_CITY",
    "LIVE_CITY_NOT_WORK_CITY",
    "ORGANIZATION_TYPE",
    "EXT_SOURCE_1",
    "EXT_SOURCE_2",
    "EXT_SOURCE_3",
    "APARTMENTS_AVG",
    "BASEMENTAREA_AVG",
    "YEARS_BEGINEXPLUATATION_AVG",
    "YEARS_BUILD_AVG",
    "COMMONAREA_AVG",
    "ELEVATORS_AVG",
    "ENTRANCES_AVG",
    "FLOORSMAX_AVG",
    "FLOORSMIN_AVG",
    "LANDAREA_AVG",
    "LIVINGAPARTMENTS_AVG",
    "LIVINGAREA_AVG",
    "NONLIVINGAPARTMENTS_AVG",
    "NONLIVINGAREA_AVG",
    "APARTMENTS_MODE",
    "BASEMENTAREA_MODE",
    "YEARS_BEGINEXPLUATATION_MODE",
    "YEARS_BUILD_MODE",
    "COMMONAREA_MODE",
    "ELEVATORS_MODE",
    "ENTRANCES_MODE",
    "FLOORSMAX_MODE",
    "FLOORSMIN_MODE",
    "LANDAREA_MODE",
    "LIVINGAPARTMENTS_MODE",
    "LIVINGAREA_MODE",
    "NONLIVINGAPARTMENTS_MODE",
    "NONLIVINGAREA_MODE",
    "APARTMENTS_MEDI",
    "BASEMENTAREA_MEDI",
    "YEARS_BEGINEXPLUATATION_MEDI",
    "YEARS_BUILD_MEDI",
    "COMMONAREA_MEDI",
    "ELEVATORS_MEDI",
    "ENTRANCES_MEDI",
    "FLOORSMAX_MEDI",
    "FLOORSMIN_MEDI",
    "LANDAREA_MEDI",
    "LIVINGAPARTMENTS_MEDI",
    "LIVINGAREA_MEDI",
    "NONLIVINGAPARTMENTS_MEDI",
    "NONLIVINGAREA_MEDI",
    "FONDKAPREMONT_MODE",
    "HOUSETYPE_MODE",
    "TOTALAREA_MODE",
    "WALLSMATERIAL_MODE",
    "EMERGENCYSTATE_MODE",
    "OBS_30_CNT_SOCIAL_CIRCLE",
    "DEF_30_CNT_SOCIAL_CIRCLE",
    "OBS_60_CNT_SOCIAL_CIRCLE",
    "DEF_60_CNT_SOCIAL_CIRCLE",
    "DAYS_LAST_PHONE_CHANGE",
    "FLAG_DOCUMENT_2",
    "FLAG_DOCUMENT_3",
    "FLAG_DOCUMENT_4",
    "FLAG_DOCUMENT_5",
    "FLAG_DOCUMENT_6",
    "FLAG_DOCUMENT_7",
    "FLAG_DOCUMENT_8",
    "FLAG_DOCUMENT_9",
    "FLAG_DOCUMENT_10",
    "FLAG_DOCUMENT_11",
    "FLAG_DOCUMENT_12",
    "FLAG_DOCUMENT_13",
    "FLAG_DOCUMENT_14",
    "FLAG_DOCUMENT_15",
    "FLAG_DOCUMENT_16",
    "FLAG_DOCUMENT_17",
    "FLAG_DOCUMENT_18",
    "FLAG_DOCUMENT_19",
    "FLAG_DOCUMENT_20",
    "FLAG_DOCUMENT_21",
    "AMT_REQ_CREDIT_BUREAU_HOUR",
    "AMT_REQ_CREDIT_BUREAU_DAY",
    "AMT_REQ_CREDIT_BUREAU_WEEK",
    "AMT_REQ_CREDIT_BUREAU_MON",
    "AMT_REQ_CREDIT_BUREAU_QRT",
    "AMT_REQ_CREDIT_BUREAU_YEAR",
};

/* Aggregates of bureau_balance per bureau loan, then per client (mean/max/min/sum), named as in
 * the original study's feature engineering. */
#define HC_NBUREAU 12
static const char *const HC_BUREAU_NAMES[HC_NBUREAU] = {
    "client_bureau_balance_MONTHS_BALANCE_count_mean",
    "client_bureau_balance_MONTHS_BALANCE_count_max",
    "client_bureau_balance_MONTHS_BALANCE_count_min",
    "client_bureau_balance_MONTHS_BALANCE_count_sum",
    "client_bureau_balance_MONTHS_BALANCE_mean_mean",
    "client_bureau_balance_MONTHS_BALANCE_min_min",
    "client_bureau_balance_MONTHS_BALANCE_max_max",
    "client_bureau_balance_STATUS_0_count_norm_mean",
    "client_bureau_balance_STATUS_1_count_norm_mean",
    "client_bureau_balance_STATUS_C_count_norm_mean",
    "client_bureau_balance_STATUS_X_count_norm_mean",
    "client_bureau_balance_STATUS_0_count_sum",
};

/* Category weights: counts in the 6000 sample rows (application_train_head5000 + _random1000)
 * unless noted; where the README gives the full-table share, that share is used. */
static const gen_item_t GENDER_ITEMS[] = {{"F", 0.6583}, {"M", 0.3416}, {"XNA", 0.000013}};
static const gen_item_t OWN_CAR_ITEMS[] = {{"N", 3976}, {"Y", 2024}};
static const gen_item_t OWN_REALTY_ITEMS[] = {{"Y", 4159}, {"N", 1841}};
static const gen_item_t SUITE_ITEMS[] = {
    {"Unaccompanied", 4837}, {"Family", 796}, {"Spouse, partner", 229}, {"Children", 56},
    {"Other_B", 38},         {"Other_A", 12}, {"Group of people", 7},
};
/* Full-table counts of application_train (the sample lacks the four rare types); Pensioner and
 * Unemployed carry the DAYS_EMPLOYED sentinel and ORGANIZATION_TYPE XNA: 18.01 %. */
static const gen_item_t INCOME_ITEMS[] = {
    {"Working", 158774},  {"Commercial associate", 71617},
    {"Pensioner", 55362}, {"State servant", 21703},
    {"Unemployed", 22},   {"Student", 18},
    {"Businessman", 10},  {"Maternity leave", 5},
};
static const gen_item_t EDUCATION_ITEMS[] = {
    {"Secondary / secondary special", 4322},
    {"Higher education", 1406},
    {"Incomplete higher", 197},
    {"Lower secondary", 69},
    {"Academic degree", 6},
};
static const gen_item_t FAMILY_ITEMS[] = {
    {"Married", 3805},       {"Single / not married", 875},
    {"Civil marriage", 567}, {"Separated", 394},
    {"Widow", 359},          {"Unknown", 0.04},
};
static const gen_item_t HOUSING_ITEMS[] = {
    {"House / apartment", 5311}, {"With parents", 272},    {"Municipal apartment", 243},
    {"Rented apartment", 103},   {"Office apartment", 48}, {"Co-op apartment", 23},
};
static const gen_item_t OCCUPATION_ITEMS[] = {
    {"Laborers", 1059},         {"Sales staff", 649},    {"Core staff", 552},
    {"Drivers", 378},           {"Managers", 372},       {"High skill tech staff", 224},
    {"Accountants", 195},       {"Medicine staff", 174}, {"Security staff", 134},
    {"Cooking staff", 117},     {"Cleaning staff", 76},  {"Private service staff", 52},
    {"Low-skill Laborers", 49}, {"Secretaries", 30},     {"Waiters/barmen staff", 24},
    {"Realty agents", 17},      {"HR staff", 14},        {"IT staff", 10},
};
static const gen_item_t WEEKDAY_ITEMS[] = {
    {"TUESDAY", 1045}, {"WEDNESDAY", 1007}, {"THURSDAY", 1003}, {"FRIDAY", 979},
    {"MONDAY", 973},   {"SATURDAY", 667},   {"SUNDAY", 326},
};
/* The 57 organisation types other than XNA (XNA: exactly the sentinel rows). */
static const gen_item_t ORGANIZATION_ITEMS[] = {
    {"Business Entity Type 3", 1341},
    {"Self-employed", 779},
    {"Other", 326},
    {"Medicine", 220},
    {"Government", 209},
    {"Business Entity Type 2", 174},
    {"School", 158},
    {"Trade: type 7", 132},
    {"Kindergarten", 132},
    {"Construction", 123},
    {"Transport: type 4", 107},
    {"Business Entity Type 1", 103},
    {"Trade: type 3", 71},
    {"Housing", 69},
    {"Industry: type 3", 66},
    {"Industry: type 11", 63},
    {"Industry: type 9", 61},
    {"Security", 54},
    {"Transport: type 2", 54},
    {"Military", 52},
    {"Bank", 49},
    {"Services", 48},
    {"Postal", 44},
    {"Agriculture", 44},
    {"Security Ministries", 41},
    {"Police", 38},
    {"Trade: type 2", 34},
    {"Restaurant", 27},
    {"Transport: type 3", 25},
    {"University", 24},
    {"Hotel", 24},
    {"Industry: type 1", 22},
    {"Industry: type 7", 20},
    {"Electricity", 17},
    {"Emergency", 13},
    {"Insurance", 13},
    {"Trade: type 6", 13},
    {"Industry: type 12", 12},
    {"Industry: type 2", 12},
    {"Industry: type 5", 10},
    {"Industry: type 4", 10},
    {"Telecom", 8},
    {"Culture", 7},
    {"Mobile", 7},
    {"Trade: type 1", 7},
    {"Advertising", 7},
    {"Legal Services", 6},
    {"Transport: type 1", 5},
    {"Industry: type 10", 5},
    {"Realtor", 5},
    {"Industry: type 13", 4},
    {"Trade: type 5", 3},
    {"Cleaning", 3},
    {"Religion", 2},
    {"Industry: type 6", 2},
    {"Trade: type 4", 1},
    {"Industry: type 8", 1},
};
static const gen_item_t FOND_ITEMS[] = {
    {"reg oper account", 1493},
    {"reg oper spec account", 239},
    {"org spec account", 116},
    {"not specified", 108},
};
static const gen_item_t HOUSETYPE_ITEMS[] = {
    {"block of flats", 2987}, {"terraced house", 25}, {"specific housing", 25}};
static const gen_item_t WALLS_ITEMS[] = {
    {"Panel", 1317}, {"Stone, brick", 1252}, {"Block", 201}, {"Wooden", 103},
    {"Mixed", 47},   {"Monolithic", 35},     {"Others", 32},
};
static const gen_item_t EMERGENCY_ITEMS[] = {{"No", 0.9862}, {"Yes", 0.0138}};

/* Few-valued numeric columns: weight of value 0, 1, 2, ... (sample shares). */
static const double CHILDREN_W[] = {0.7093, 0.2, 0.0762, 0.0125, 0.0017, 0.0002, 0.0001};
static const double RATING_W[] = {0.1075, 0.7372, 0.1553}; /* values 1, 2, 3 */
static const double RATING_CITY_W[] = {0.1145, 0.7437, 0.1418};
static const double HOUR_W[] = {0.00002,  0.000333, 0.0015,   0.004833, 0.005,    0.011667,
                                0.0175,   0.0305,   0.0475,   0.090333, 0.1195,   0.127667,
                                0.111333, 0.0975,   0.093333, 0.084667, 0.067833, 0.046333,
                                0.027333, 0.010167, 0.003333, 0.001,    0.000833, 0.00013};
static const double OBS30_W[] = {0.5404, 0.1546, 0.0907, 0.0678, 0.0497, 0.0315,
                                 0.0261, 0.0126, 0.0077, 0.0072, 0.0045, 0.0027,
                                 0.0013, 0.0017, 0.0008, 0.0002, 0.0002};
static const double DEF30_W[] = {0.0882, 0.0218, 0.0044, 0.0007, 0.0003}; /* values 1 .. 5 */
static const double REQ_HOUR_W[] = {0.9915, 0.0081, 0.0004};
static const double REQ_DAY_W[] = {0.994, 0.005, 0.0004, 0.0002, 0.0004};
static const double REQ_WEEK_W[] = {0.9644, 0.0346, 0.0004, 0.0006};
static const double REQ_MON_W[] = {0.8379, 0.1242, 0.0172, 0.0075, 0.0044, 0.0021,
                                   0.0012, 0.0014, 0.0012, 0.001,  0.0,    0.001,
                                   0.0002, 0.0,    0.0004, 0.0,    0.0004};
static const double REQ_QRT_W[] = {0.8006, 0.1377, 0.0509, 0.0083, 0.0019,
                                   0.0004, 0.0,    0.0,    0.0002};
static const double REQ_YEAR_W[] = {0.2687, 0.2435, 0.1853, 0.1277, 0.0803, 0.0439,
                                    0.0228, 0.0162, 0.0074, 0.0037, 0.0002, 0.0004};
/* FLAG_DOCUMENT_2 .. _21: share of ones (sample; the rare ones at full-table magnitudes) */
static const double DOC_P[20] = {0.00004, 0.707,   0.00008, 0.0158,  0.0862, 0.0002, 0.082,
                                 0.0043,  0.00002, 0.0042,  0.00001, 0.0023, 0.0022, 0.001,
                                 0.0102,  0.0003,  0.0065,  0.0006,  0.0006, 0.0003};

/* The 14 building measures (AVG, then MODE, then MEDI of each): missing share given that the
 * building block is present at all, share of exact zeros, and the shape of the rest. */
enum { B_LOGN, B_ONE_MINUS_LOGN, B_NORMAL, B_GRID };
typedef struct {
    double miss, zero;
    int kind;
    double a, b; /* LOGN: median, sigma; NORMAL: mean, sd; GRID: median cells, sigma */
    double grid; /* GRID: cell width */
} building_t;
static const building_t BUILDING[14] = {
    {0.063, 0.01, B_LOGN, 0.087, 0.85, 0},           /* APARTMENTS */
    {0.206, 0.12, B_LOGN, 0.0745, 0.75, 0},          /* BASEMENTAREA */
    {0.028, 0.0, B_ONE_MINUS_LOGN, 0.0184, 0.55, 0}, /* YEARS_BEGINEXPLUATATION */
    {0.353, 0.0, B_NORMAL, 0.755, 0.11, 0},          /* YEARS_BUILD */
    {0.418, 0.12, B_LOGN, 0.0185, 1.3, 0},           /* COMMONAREA */
    {0.106, 0.5, B_GRID, 3.0, 0.6, 0.04},            /* ELEVATORS */
    {0.048, 0.0, B_GRID, 4.0, 0.6, 1.0 / 29.0},      /* ENTRANCES */
    {0.038, 0.02, B_GRID, 4.5, 0.55, 1.0 / 24.0},    /* FLOORSMAX */
    {0.382, 0.02, B_GRID, 5.0, 0.55, 1.0 / 24.0},    /* FLOORSMIN */
    {0.222, 0.12, B_LOGN, 0.048, 0.9, 0},            /* LANDAREA */
    {0.394, 0.0, B_LOGN, 0.075, 0.8, 0},             /* LIVINGAPARTMENTS */
    {0.052, 0.01, B_LOGN, 0.075, 0.9, 0},            /* LIVINGAREA */
    {0.413, 0.6, B_LOGN, 0.0078, 1.3, 0},            /* NONLIVINGAPARTMENTS */
    {0.135, 0.45, B_LOGN, 0.015, 1.6, 0},            /* NONLIVINGAREA */
};

#define HC_NREGIONS 81
typedef struct {
    gen_cat_t contract, gender, own_car, own_realty, suite, income, education, family, housing,
        occupation, weekday, organization, fond, housetype, walls, emergency;
    gen_cat_t children, rating, rating_city, hour, obs30, def30, req[6], region;
    int64_t region_k[HC_NREGIONS]; /* REGION_POPULATION_RELATIVE values, in 1e-6 */
} hc_t;

static hc_t HC;

static void num_table(gen_cat_t *t, const double *w, size_t n)
{
    gen_item_t items[GEN_MAX_CATS];
    for (size_t i = 0; i < n && i < GEN_MAX_CATS; i++) {
        items[i].name = NULL;
        items[i].w = w[i];
    }
    gen_cat_init(t, NULL, items, n);
}

#define NITEMS(a) (sizeof(a) / sizeof((a)[0]))

static void hc_setup(cols_t *c, const opts_t *o)
{
    hc_t *h = &HC;
    gen_item_t contract[2] = {{"Cash loans", 1.0 - o->revolving_share},
                              {"Revolving loans", o->revolving_share}};
    gen_cat_init(&h->contract, "NAME_CONTRACT_TYPE", contract, 2);
    gen_cat_init(&h->gender, "CODE_GENDER", GENDER_ITEMS, NITEMS(GENDER_ITEMS));
    gen_cat_init(&h->own_car, "FLAG_OWN_CAR", OWN_CAR_ITEMS, NITEMS(OWN_CAR_ITEMS));
    gen_cat_init(&h->own_realty, "FLAG_OWN_REALTY", OWN_REALTY_ITEMS, NITEMS(OWN_REALTY_ITEMS));
    gen_cat_init(&h->suite, "NAME_TYPE_SUITE", SUITE_ITEMS, NITEMS(SUITE_ITEMS));
    gen_cat_init(&h->income, "NAME_INCOME_TYPE", INCOME_ITEMS, NITEMS(INCOME_ITEMS));
    gen_cat_init(&h->education, "NAME_EDUCATION_TYPE", EDUCATION_ITEMS, NITEMS(EDUCATION_ITEMS));
    gen_cat_init(&h->family, "NAME_FAMILY_STATUS", FAMILY_ITEMS, NITEMS(FAMILY_ITEMS));
    gen_cat_init(&h->housing, "NAME_HOUSING_TYPE", HOUSING_ITEMS, NITEMS(HOUSING_ITEMS));
    gen_cat_init(&h->occupation, "OCCUPATION_TYPE", OCCUPATION_ITEMS, NITEMS(OCCUPATION_ITEMS));
    gen_cat_init(&h->weekday, "WEEKDAY_APPR_PROCESS_START", WEEKDAY_ITEMS, NITEMS(WEEKDAY_ITEMS));
    gen_cat_init(&h->organization, "ORGANIZATION_TYPE", ORGANIZATION_ITEMS,
                 NITEMS(ORGANIZATION_ITEMS));
    gen_cat_init(&h->fond, "FONDKAPREMONT_MODE", FOND_ITEMS, NITEMS(FOND_ITEMS));
    gen_cat_init(&h->housetype, "HOUSETYPE_MODE", HOUSETYPE_ITEMS, NITEMS(HOUSETYPE_ITEMS));
    gen_cat_init(&h->walls, "WALLSMATERIAL_MODE", WALLS_ITEMS, NITEMS(WALLS_ITEMS));
    gen_cat_init(&h->emergency, "EMERGENCYSTATE_MODE", EMERGENCY_ITEMS, NITEMS(EMERGENCY_ITEMS));
    num_table(&h->children, CHILDREN_W, NITEMS(CHILDREN_W));
    num_table(&h->rating, RATING_W, NITEMS(RATING_W));
    num_table(&h->rating_city, RATING_CITY_W, NITEMS(RATING_CITY_W));
    num_table(&h->hour, HOUR_W, NITEMS(HOUR_W));
    num_table(&h->obs30, OBS30_W, NITEMS(OBS30_W));
    num_table(&h->def30, DEF30_W, NITEMS(DEF30_W));
    num_table(&h->req[0], REQ_HOUR_W, NITEMS(REQ_HOUR_W));
    num_table(&h->req[1], REQ_DAY_W, NITEMS(REQ_DAY_W));
    num_table(&h->req[2], REQ_WEEK_W, NITEMS(REQ_WEEK_W));
    num_table(&h->req[3], REQ_MON_W, NITEMS(REQ_MON_W));
    num_table(&h->req[4], REQ_QRT_W, NITEMS(REQ_QRT_W));
    num_table(&h->req[5], REQ_YEAR_W, NITEMS(REQ_YEAR_W));

    /* 81 regions (the real table has 81 distinct values): fixed, seed-independent values, each
     * drawn with a weight growing with its relative population. */
    double rw[HC_NREGIONS];
    gen_rng_t r;
    gen_rng_stream(&r, UINT64_C(0x5EED0F4E61045), 0, 0);
    for (size_t i = 0; i < HC_NREGIONS; i++) {
        double v = clampd(gen_lognormal(&r, 0.015, 0.8), 0.00029, 0.072508);
        h->region_k[i] = gen_quantise(v, 6, 1);
        rw[i] = sqrt((double)h->region_k[i]);
    }
    num_table(&h->region, rw, HC_NREGIONS);

    c->n = 0;
    for (size_t i = 0; i < 122; i++)
        c->name[c->n++] = HC_NAMES[i];
    if (o->bureau)
        for (size_t i = 0; i < HC_NBUREAU; i++)
            c->name[c->n++] = HC_BUREAU_NAMES[i];
    if (o->score)
        c->name[c->n++] = "score";
    gen_cat_t *cats[] = {&h->contract, &h->gender,     &h->own_car,   &h->own_realty,
                         &h->suite,    &h->income,     &h->education, &h->family,
                         &h->housing,  &h->occupation, &h->weekday,   &h->organization,
                         &h->fond,     &h->housetype,  &h->walls,     &h->emergency};
    for (size_t i = 0; i < c->n; i++) {
        c->cat[i] = NULL;
        c->fac[i] = 1.0;
        c->skip[i] = 0;
        for (size_t k = 0; k < NITEMS(cats); k++)
            if (strcmp(cats[k]->column, c->name[i]) == 0)
                c->cat[i] = cats[k];
    }
    if (!o->target)
        c->skip[1] = 1;
}

/* Groups of columns, each with its own random stream per row. */
enum {
    G_TARGET = 1,
    G_CONTRACT,
    G_GENDER,
    G_CAR,
    G_REALTY,
    G_FAMILY,
    G_INCOME_TYPE,
    G_EDUCATION,
    G_HOUSING,
    G_SUITE,
    G_INCOME,
    G_AMOUNTS,
    G_REGION,
    G_BIRTH,
    G_EMPLOYED,
    G_REGISTRATION,
    G_ID_PUBLISH,
    G_CAR_AGE,
    G_FLAGS,
    G_OCCUPATION,
    G_WEEKDAY,
    G_REGFLAGS,
    G_ORG,
    G_EXT1,
    G_EXT2,
    G_EXT3,
    G_BUILDING,
    G_SOCIAL,
    G_PHONE,
    G_DOCS,
    G_REQ,
    G_BUREAU
};

static void hc_bureau(emit_t *e, gen_rng_t *r, const opts_t *o)
{
    if (!(gen_u01(r) < o->bureau_share)) {
        for (int i = 0; i < HC_NBUREAU; i++) {
            if (o->bureau_fill_set)
                e_num(e, o->bureau_fill, 6, 1);
            else
                e_null(e);
        }
        return;
    }
    /* bureau loans with a monthly history: 1 + geometric, mean 4.8 (bureau_head3000: 4.77) */
    int nloans = 1;
    while (nloans < 40 && gen_u01(r) < 0.79)
        nloans++;
    double cnt_sum = 0, cnt_max = 0, cnt_min = 1e9, mean_sum = 0, min_min = 0, max_max = -1e9;
    double norm_sum[4] = {0, 0, 0, 0}; /* 0, 1, C, X */
    double s0_sum = 0;
    for (int l = 0; l < nloans; l++) {
        /* history length in months: median 27, 10 % .. 90 %: 8 .. 60 (bureau_balance_head3000) */
        int len = (int)clampd(floor(gen_lognormal(r, 25.0, 0.8)), 1.0, 97.0);
        int last = 0;
        if (gen_u01(r) < 0.4)
            last = -(int)clampd(1.0 + floor(gen_lognormal(r, 20.0, 0.9)), 1.0, 96.0);
        if (last - len + 1 < -96)
            len = last + 97;
        double p_x = gen_u01(r) < 0.3 ? 0.8 : 0.05;
        int closed_months = gen_u01(r) < 0.6 ? (int)floor(gen_u01(r) * len) : 0;
        double cnt[4] = {0, 0, 0, 0};
        for (int m = 0; m < len; m++) {
            double u = gen_u01(r);
            if (u < p_x)
                cnt[3] += 1;
            else if (m < closed_months)
                cnt[2] += 1;
            else if (gen_u01(r) < 0.03)
                cnt[1] += 1;
            else
                cnt[0] += 1;
        }
        double dl = (double)len;
        cnt_sum += dl;
        cnt_max = dl > cnt_max ? dl : cnt_max;
        cnt_min = dl < cnt_min ? dl : cnt_min;
        mean_sum += (double)last - (dl - 1.0) / 2.0;
        double lo = (double)(last - len + 1);
        min_min = lo < min_min ? lo : min_min;
        max_max = (double)last > max_max ? (double)last : max_max;
        for (int s = 0; s < 4; s++)
            norm_sum[s] += cnt[s] / dl;
        s0_sum += cnt[0];
    }
    double n = (double)nloans;
    e_num(e, cnt_sum / n, 6, 1);
    e_num(e, cnt_max, 0, 1);
    e_num(e, cnt_min, 0, 1);
    e_num(e, cnt_sum, 0, 1);
    e_num(e, mean_sum / n, 6, 1);
    e_num(e, min_min, 0, 1);
    e_num(e, max_max, 0, 1);
    for (int s = 0; s < 4; s++)
        e_num(e, norm_sum[s] / n, 6, 1);
    e_num(e, s0_sum, 0, 1);
}

static double building_value(gen_rng_t *r, const building_t *b)
{
    if (gen_u01(r) < b->zero) {
        (void)gen_normal(r); /* keep the draw count independent of the branch */
        return 0.0;
    }
    switch (b->kind) {
    case B_LOGN:
        return clampd(gen_lognormal(r, b->a, b->b), 0.0, 1.0);
    case B_ONE_MINUS_LOGN:
        return clampd(1.0 - gen_lognormal(r, b->a, b->b), 0.0, 1.0);
    case B_NORMAL:
        return clampd(b->a + b->b * gen_normal(r), 0.0, 1.0);
    default: {
        double k = clampd(floor(gen_lognormal(r, b->a, b->b) + 0.5), 1.0, floor(1.0 / b->grid));
        return k * b->grid;
    }
    }
}

/* --score: the demo's scoring engine, a fixed logistic model on five application inputs,
 *   logit p = B0 + B_EXT1 x1 + B_EXT2 x2 + B_EXT3 x3 + B_AGE age + B_TERM term,
 * x1..x3 = EXT_SOURCE_1..3 as written (a missing one replaced by its fixed mean M_EXT*, as the
 * engine imputes), age = -DAYS_BIRTH / 365.25 (years), term = AMT_CREDIT / AMT_ANNUITY (number
 * of annuities).  The row's features are drawn first (without the defaulters' shift of the
 * external scores the plain generator applies), then p, then TARGET ~ Bernoulli(p) on TARGET's
 * own stream (times TARGET's --drift factor).  B0 puts the reference's mean p, the default
 * rate, at about 8 % (8.1 % on 307,511 rows, seed 1).  The score is written after the last
 * column with 6 decimals, computed from the values as written, so a --drift of a model column
 * moves it.  Importances (--importance-out): |b| x sd(input) over the rows written, term's
 * split equally between AMT_CREDIT and AMT_ANNUITY.
 * --labels-out: the outcomes as the lender learns them later.  A --drift of a column is the
 * data's provider changing its scale, not the applicant changing: the applicant's probability
 * of default is the same model on the row's values before any --drift factor (p_true), and the
 * label is drawn from it with TARGET's own draw (times TARGET's --drift factor).  Without a
 * --drift on a model input p_true = p, so the labels equal the TARGET column; with one, the
 * score (from the values as written) no longer matches the outcomes' probabilities. */
#define M_B0 1.87
#define M_B_EXT1 (-2.0)
#define M_B_EXT2 (-3.0)
#define M_B_EXT3 (-3.5)
#define M_B_AGE (-0.02)
#define M_B_TERM 0.03
#define M_EXT1 0.505
#define M_EXT2 0.514
#define M_EXT3 0.51
#define M_NIN 5 /* x1, x2, x3, age, term */

typedef struct {
    double x[M_NIN]; /* the model's inputs for the current row */
    double p;
    int target;
    double x_true[M_NIN]; /* --labels-out: the inputs before any --drift factor */
    double p_true;
    int label;
    double n, mean[M_NIN], m2[M_NIN]; /* Welford, over the rows written */
} model_t;

static double model_score(const double *x)
{
    double z = M_B0 + M_B_EXT1 * x[0] + M_B_EXT2 * x[1] + M_B_EXT3 * x[2] + M_B_AGE * x[3] +
               M_B_TERM * x[4];
    return 1.0 / (1.0 + gen_exp(-z));
}

static void hc_row(emit_t *e, const opts_t *o, uint64_t row, model_t *m)
{
    const hc_t *h = &HC;
    const uint64_t seed = o->seed;
    gen_rng_t r;
#define STREAM(g) gen_rng_stream(&r, seed, row, (uint64_t)(g))

    /* decisions needed before their columns come up */
    STREAM(G_TARGET);
    double u_target = gen_u01(&r);
    STREAM(G_FAMILY);
    size_t family = gen_cat_pick(&h->family, gen_u01(&r));
    size_t children = gen_cat_pick(&h->children, gen_u01(&r));
    STREAM(G_INCOME_TYPE);
    size_t income_type = gen_cat_pick(&h->income, gen_u01(&r));
    const char *itname = h->income.name[income_type];
    int pensioner = strcmp(itname, "Pensioner") == 0;
    int sentinel = pensioner || strcmp(itname, "Unemployed") == 0;
    STREAM(G_CAR);
    size_t own_car = gen_cat_pick(&h->own_car, gen_u01(&r));

    e_num(e, (double)(o->first_id + (long long)row), 0, 1);
    int target;
    const size_t target_col = e->col;
    {
        /* TARGET: one draw, P(1) = 8.07 % times the column's factor (--score: drawn from the
         * score, below; m->target is the first pass's draw) */
        size_t c = e->col++;
        target = o->score ? m->target : u_target < 0.0807 * e->c->fac[c];
        if (!e->dry && !e->c->skip[c])
            gen_out_dec(e->o, target, 0);
    }
    const int t_ext = o->score ? 0 : target; /* --score: the model carries the dependence */
    STREAM(G_CONTRACT);
    size_t contract = gen_cat_pick(&h->contract, gen_u01(&r));
    int revolving = strcmp(h->contract.name[contract], "Revolving loans") == 0;
    e_cat_idx(e, &h->contract, contract);
    STREAM(G_GENDER);
    e_cat_idx(e, &h->gender, gen_cat_pick(&h->gender, gen_u01(&r)));
    e_cat_idx(e, &h->own_car, own_car);
    STREAM(G_REALTY);
    e_cat_idx(e, &h->own_realty, gen_cat_pick(&h->own_realty, gen_u01(&r)));
    e_num(e, (double)children, 0, 1);

    /* amounts: income log-normal on multiples of 4500 (three in four on multiples of 22500);
     * cash loans: goods price correlated with income, credit = goods x (1 or 1.05 .. 2),
     * annuity 2 .. 13 % of credit; revolving loans: credit multiple of 45000, annuity 5 %. */
    STREAM(G_INCOME);
    double z_inc = gen_normal(&r);
    double inc_step = gen_u01(&r) < 0.75 ? 22500.0 : 4500.0;
    double income = 11.905 + 0.493 * z_inc;
    income = floor(gen_exp(income) / inc_step + 0.5) * inc_step;
    income = income < 27000.0 ? 27000.0 : income;
    e_num(e, income, 0, 4500);
    STREAM(G_AMOUNTS);
    double credit, annuity, goods;
    int goods_missing = 0;
    {
        double z2 = gen_normal(&r), z3 = gen_normal(&r), z4 = gen_normal(&r);
        double u1 = gen_u01(&r), u2 = gen_u01(&r);
        if (!revolving) {
            double zg = 0.44 * z_inc + 0.898 * z2;
            double lg = 13.01 + 0.64 * zg;
            double step = u1 < 0.57 ? 45000.0 : 4500.0;
            goods = floor(clampd(gen_exp(lg), 40500.0, 4050000.0) / step + 0.5) * step;
            double ratio = u2 < 0.35 ? 1.0 : 1.0 + clampd(gen_exp(-1.75 + 0.5 * z3), 0.0, 1.0);
            credit = floor(goods * ratio * 2.0 + 0.5) / 2.0;
            /* larger loans run longer: the annuity rate falls with the amount */
            annuity = credit * clampd(0.048 * gen_exp(0.3 * z4 - 0.3 * zg), 0.02, 0.13);
        } else {
            double lc = 12.5 + 0.5 * (0.5 * z_inc + 0.866 * z2);
            credit = floor(clampd(gen_exp(lc), 45000.0, 1350000.0) / 45000.0 + 0.5) * 45000.0;
            goods = credit;
            goods_missing = u1 < 0.007;
            annuity = credit * 0.05;
        }
    }
    double credit_w = e_num(e, credit, 1, 5);
    double annuity_w = e_num(e, annuity, 1, 5);
    double credit_t = undrifted(credit, 1, 5), annuity_t = undrifted(annuity, 1, 5);
    if (goods_missing)
        e_null(e);
    else
        e_num(e, goods, 0, 1);

    STREAM(G_SUITE);
    if (gen_u01(&r) < 0.0042)
        e_null(e);
    else
        e_cat_idx(e, &h->suite, gen_cat_pick(&h->suite, gen_u01(&r)));
    e_cat_idx(e, &h->income, income_type);
    STREAM(G_EDUCATION);
    e_cat_idx(e, &h->education, gen_cat_pick(&h->education, gen_u01(&r)));
    e_cat_idx(e, &h->family, family);
    STREAM(G_HOUSING);
    e_cat_idx(e, &h->housing, gen_cat_pick(&h->housing, gen_u01(&r)));
    STREAM(G_REGION);
    size_t region = gen_cat_pick(&h->region, gen_u01(&r));
    double u_rating = gen_u01(&r), u_same = gen_u01(&r), u_city = gen_u01(&r);
    e_num(e, (double)h->region_k[region] / 1e6, 6, 1);

    /* days: pensioners are older; employment shorter than adult life; sentinel 365243 */
    STREAM(G_BIRTH);
    double birth =
        pensioner ? -21900.0 + 1600.0 * gen_normal(&r) : -14800.0 + 3700.0 * gen_normal(&r);
    birth = floor(clampd(birth, -25000.0, -7500.0) + 0.5);
    double birth_w = e_num(e, birth, 0, 1);
    double birth_t = undrifted(birth, 0, 1);
    STREAM(G_EMPLOYED);
    {
        double emp = -floor(gen_lognormal(&r, 1480.0, 1.06) + 0.5);
        emp = clampd(emp, birth + 5475.0 < -17912.0 ? -17912.0 : birth + 5475.0, -1.0);
        if (sentinel)
            e_fixed(e, 365243);
        else
            e_num(e, emp, 0, 1);
    }
    STREAM(G_REGISTRATION);
    {
        double reg = -2509.0 * (gen_exponential(&r) + gen_exponential(&r)); /* gamma(2) */
        e_num(e, floor(clampd(reg, birth, 0.0) + 0.5), 0, 1);
    }
    STREAM(G_ID_PUBLISH);
    {
        double u = gen_u01(&r), z = gen_normal(&r), v = gen_u01(&r);
        double id = u < 0.45 ? clampd(-4400.0 + 350.0 * z, -7197.0, 0.0) : -4000.0 * v;
        e_num(e, floor(id + 0.5), 0, 1);
    }
    STREAM(G_CAR_AGE);
    {
        double u = gen_u01(&r), v = gen_u01(&r);
        double age = floor(gen_lognormal(&r, 9.5, 0.75) - 1.0 + 0.5);
        if (u < 0.015)
            age = v < 0.5 ? 64.0 : 65.0;
        if (strcmp(h->own_car.name[own_car], "Y") == 0)
            e_num(e, clampd(age, 0.0, 65.0), 0, 1);
        else
            e_null(e);
    }
    STREAM(G_FLAGS);
    e_flag(e, &r, 0.999997);             /* FLAG_MOBIL */
    e_flag(e, &r, sentinel ? 0.0 : 1.0); /* FLAG_EMP_PHONE: 0 exactly for the sentinel rows */
    e_flag(e, &r, 0.2);                  /* FLAG_WORK_PHONE */
    e_flag(e, &r, 0.998);                /* FLAG_CONT_MOBILE */
    e_flag(e, &r, 0.28);                 /* FLAG_PHONE */
    e_flag(e, &r, 0.0567);               /* FLAG_EMAIL */
    STREAM(G_OCCUPATION);
    {
        double u = gen_u01(&r), v = gen_u01(&r);
        if (sentinel || u < 0.159)
            e_null(e);
        else
            e_cat_idx(e, &h->occupation, gen_cat_pick(&h->occupation, v));
    }
    /* CNT_FAM_MEMBERS: children + 2 for married / civil marriage, + 1 otherwise (sample: 72.9 %
     * of rows have fam - children == 2, the married + civil share) */
    {
        const char *fs = h->family.name[family];
        int couple = strcmp(fs, "Married") == 0 || strcmp(fs, "Civil marriage") == 0;
        e_num(e, (double)children + (couple ? 2.0 : 1.0), 0, 1);
    }
    size_t rating = gen_cat_pick(&h->rating, u_rating);
    size_t rating_city = u_same < 0.93 ? rating : gen_cat_pick(&h->rating_city, u_city);
    e_num(e, (double)rating + 1.0, 0, 1);
    e_num(e, (double)rating_city + 1.0, 0, 1);
    STREAM(G_WEEKDAY);
    e_cat_idx(e, &h->weekday, gen_cat_pick(&h->weekday, gen_u01(&r)));
    e_num(e, (double)gen_cat_pick(&h->hour, gen_u01(&r)), 0, 1);
    STREAM(G_REGFLAGS);
    e_flag(e, &r, 0.0178);
    e_flag(e, &r, 0.0505);
    e_flag(e, &r, 0.039);
    e_flag(e, &r, 0.0825);
    e_flag(e, &r, 0.2343);
    e_flag(e, &r, 0.1765);
    STREAM(G_ORG);
    if (sentinel)
        e_str(e, "XNA");
    else
        e_cat_idx(e, &h->organization, gen_cat_pick(&h->organization, gen_u01(&r)));

    /* external scores: lower for defaulters; EXT_SOURCE_2/3 = cap - log-normal (left skew) */
    double ext_w[3] = {M_EXT1, M_EXT2, M_EXT3};
    double ext_t[3] = {M_EXT1, M_EXT2, M_EXT3}; /* before --drift */
    STREAM(G_EXT1);
    {
        double u = gen_u01(&r), z = gen_normal(&r);
        double x = clampd(0.505 - 0.09 * t_ext + 0.205 * z, 0.0146, 0.9627);
        if (u < 0.564)
            e_null(e);
        else {
            ext_w[0] = e_num(e, x, 10, 1);
            ext_t[0] = undrifted(x, 10, 1);
        }
    }
    STREAM(G_EXT2);
    {
        double u = gen_u01(&r);
        double y = gen_exp(-1.24 + 0.35 * t_ext + 0.7 * gen_normal(&r));
        for (int k = 0; k < 32 && y >= 0.855; k++) /* truncated: resample */
            y = gen_exp(-1.24 + 0.35 * t_ext + 0.7 * gen_normal(&r));
        double x = 0.855 - clampd(y, 0.0, 0.8549);
        if (u < 0.0021)
            e_null(e);
        else {
            ext_w[1] = e_num(e, x, 10, 1);
            ext_t[1] = undrifted(x, 10, 1);
        }
    }
    STREAM(G_EXT3);
    {
        double u = gen_u01(&r);
        double y = gen_exp(-1.02 + 0.35 * t_ext + 0.68 * gen_normal(&r));
        for (int k = 0; k < 32 && y >= 0.8955; k++) /* truncated: resample */
            y = gen_exp(-1.02 + 0.35 * t_ext + 0.68 * gen_normal(&r));
        double x = 0.896 - clampd(y, 0.0, 0.8955);
        if (u < 0.198)
            e_null(e);
        else {
            ext_w[2] = e_num(e, x, 10, 1);
            ext_t[2] = undrifted(x, 10, 1);
        }
    }

    /* building block: all 47 columns missing together in 47 % of rows */
    STREAM(G_BUILDING);
    {
        int absent = gen_u01(&r) < 0.47;
        if (absent) { /* the other draws of this stream are then not needed */
            for (int i = 0; i < 47; i++)
                e_null(e);
        } else {
            double v[14];
            int miss[14];
            for (int b = 0; b < 14; b++) {
                miss[b] = gen_u01(&r) < BUILDING[b].miss;
                v[b] = building_value(&r, &BUILDING[b]);
            }
            double z_mode[14], z_medi[14];
            for (int b = 0; b < 14; b++) {
                z_mode[b] = gen_normal(&r);
                z_medi[b] = gen_normal(&r);
            }
            double u_fond = gen_u01(&r), u_fond2 = gen_u01(&r), u_ht = gen_u01(&r);
            double u_ht2 = gen_u01(&r), u_total = gen_u01(&r), u_walls = gen_u01(&r);
            double u_walls2 = gen_u01(&r), u_em = gen_u01(&r);
            double total = clampd(gen_lognormal(&r, 0.068, 0.9), 0.0, 1.0);
            for (int pass = 0; pass < 3; pass++) { /* AVG, MODE, MEDI */
                for (int b = 0; b < 14; b++) {
                    if (miss[b]) {
                        e_null(e);
                        continue;
                    }
                    double x = v[b];
                    if (BUILDING[b].kind != B_GRID && pass > 0)
                        x = clampd(x * (1.0 + (pass == 1 ? 0.03 * z_mode[b] : 0.01 * z_medi[b])),
                                   0.0, 1.0);
                    e_num(e, x, 4, 1);
                }
            }
            if (u_fond < 0.386)
                e_null(e);
            else
                e_cat_idx(e, &h->fond, gen_cat_pick(&h->fond, u_fond2));
            if (u_ht < 0.046)
                e_null(e);
            else
                e_cat_idx(e, &h->housetype, gen_cat_pick(&h->housetype, u_ht2));
            if (u_total < 0.016)
                e_null(e);
            else
                e_num(e, total, 4, 1);
            if (u_walls < 0.062)
                e_null(e);
            else
                e_cat_idx(e, &h->walls, gen_cat_pick(&h->walls, u_walls2));
            e_cat_idx(e, &h->emergency, gen_cat_pick(&h->emergency, u_em));
        }
    }

    STREAM(G_SOCIAL);
    {
        double u = gen_u01(&r);
        size_t obs30 = gen_cat_pick(&h->obs30, gen_u01(&r));
        /* defaults only among observed: P(DEF_30 > 0) = 0.1153 = 0.251 x P(OBS_30 > 0) */
        int has_def = gen_u01(&r) < 0.251;
        size_t def30 = 1 + gen_cat_pick(&h->def30, gen_u01(&r));
        double obs60 = (double)obs30 + (gen_u01(&r) < 0.02 ? 1.0 : 0.0);
        double d30 = (double)(!has_def || obs30 == 0 ? 0 : (def30 < obs30 ? def30 : obs30));
        double d60 = d30 > 0.0 && gen_u01(&r) < 0.3 ? d30 - 1.0 : d30;
        if (u < 0.0033) {
            for (int i = 0; i < 4; i++)
                e_null(e);
        } else {
            e_num(e, (double)obs30, 0, 1);
            e_num(e, d30, 0, 1);
            e_num(e, obs60, 0, 1);
            e_num(e, d60, 0, 1);
        }
    }
    STREAM(G_PHONE);
    {
        double u = gen_u01(&r);
        double d = -floor(clampd(gen_lognormal(&r, 800.0, 0.85), 1.0, 4292.0) + 0.5);
        e_num(e, u < 0.122 ? 0.0 : d, 0, 1);
    }
    STREAM(G_DOCS);
    for (int i = 0; i < 20; i++)
        e_flag(e, &r, DOC_P[i]);
    STREAM(G_REQ);
    {
        int missing = gen_u01(&r) < 0.135;
        for (int i = 0; i < 6; i++) {
            size_t k = gen_cat_pick(&h->req[i], gen_u01(&r));
            if (missing)
                e_null(e);
            else
                e_num(e, (double)k, 0, 1);
        }
    }
    if (o->bureau) {
        STREAM(G_BUREAU);
        hc_bureau(e, &r, o);
    }
    if (o->score) {
        m->x[0] = ext_w[0];
        m->x[1] = ext_w[1];
        m->x[2] = ext_w[2];
        m->x[3] = -birth_w / 365.25;
        m->x[4] = credit_w / annuity_w;
        m->p = model_score(m->x);
        m->target = u_target < m->p * e->c->fac[target_col];
        m->x_true[0] = ext_t[0];
        m->x_true[1] = ext_t[1];
        m->x_true[2] = ext_t[2];
        m->x_true[3] = -birth_t / 365.25;
        m->x_true[4] = credit_t / annuity_t;
        m->p_true = model_score(m->x_true);
        m->label = u_target < m->p_true * e->c->fac[target_col];
        e_num(e, m->p, 6, 1);
    }
#undef STREAM
}

/* ================================================================================================
 * Shape "bench": 80 numeric + 20 categorical columns.
 *
 * Numeric num_JJ, kind = JJ % 8:  0 normal (6 decimals), 1 log-normal (4), 2 uniform (3),
 * 3 exponential (7), 4 integer normal, 5 integer log-normal (thousands), 6 few-valued: values
 * 1 .. n, n = 2 + (JJ / 8) % 4 (2 to 5 values), 7 zero-inflated log-normal (5 decimals).
 * Missing share: JJ % 4 == 3 -> 0.02 + 0.05 * ((JJ / 4) % 6), else none.
 * Categorical cat_CC: BENCH_NCAT[CC] categories "k00", "k01", ... with Zipf weights, k00 the most
 * frequent; CC % 5 == 4 -> 3 % missing.
 * --drifted N: num_00 .. num_(N-1) multiplied by 1.5 and cat_00 .. cat_(ceil(N/5)-1) with the
 * weight of k00 multiplied by 0.25 (e.g. --drifted 10: 10 numeric and 2 categorical columns).
 * ============================================================================================== */

#define BENCH_NUM 80
#define BENCH_CAT 20
static const int BENCH_NCAT[BENCH_CAT] = {2,  3,  4,  5,  6,  8,  10, 12, 15, 20,
                                          25, 30, 35, 40, 45, 50, 55, 60, 7,  3};
static char BENCH_NAMES[BENCH_NUM + BENCH_CAT][8];
static char BENCH_CATNAMES[GEN_MAX_CATS][4];
static gen_cat_t BENCH_TABLES[BENCH_CAT];
static gen_cat_t BENCH_FEW[4];

static double bench_missing(int j)
{
    return j % 4 == 3 ? 0.02 + 0.05 * (double)((j / 4) % 6) : 0.0;
}

static void bench_setup(cols_t *c)
{
    c->n = 0;
    for (int i = 0; i < GEN_MAX_CATS; i++)
        snprintf(BENCH_CATNAMES[i], sizeof BENCH_CATNAMES[i], "k%02d", i);
    for (int j = 0; j < BENCH_NUM; j++) {
        snprintf(BENCH_NAMES[j], sizeof BENCH_NAMES[j], "num_%02d", j);
        c->name[c->n] = BENCH_NAMES[j];
        c->cat[c->n] = NULL;
        c->n++;
    }
    for (int k = 0; k < 4; k++) {
        double w[5];
        for (int i = 0; i < 2 + k; i++)
            w[i] = 1.0 / (double)(1 << i);
        num_table(&BENCH_FEW[k], w, (size_t)(2 + k));
    }
    for (int cc = 0; cc < BENCH_CAT; cc++) {
        char *nm = BENCH_NAMES[BENCH_NUM + cc];
        snprintf(nm, 8, "cat_%02d", cc);
        gen_item_t items[GEN_MAX_CATS];
        double s = 0.6 + 0.25 * (double)(cc % 4);
        for (int i = 0; i < BENCH_NCAT[cc]; i++) {
            items[i].name = BENCH_CATNAMES[i];
            items[i].w = gen_exp(-s * gen_log((double)(i + 1)));
        }
        gen_cat_init(&BENCH_TABLES[cc], nm, items, (size_t)BENCH_NCAT[cc]);
        c->name[c->n] = nm;
        c->cat[c->n] = &BENCH_TABLES[cc];
        c->n++;
    }
    for (size_t i = 0; i < c->n; i++) {
        c->fac[i] = 1.0;
        c->skip[i] = 0;
    }
}

static void bench_row(emit_t *e, const opts_t *o, uint64_t row)
{
    gen_rng_t r;
    /* one stream per row: a column's draws never depend on a drift factor, so drifted columns
     * still leave the others unchanged */
    gen_rng_stream(&r, o->seed, row, 100);
    for (int j = 0; j < BENCH_NUM; j++) {
        double u = gen_u01(&r);
        double g = (double)(j / 8);
        if (u < bench_missing(j)) {
            e_null(e);
            continue;
        }
        switch (j % 8) {
        case 0:
            e_num(e, 100.0 + 10.0 * g + (15.0 + g) * gen_normal(&r), 6, 1);
            break;
        case 1:
            e_num(e, gen_lognormal(&r, 50.0 * (1.0 + g), 0.6), 4, 1);
            break;
        case 2:
            e_num(e, 1000.0 * (1.0 + g) * gen_u01(&r), 3, 1);
            break;
        case 3:
            e_num(e, 0.5 * (1.0 + g) * gen_exponential(&r), 7, 1);
            break;
        case 4:
            e_num(e, floor(40.0 + 5.0 * g + 12.0 * gen_normal(&r) + 0.5), 0, 1);
            break;
        case 5:
            e_num(e, floor(gen_lognormal(&r, 2000.0, 1.0) + 0.5), 0, 1);
            break;
        case 6:
            /* one decimal place, so that a drift factor such as 1.5 shows */
            e_num(e, 1.0 + (double)gen_cat_pick(&BENCH_FEW[(j / 8) % 4], gen_u01(&r)), 1, 1);
            break;
        default: {
            double z = gen_u01(&r);
            double v = gen_lognormal(&r, 10.0 * (1.0 + g), 1.2);
            e_num(e, z < 0.3 ? 0.0 : v, 5, 1);
            break;
        }
        }
    }
    for (int cc = 0; cc < BENCH_CAT; cc++) {
        double u = gen_u01(&r), v = gen_u01(&r);
        if (cc % 5 == 4 && u < 0.03)
            e_null(e);
        else
            e_cat_idx(e, &BENCH_TABLES[cc], gen_cat_pick(&BENCH_TABLES[cc], v));
    }
}

/* ================================================================================================
 * Options and main
 * ============================================================================================== */

static void usage(FILE *f)
{
    fputs("usage: dm-gen [--shape homecredit|bench] [--rows N] [--seed S] [knobs] [-o FILE]\n"
          "  --rows N              rows to write (default 1000)\n"
          "  --seed S              PRNG seed (default 1); same seed and options -> same bytes\n"
          "  --format csv|tsv-copy csv (default; header line) or PostgreSQL COPY text format\n"
          "                        (tab separated, \\N for NULL; no header line)\n"
          "  --header, --no-header force the header line on / off\n"
          "  --schema TABLE        print CREATE TABLE TABLE (...) for the columns and exit\n"
          "  -o FILE               write to FILE instead of standard output\n"
          "  --drift COL=F[,COL=F...]  numeric COL: values x F; 0/1 flag COL: share of ones x F;\n"
          "                        categorical COL: weight of its most frequent category x F;\n"
          "                        COL/CATEGORY=F: weight of that category x F (repeatable);\n"
          "                        the DAYS_EMPLOYED sentinel 365243 is never scaled\n"
          "homecredit shape (default):\n"
          "  --revolving-share X   share of Revolving loans (default 0.0952 = train; test 0.009)\n"
          "  --bureau-share X      share with bureau balance history (default 0.30; test 0.868)\n"
          "  --bureau, --no-bureau append the 12 client_bureau_balance_* columns (default on)\n"
          "  --bureau-fill V       write V, not an empty field, for applicants without history\n"
          "                        (a pipeline that imputed before measuring drift)\n"
          "  --no-target           leave out TARGET (a current batch)\n"
          "  --first-id N          first SK_ID_CURR (default 100002)\n"
          "  --score               append the demo's scoring engine's column `score` (a fixed\n"
          "                        logistic model, see gen.c) and draw TARGET from it\n"
          "  --importance-out FILE with --score: write the model's importances, CSV\n"
          "                        column,importance (shares of 1; each other column 0.005)\n"
          "  --labels-out FILE     with --score: write the outcomes, CSV SK_ID_CURR,TARGET,\n"
          "                        TARGET drawn from the model on the values before --drift\n"
          "bench shape: 80 numeric num_00..num_79, 20 categorical cat_00..cat_19\n"
          "  --drifted N           num_00..num_(N-1) x 1.5 and the most frequent category of\n"
          "                        cat_00..cat_(ceil(N/5)-1) weighted x 0.25\n",
          f);
}

static int parse_double(const char *s, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (end == s || *end != '\0' || errno != 0 || !(v == v))
        return -1;
    *out = v;
    return 0;
}

static int parse_ll(const char *s, long long *out)
{
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (end == s || *end != '\0' || errno != 0)
        return -1;
    *out = v;
    return 0;
}

/* A comma starts a new COL=F item only when an identifier and '=' or '/' follow it; commas
 * inside category names ("Spouse, partner") stay. */
static int starts_item(const char *s)
{
    size_t i = 0;
    while ((s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= 'a' && s[i] <= 'z') ||
           (s[i] >= '0' && s[i] <= '9') || s[i] == '_')
        i++;
    return i > 0 && (s[i] == '=' || s[i] == '/');
}

static int add_drifts(opts_t *o, const char *spec)
{
    const char *p = spec;
    while (*p) {
        const char *end = p;
        while (*end && !(*end == ',' && starts_item(end + 1)))
            end++;
        size_t len = (size_t)(end - p);
        char *item = malloc(len + 1);
        if (!item)
            return -1;
        memcpy(item, p, len);
        item[len] = '\0';
        char *eq = strrchr(item, '=');
        double f;
        if (!eq || eq == item || parse_double(eq + 1, &f) != 0 || f < 0.0) {
            fprintf(stderr,
                    "dm-gen: bad --drift item \"%s\": want COL=FACTOR or COL/CAT=FACTOR "
                    "with FACTOR >= 0\n",
                    item);
            free(item);
            return -1;
        }
        if (o->ndrift >= MAX_DRIFTS) {
            fprintf(stderr, "dm-gen: too many --drift items (at most %d)\n", MAX_DRIFTS);
            free(item);
            return -1;
        }
        *eq = '\0';
        char *slash = strchr(item, '/');
        drift_t *d = &o->drift[o->ndrift++];
        d->factor = f;
        d->category = NULL;
        if (slash) {
            *slash = '\0';
            d->category = strdup(slash + 1);
            if (!d->category) {
                free(item);
                return -1;
            }
        }
        d->column = item;
        p = *end ? end + 1 : end;
    }
    return 0;
}

static int apply_drift(cols_t *c, const drift_t *d)
{
    for (size_t i = 0; i < c->n; i++) {
        if (strcmp(c->name[i], d->column) != 0)
            continue;
        if (c->cat[i]) {
            if (gen_cat_reweight(c->cat[i], d->category, d->factor) != 0) {
                fprintf(stderr, "dm-gen: --drift: column \"%s\" has no category \"%s\"\n",
                        d->column, d->category);
                return -1;
            }
            return 0;
        }
        if (d->category) {
            fprintf(stderr,
                    "dm-gen: --drift: column \"%s\" is numeric, \"%s/%s\" names a "
                    "category\n",
                    d->column, d->column, d->category);
            return -1;
        }
        c->fac[i] *= d->factor;
        return 0;
    }
    fprintf(stderr, "dm-gen: --drift: no column \"%s\" in this shape\n", d->column);
    return -1;
}

static int parse_args(int argc, char **argv, opts_t *o)
{
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *val = NULL;
        char name[64];
        const char *eq = strncmp(a, "--", 2) == 0 ? strchr(a, '=') : NULL;
        if (eq && (size_t)(eq - a) < sizeof name) {
            memcpy(name, a, (size_t)(eq - a));
            name[eq - a] = '\0';
            val = eq + 1;
        } else {
            snprintf(name, sizeof name, "%s", a);
        }
        if (strcmp(name, "--help") == 0 || strcmp(name, "-h") == 0) {
            usage(stdout);
            exit(0);
        }
        /* flags without a value */
        if (strcmp(name, "--no-target") == 0) {
            o->target = 0;
            continue;
        }
        if (strcmp(name, "--bureau") == 0) {
            o->bureau = 1;
            continue;
        }
        if (strcmp(name, "--score") == 0) {
            o->score = 1;
            continue;
        }
        if (strcmp(name, "--no-bureau") == 0) {
            o->bureau = 0;
            continue;
        }
        if (strcmp(name, "--header") == 0) {
            o->header = 1;
            continue;
        }
        if (strcmp(name, "--no-header") == 0) {
            o->header = 0;
            continue;
        }
        if (!val) {
            if (i + 1 >= argc) {
                fprintf(stderr, "dm-gen: option \"%s\" needs a value (--help for usage)\n", a);
                return -1;
            }
            val = argv[++i];
        }
        long long ll;
        double d;
        if (strcmp(name, "--shape") == 0) {
            if (strcmp(val, "homecredit") == 0)
                o->shape = SHAPE_HC;
            else if (strcmp(val, "bench") == 0)
                o->shape = SHAPE_BENCH;
            else
                goto bad;
        } else if (strcmp(name, "--rows") == 0) {
            if (parse_ll(val, &ll) != 0 || ll < 0)
                goto bad;
            o->rows = ll;
        } else if (strcmp(name, "--seed") == 0) {
            char *end;
            errno = 0;
            unsigned long long s = strtoull(val, &end, 0);
            if (end == val || *end != '\0' || errno != 0 || val[0] == '-')
                goto bad;
            o->seed = (uint64_t)s;
        } else if (strcmp(name, "--first-id") == 0) {
            if (parse_ll(val, &ll) != 0)
                goto bad;
            o->first_id = ll;
        } else if (strcmp(name, "--format") == 0) {
            if (strcmp(val, "csv") == 0)
                o->format = GEN_CSV;
            else if (strcmp(val, "tsv-copy") == 0)
                o->format = GEN_TSV_COPY;
            else
                goto bad;
        } else if (strcmp(name, "--revolving-share") == 0) {
            if (parse_double(val, &d) != 0 || d < 0.0 || d > 1.0)
                goto bad;
            o->revolving_share = d;
        } else if (strcmp(name, "--bureau-share") == 0) {
            if (parse_double(val, &d) != 0 || d < 0.0 || d > 1.0)
                goto bad;
            o->bureau_share = d;
        } else if (strcmp(name, "--bureau-fill") == 0) {
            if (parse_double(val, &d) != 0)
                goto bad;
            o->bureau_fill = d;
            o->bureau_fill_set = 1;
        } else if (strcmp(name, "--drift") == 0) {
            if (add_drifts(o, val) != 0)
                return -1;
        } else if (strcmp(name, "--drifted") == 0) {
            if (parse_ll(val, &ll) != 0 || ll < 0 || ll > BENCH_NUM)
                goto bad;
            o->drifted = (int)ll;
        } else if (strcmp(name, "-o") == 0 || strcmp(name, "--output") == 0) {
            o->out_path = val;
        } else if (strcmp(name, "--importance-out") == 0) {
            o->importance_out = val;
        } else if (strcmp(name, "--labels-out") == 0) {
            o->labels_out = val;
        } else if (strcmp(name, "--schema") == 0) {
            o->schema_table = val;
        } else {
            fprintf(stderr, "dm-gen: unknown option \"%s\" (--help for usage)\n", a);
            return -1;
        }
        continue;
    bad:
        fprintf(stderr, "dm-gen: bad value \"%s\" for %s (--help for usage)\n", val, name);
        return -1;
    }
    return 0;
}

/* The importances of --score's model: |b| x sd over the rows written (term's split between
 * AMT_CREDIT and AMT_ANNUITY), as shares of 1 in which every other written column (SK_ID_CURR,
 * TARGET and score aside) weighs OTHER_SHARE: the model's inputs share the rest. */
#define OTHER_SHARE 0.005

static int write_importance(const char *path, const cols_t *c, const model_t *m)
{
    static const double b[M_NIN] = {M_B_EXT1, M_B_EXT2, M_B_EXT3, M_B_AGE, M_B_TERM};
    double imp[M_NIN], sum = 0.0;
    for (int k = 0; k < M_NIN; k++) {
        double sd = m->n > 1.0 ? sqrt(m->m2[k] / (m->n - 1.0)) : 0.0;
        imp[k] = fabs(b[k]) * sd;
        sum += imp[k];
    }
    static const char *const model_col[] = {"EXT_SOURCE_1", "EXT_SOURCE_2", "EXT_SOURCE_3",
                                            "DAYS_BIRTH",   "AMT_CREDIT",   "AMT_ANNUITY"};
    double col_imp[6] = {imp[0], imp[1], imp[2], imp[3], imp[4] / 2.0, imp[4] / 2.0};
    size_t others = 0;
    for (size_t i = 0; i < c->n; i++) {
        int skip = strcmp(c->name[i], "SK_ID_CURR") == 0 || strcmp(c->name[i], "TARGET") == 0 ||
                   strcmp(c->name[i], "score") == 0;
        for (size_t k = 0; k < 6 && !skip; k++)
            skip = strcmp(c->name[i], model_col[k]) == 0;
        others += !skip;
    }
    double model_share = 1.0 - OTHER_SHARE * (double)others;
    if (!(sum > 0.0) || !(model_share > 0.0)) {
        fprintf(stderr, "dm-gen: --importance-out: no rows to measure the model's inputs on\n");
        return -1;
    }
    char tmp[4096];
    if (snprintf(tmp, sizeof tmp, "%s.tmp", path) >= (int)sizeof tmp) {
        fprintf(stderr, "dm-gen: --importance-out: path too long\n");
        return -1;
    }
    FILE *f = fopen(tmp, "wb");
    if (!f) {
        fprintf(stderr, "dm-gen: could not open \"%s\": %s\n", tmp, strerror(errno));
        return -1;
    }
    fputs("column,importance\n", f);
    for (size_t i = 0; i < c->n; i++) {
        if (strcmp(c->name[i], "SK_ID_CURR") == 0 || strcmp(c->name[i], "TARGET") == 0 ||
            strcmp(c->name[i], "score") == 0)
            continue;
        double v = OTHER_SHARE;
        for (size_t k = 0; k < 6; k++)
            if (strcmp(c->name[i], model_col[k]) == 0)
                v = model_share * col_imp[k] / sum;
        fprintf(f, "%s,%.9f\n", c->name[i], v);
    }
    if (fclose(f) != 0 || rename(tmp, path) != 0) {
        fprintf(stderr, "dm-gen: could not write \"%s\": %s\n", path, strerror(errno));
        remove(tmp);
        return -1;
    }
    return 0;
}

static void print_schema(FILE *f, const cols_t *c, const char *table)
{
    fprintf(f, "CREATE TABLE \"%s\" (\n", table);
    size_t k = 0;
    for (size_t i = 0; i < c->n; i++) {
        if (c->skip[i])
            continue;
        const char *type = c->cat[i] ? "text" : "double precision";
        if (strcmp(c->name[i], "SK_ID_CURR") == 0)
            type = "bigint";
        fprintf(f, "%s    \"%s\" %s", k++ ? ",\n" : "", c->name[i], type);
    }
    fputs("\n);\n", f);
}

int main(int argc, char **argv)
{
    static opts_t o;
    static cols_t cols;
    o.shape = SHAPE_HC;
    o.rows = 1000;
    o.seed = 1;
    o.first_id = 100002;
    o.target = 1;
    o.bureau = 1;
    o.format = GEN_CSV;
    o.header = -1;
    o.revolving_share = 0.0952;
    o.bureau_share = 0.30;
    int rc = 1;
    FILE *f = NULL, *lf = NULL;
    gen_out_t out = {0}, lout = {0};
    char ltmp[4096] = "";

    if (parse_args(argc, argv, &o) != 0) {
        rc = 2;
        goto done;
    }
    if (o.shape == SHAPE_HC) {
        if (o.drifted) {
            fprintf(stderr, "dm-gen: --drifted applies to --shape bench only\n");
            rc = 2;
            goto done;
        }
        hc_setup(&cols, &o);
    } else if (o.score || o.importance_out || o.labels_out) {
        fprintf(stderr, "dm-gen: --score, --importance-out and --labels-out apply to the "
                        "homecredit shape only\n");
        rc = 2;
        goto done;
    } else {
        bench_setup(&cols);
        for (int j = 0; j < o.drifted; j++)
            cols.fac[j] *= 1.5;
        for (int k = 0; k < (o.drifted + 4) / 5; k++)
            (void)gen_cat_reweight(&BENCH_TABLES[k], NULL, 0.25);
    }
    if ((o.importance_out || o.labels_out) && !o.score) {
        fprintf(stderr, "dm-gen: %s needs --score\n",
                o.importance_out ? "--importance-out" : "--labels-out");
        rc = 2;
        goto done;
    }
    for (size_t i = 0; i < o.ndrift; i++) {
        if (apply_drift(&cols, &o.drift[i]) != 0) {
            rc = 2;
            goto done;
        }
    }
    f = stdout;
    if (o.out_path && strcmp(o.out_path, "-") != 0) {
        f = fopen(o.out_path, "wb");
        if (!f) {
            fprintf(stderr, "dm-gen: could not open \"%s\": %s\n", o.out_path, strerror(errno));
            goto done;
        }
    }
    if (o.schema_table) {
        print_schema(f, &cols, o.schema_table);
        rc = 0;
        goto done;
    }
    if (gen_out_open(&out, f, o.format) != 0) {
        fprintf(stderr, "dm-gen: out of memory\n");
        goto done;
    }
    if (o.labels_out) { /* written to FILE.tmp, renamed once complete */
        if (snprintf(ltmp, sizeof ltmp, "%s.tmp", o.labels_out) >= (int)sizeof ltmp) {
            fprintf(stderr, "dm-gen: --labels-out: path too long\n");
            rc = 2;
            goto done;
        }
        lf = fopen(ltmp, "wb");
        if (!lf) {
            fprintf(stderr, "dm-gen: could not open \"%s\": %s\n", ltmp, strerror(errno));
            ltmp[0] = '\0';
            goto done;
        }
        if (gen_out_open(&lout, lf, GEN_CSV) != 0) {
            fprintf(stderr, "dm-gen: out of memory\n");
            goto done;
        }
        gen_out_str(&lout, "SK_ID_CURR");
        gen_out_str(&lout, "TARGET");
        gen_out_endrow(&lout);
    }
    if (o.header == 1 || (o.header == -1 && o.format == GEN_CSV)) {
        for (size_t i = 0; i < cols.n; i++)
            if (!cols.skip[i])
                gen_out_str(&out, cols.name[i]);
        gen_out_endrow(&out);
    }
    emit_t e = {&out, &cols, 0, 0};
    static model_t model;
    for (long long i = 0; i < o.rows; i++) {
        e.col = 0;
        if (o.shape == SHAPE_HC && o.score) {
            /* TARGET comes before the features it is drawn from: a first pass draws the row
             * without writing it, the second writes it with that TARGET (same streams) */
            e.dry = 1;
            hc_row(&e, &o, (uint64_t)i, &model);
            e.dry = 0;
            e.col = 0;
            hc_row(&e, &o, (uint64_t)i, &model);
            model.n += 1.0;
            if (o.labels_out) {
                gen_out_dec(&lout, o.first_id + i, 0);
                gen_out_dec(&lout, model.label, 0);
                gen_out_endrow(&lout);
            }
            for (int k = 0; k < M_NIN; k++) {
                double d = model.x[k] - model.mean[k];
                model.mean[k] += d / model.n;
                model.m2[k] += d * (model.x[k] - model.mean[k]);
            }
        } else if (o.shape == SHAPE_HC)
            hc_row(&e, &o, (uint64_t)i, &model);
        else
            bench_row(&e, &o, (uint64_t)i);
        if (e.col != cols.n) { /* a programming error in a row function */
            fprintf(stderr, "dm-gen: internal error: row wrote %zu of %zu columns\n", e.col,
                    cols.n);
            goto done;
        }
        gen_out_endrow(&out);
        if (out.err)
            break;
    }
    if (gen_out_close(&out) != 0) {
        fprintf(stderr, "dm-gen: write error on \"%s\": %s\n", o.out_path ? o.out_path : "stdout",
                strerror(errno));
        goto done;
    }
    if (o.importance_out && write_importance(o.importance_out, &cols, &model) != 0)
        goto done;
    if (o.labels_out) {
        int bad = gen_out_close(&lout) != 0;
        lout.buf = NULL;
        bad = fclose(lf) != 0 || bad;
        lf = NULL;
        if (bad || rename(ltmp, o.labels_out) != 0) {
            fprintf(stderr, "dm-gen: could not write \"%s\": %s\n", o.labels_out, strerror(errno));
            goto done;
        }
        ltmp[0] = '\0';
    }
    rc = 0;
done:
    if (out.buf)
        free(out.buf);
    if (lout.buf)
        free(lout.buf);
    if (lf)
        fclose(lf);
    if (ltmp[0])
        remove(ltmp);
    if (f && f != stdout && fclose(f) != 0 && rc == 0) {
        fprintf(stderr, "dm-gen: could not close \"%s\": %s\n", o.out_path, strerror(errno));
        rc = 1;
    }
    for (size_t i = 0; i < o.ndrift; i++) {
        free(o.drift[i].column);
        free(o.drift[i].category);
    }
    return rc;
}
