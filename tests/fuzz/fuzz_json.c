/*
 * libFuzzer target: the JSON writer against jansson's own dump, for any
 * document jansson parses.  A difference aborts.
 */

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cart_json.h"


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char    *ours, *theirs;
    size_t   len;
    json_t  *json;

    json = json_loadb((const char *) data, size, JSON_DECODE_ANY
                      | JSON_ALLOW_NUL, NULL);
    if (json == NULL) {
        return 0;
    }

    ours = cart_json_dump(json, &len);
    theirs = json_dumps(json, CART_JSON_FLAGS | JSON_ENCODE_ANY);

    if (ours == NULL || theirs == NULL || len != strlen(theirs)
        || memcmp(ours, theirs, len) != 0)
    {
        fprintf(stderr, "ours:    %s\njansson: %s\n", ours ? ours : "(null)",
                theirs ? theirs : "(null)");
        abort();
    }

    free(ours);
    free(theirs);
    json_decref(json);

    return 0;
}
