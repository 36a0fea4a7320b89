/* numfmt.c - the one spelling of a double (see numfmt.h). */
#include "stats/numfmt.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

char *stats_format_double(double d, char *out, size_t outlen)
{
    if (isnan(d)) {
        snprintf(out, outlen, "NaN");
        return out;
    }
    if (isinf(d)) {
        snprintf(out, outlen, d > 0 ? "Infinity" : "-Infinity");
        return out;
    }
    for (int prec = 15; prec <= 17; prec++) {
        snprintf(out, outlen, "%.*g", prec, d);
        if (strtod(out, NULL) == d)
            break;
    }
    for (char *p = out; *p != '\0'; p++)
        if (!(*p >= '0' && *p <= '9') && *p != '-' && *p != '+' && *p != 'e' && *p != 'E')
            *p = '.';
    return out;
}
