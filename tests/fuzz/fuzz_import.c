/* libFuzzer target: one NDJSON import line, as cartctl reads it. */

#include <stdint.h>
#include <stddef.h>
#include <jansson.h>

#include "cart_record.h"


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char            err[600];
    json_t         *line;
    cart_record_t   rec;

    line = json_loadb((const char *) data, size, JSON_REJECT_DUPLICATES,
                      NULL);
    if (line == NULL) {
        return 0;
    }

    if (cart_record_from_json(line, &rec, err, sizeof(err)) == 0) {
        cart_record_free(&rec);
    }

    json_decref(line);

    return 0;
}
