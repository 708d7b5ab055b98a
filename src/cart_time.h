/* RFC 3339 timestamps, as Unix time in milliseconds. */

#ifndef CART_TIME_H
#define CART_TIME_H

#include <stddef.h>
#include <stdint.h>


#define CART_TIME_LEN  64      /* "2026-12-31T00:00:00.000Z" and room */

/* "2026-12-31T00:00:00Z", "2026-12-31T01:00:00.5+01:00": 0, else -1 */
int cart_time_parse(const char *s, int64_t *ms);

/* UTC, milliseconds only when not zero; buf holds CART_TIME_LEN */
void cart_time_format(int64_t ms, char *buf);


#endif /* CART_TIME_H */
