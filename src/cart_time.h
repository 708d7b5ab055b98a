/* RFC 3339 timestamps, as Unix time in milliseconds. */

#ifndef CART_TIME_H
#define CART_TIME_H

#include <stddef.h>
#include <stdint.h>


#define CART_TIME_LEN  64      /* "2026-12-31T00:00:00.000Z" and room */

/* "2026-12-31T00:00:00Z", "2026-12-31T01:00:00.5+01:00": 0, else -1 */
int cart_time_parse(const char *s, int64_t *ms);

/*
 * The same, to the microsecond, of len bytes.  With CART_TIME_ISO, the
 * ISO 8601 forms a query may use are read too: "2026-12-31" (midnight),
 * "2026-12-31 10:00", no zone (UTC), "+01", "+0100".
 */
#define CART_TIME_ISO  0x1

int cart_time_parse_us(const char *s, size_t len, unsigned flags,
    int64_t *us);

/* UTC, milliseconds only when not zero; buf holds CART_TIME_LEN */
void cart_time_format(int64_t ms, char *buf);

/* the same of microseconds: six digits when they are not whole ms */
void cart_time_format_us(int64_t us, char *buf);


#endif /* CART_TIME_H */
