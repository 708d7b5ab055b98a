#include <stdio.h>
#include <string.h>

#include "cart_time.h"


/* days since 1970-01-01 of a proleptic Gregorian date */
static int64_t
cart_days_from_civil(int64_t y, int m, int d)
{
    int64_t  era, yoe, doy, doe;

    y -= m <= 2;
    era = (y >= 0 ? y : y - 399) / 400;
    yoe = y - era * 400;
    doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;

    return era * 146097 + doe - 719468;
}


static int
cart_digits(const char **p, int n, int *value)
{
    int  v = 0;

    while (n--) {
        if (**p < '0' || **p > '9') {
            return -1;
        }

        v = v * 10 + (*(*p)++ - '0');
    }

    *value = v;

    return 0;
}


int
cart_time_parse(const char *s, int64_t *ms)
{
    int          y, mo, d, h, mi, sec, frac, digits, oh, om, sign, mdays;
    int64_t      t;
    const char  *p = s;

    static const int  days[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30,
                                 31 };

    if (cart_digits(&p, 4, &y) || *p++ != '-'
        || cart_digits(&p, 2, &mo) || *p++ != '-'
        || cart_digits(&p, 2, &d) || (*p != 'T' && *p != 't')
        || (p++, cart_digits(&p, 2, &h)) || *p++ != ':'
        || cart_digits(&p, 2, &mi) || *p++ != ':'
        || cart_digits(&p, 2, &sec))
    {
        return -1;
    }

    if (mo < 1 || mo > 12 || h > 23 || mi > 59 || sec > 60) {
        return -1;
    }

    mdays = days[mo - 1];
    if (mo == 2 && (y % 4 == 0 && (y % 100 != 0 || y % 400 == 0))) {
        mdays = 29;
    }

    if (d < 1 || d > mdays) {
        return -1;
    }

    frac = 0;

    if (*p == '.') {
        p++;

        for (digits = 0; *p >= '0' && *p <= '9'; p++, digits++) {
            if (digits < 3) {
                frac = frac * 10 + (*p - '0');
            }
        }

        if (digits == 0) {
            return -1;
        }

        for ( /* void */ ; digits < 3; digits++) {
            frac *= 10;
        }
    }

    oh = om = 0;
    sign = 1;

    if (*p == 'Z' || *p == 'z') {
        p++;

    } else if (*p == '+' || *p == '-') {
        sign = (*p++ == '-') ? -1 : 1;

        if (cart_digits(&p, 2, &oh) || *p++ != ':' || cart_digits(&p, 2, &om)
            || oh > 23 || om > 59)
        {
            return -1;
        }

    } else {
        return -1;
    }

    if (*p != '\0') {
        return -1;
    }

    if (sec == 60) {
        sec = 59;       /* a leap second: the last millisecond before it */
        frac = 999;
    }

    t = cart_days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec;
    t -= sign * (oh * 3600 + om * 60);

    *ms = t * 1000 + frac;

    return 0;
}


void
cart_time_format(int64_t ms, char *buf)
{
    int64_t  days, secs, z, era, doe, yoe, doy, mp, y, m, d, frac;

    frac = ms % 1000;
    secs = ms / 1000;
    if (frac < 0) {
        frac += 1000;
        secs--;
    }

    days = secs / 86400;
    secs %= 86400;
    if (secs < 0) {
        secs += 86400;
        days--;
    }

    z = days + 719468;
    era = (z >= 0 ? z : z - 146096) / 146097;
    doe = z - era * 146097;
    yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    mp = (5 * doy + 2) / 153;
    d = doy - (153 * mp + 2) / 5 + 1;
    m = mp < 10 ? mp + 3 : mp - 9;
    y = yoe + era * 400 + (m <= 2);

    if (frac) {
        snprintf(buf, CART_TIME_LEN, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ",
                 (int) y, (int) m, (int) d, (int) (secs / 3600),
                 (int) (secs / 60 % 60), (int) (secs % 60), (int) frac);

    } else {
        snprintf(buf, CART_TIME_LEN, "%04d-%02d-%02dT%02d:%02d:%02dZ",
                 (int) y, (int) m, (int) d, (int) (secs / 3600),
                 (int) (secs / 60 % 60), (int) (secs % 60));
    }
}
