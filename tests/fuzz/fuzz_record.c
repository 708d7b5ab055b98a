/*
 * libFuzzer target: a stored record as the module reads it out of the
 * map (the store is outside input): the framing of a domain, a cart, a
 * cart's V1 or a Spree cart record (its first byte says which), then each
 * of its views read as the module reads them, kept plain or inflated.
 */

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cart_gzip.h"
#include "cart_layout.h"


static volatile unsigned  last;


/* a view as the plain answer reads it: its kept bytes, or inflated */
static void
view(const uint8_t *p, const cart_deflated_t *d)
{
    unsigned char        *out;
    const unsigned char  *plain;

    out = malloc((size_t) d->plain_len + 1);
    if (out == NULL) {
        return;
    }

    plain = cart_gzip_plain(p, d, out);
    last = (plain && d->plain_len) ? plain[d->plain_len - 1] : 0;

    free(out);
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    cart_cart_rec_t     c;
    cart_spree_rec_t    s;
    cart_domain_rec_t   dom;
    cart_cart_v1_rec_t  c1;

    if (size < 1) {
        return 0;
    }

    switch (data[0] % 4) {

    case 0:
        if (cart_domain_rec_read(data + 1, size - 1, &dom) == 0) {
            view(data + size - cart_deflated_size(&dom.v1_empty),
                 &dom.v1_empty);
        }
        break;

    case 1:
        if (cart_cart_rec_read(data + 1, size - 1, &c) == 0) {
            view(data + 1 + sizeof(c), &c.v2);
        }
        break;

    case 3:
        if (cart_cart_v1_rec_read(data + 1, size - 1, &c1) == 0) {
            view(data + 1 + sizeof(c1), &c1.v1);
        }
        break;

    default:
        if (cart_spree_rec_read(data + 1, size - 1, &s) == 0) {
            view(data + 1 + sizeof(s), &s.json);
        }
        break;
    }

    return 0;
}
