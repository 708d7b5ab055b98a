/* libFuzzer target: excludes, fast_mode and RFC 3339 timestamps. */

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cart_query.h"
#include "cart_time.h"


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char             *buf, *s;
    int64_t           ms;
    cart_excludes_t   ex;

    buf = malloc(size + 1);
    s = malloc(size + 1);
    if (buf == NULL || s == NULL) {
        free(buf);
        free(s);
        return 0;
    }

    if (cart_excludes_parse((const char *) data, size, buf, &ex) == 0
        && ex.n)
    {
        (void) cart_excludes_has(&ex, ex.domain[0], ex.len[0]);
    }

    (void) cart_bool_parse((const char *) data, size);

    memcpy(s, data, size);
    s[size] = '\0';
    (void) cart_time_parse(s, &ms);

    free(buf);
    free(s);

    return 0;
}
