/*
 * libFuzzer target: the replication stream's CopyData messages and the
 * pgoutput messages inside them (what cartctl follow reads from
 * PostgreSQL); every value a decoded message points at is read, so that a
 * pointer past the input shows.
 */

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cart_pgoutput.h"


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t              i, sum;
    const char         *err;
    cart_pg_copy_t      copy;
    cart_pg_message_t   msg;

    sum = 0;

    if (cart_pg_copy_decode(data, size, &copy, &err) == 0
        && copy.type == 'w')
    {
        data = copy.data;
        size = copy.len;
    }

    if (cart_pg_decode(data, size, &msg, &err) != 0) {
        return 0;
    }

    if (msg.type == 'R') {
        sum += strlen(msg.nspname) + strlen(msg.relname);

        for (i = 0; i < msg.ncolumns; i++) {
            sum += strlen(msg.columns[i].name);
        }
    }

    if (msg.type == 'I') {
        for (i = 0; i < msg.ncolumns; i++) {
            if (msg.values[i].kind == 't' && msg.values[i].len) {
                sum += (unsigned char) msg.values[i].data[0]
                       + (unsigned char) msg.values[i].data[msg.values[i].len
                                                            - 1];
            }
        }
    }

    return sum == (size_t) -1;
}
