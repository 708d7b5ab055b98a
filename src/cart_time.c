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


/*
 * The parser of both: RFC 3339 (a date, 'T', a time with seconds, a zone),
 * or with CART_TIME_ISO also a date alone, a space for 'T', a time
 * without seconds, no zone (UTC) and zones as +HH or +HHMM.
 */
static int
cart_time_parse_at(const char *p, const char *end, unsigned flags,
    int64_t *us)
{
    int      y, mo, d, h, mi, sec, digits, oh, om, sign, mdays;
    int64_t  t, frac;

    static const int  days[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30,
                                 31 };

#define cart_at(c)  (p < end && *p == (c))

    h = mi = sec = 0;
    frac = 0;
    oh = om = 0;
    sign = 1;

    if (end - p < 10 || cart_digits(&p, 4, &y) || *p++ != '-'
        || cart_digits(&p, 2, &mo) || *p++ != '-'
        || cart_digits(&p, 2, &d))
    {
        return -1;
    }

    if (p == end && (flags & CART_TIME_ISO)) {
        goto date;
    }

    if (!(cart_at('T') || cart_at('t')
          || ((flags & CART_TIME_ISO) && cart_at(' '))))
    {
        return -1;
    }

    p++;

    if (end - p < 5 || cart_digits(&p, 2, &h) || *p++ != ':'
        || cart_digits(&p, 2, &mi))
    {
        return -1;
    }

    if (cart_at(':')) {
        p++;

        if (end - p < 2 || cart_digits(&p, 2, &sec)) {
            return -1;
        }

    } else if (!(flags & CART_TIME_ISO)) {
        return -1;
    }

    if (cart_at('.') || cart_at(',')) {
        p++;

        for (digits = 0; p < end && *p >= '0' && *p <= '9'; p++, digits++) {
            if (digits < 6) {
                frac = frac * 10 + (*p - '0');
            }
        }

        if (digits == 0) {
            return -1;
        }

        for ( /* void */ ; digits < 6; digits++) {
            frac *= 10;
        }
    }

    if (cart_at('Z') || cart_at('z')) {
        p++;

    } else if (cart_at('+') || cart_at('-')) {
        sign = (*p++ == '-') ? -1 : 1;

        if (end - p < 2 || cart_digits(&p, 2, &oh)) {
            return -1;
        }

        if (cart_at(':')) {
            p++;

            if (end - p < 2 || cart_digits(&p, 2, &om)) {
                return -1;
            }

        } else if (end - p >= 2 && (flags & CART_TIME_ISO)) {
            if (cart_digits(&p, 2, &om)) {
                return -1;
            }

        } else if (!(flags & CART_TIME_ISO)) {
            return -1;
        }

        if (oh > 23 || om > 59) {
            return -1;
        }

    } else if (!(flags & CART_TIME_ISO)) {
        return -1;
    }

#undef cart_at

    if (p != end || h > 23 || mi > 59 || sec > 60) {
        return -1;
    }

date:

    if (mo < 1 || mo > 12) {
        return -1;
    }

    mdays = days[mo - 1];
    if (mo == 2 && (y % 4 == 0 && (y % 100 != 0 || y % 400 == 0))) {
        mdays = 29;
    }

    if (d < 1 || d > mdays) {
        return -1;
    }

    if (sec == 60) {
        sec = 59;       /* a leap second: the last microsecond before it */
        frac = 999999;
    }

    t = cart_days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec;
    t -= sign * (oh * 3600 + om * 60);

    *us = t * 1000000 + frac;

    return 0;
}


int
cart_time_parse_us(const char *s, size_t len, unsigned flags, int64_t *us)
{
    return cart_time_parse_at(s, s + len, flags, us);
}


int
cart_time_parse(const char *s, int64_t *ms)
{
    int64_t  us;

    if (cart_time_parse_at(s, s + strlen(s), 0, &us) != 0) {
        return -1;
    }

    /* down to the millisecond, also before 1970 */
    *ms = (us >= 0 ? us : us - 999) / 1000;

    return 0;
}


void
cart_time_format_us(int64_t us, char *buf)
{
    size_t   n;
    int64_t  frac;

    frac = us % 1000000;
    if (frac < 0) {
        frac += 1000000;
    }

    if (frac % 1000 == 0) {
        cart_time_format((us - frac) / 1000 + frac / 1000, buf);
        return;
    }

    /* the whole seconds, then six digits before the "Z" */
    cart_time_format((us - frac) / 1000, buf);

    n = strlen(buf);
    snprintf(buf + n - 1, CART_TIME_LEN - n + 1, ".%06dZ", (int) frac);
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
