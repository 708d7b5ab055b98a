/* The replication stream's messages, decoded (see cart_pgoutput.h). */

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cart_pgoutput.h"


/* a reader of network-order fields that fails once past the end */
typedef struct {
    const unsigned char  *p;
    const unsigned char  *end;
    const char           *err;
} cart_pg_reader_t;


static uint64_t
cart_pg_uint(cart_pg_reader_t *r, size_t n)
{
    uint64_t  v;

    if (r->err) {
        return 0;
    }

    if ((size_t) (r->end - r->p) < n) {
        r->err = "message too short";
        return 0;
    }

    for (v = 0; n; n--) {
        v = (v << 8) | *r->p++;
    }

    return v;
}


/* a NUL-terminated string within the message */
static const char *
cart_pg_string(cart_pg_reader_t *r)
{
    const char           *s;
    const unsigned char  *nul;

    if (r->err) {
        return NULL;
    }

    nul = memchr(r->p, '\0', (size_t) (r->end - r->p));
    if (nul == NULL) {
        r->err = "string not terminated";
        return NULL;
    }

    s = (const char *) r->p;
    r->p = nul + 1;

    return s;
}


int
cart_pg_copy_decode(const unsigned char *buf, size_t len,
    cart_pg_copy_t *copy, const char **err)
{
    cart_pg_reader_t  r = { buf, buf + len, NULL };

    memset(copy, 0, sizeof(cart_pg_copy_t));
    copy->type = (char) cart_pg_uint(&r, 1);

    switch (copy->type) {

    case 'w':
        copy->start = cart_pg_uint(&r, 8);
        copy->wal_end = cart_pg_uint(&r, 8);
        copy->send_time = (int64_t) cart_pg_uint(&r, 8);
        copy->data = r.p;
        copy->len = (size_t) (r.end - r.p);
        break;

    case 'k':
        copy->wal_end = cart_pg_uint(&r, 8);
        copy->send_time = (int64_t) cart_pg_uint(&r, 8);
        copy->reply = cart_pg_uint(&r, 1) != 0;
        break;

    default:
        r.err = r.err ? r.err : "not XLogData or a keepalive";
        break;
    }

    *err = r.err;

    return r.err ? -1 : 0;
}


static void
cart_pg_relation(cart_pg_reader_t *r, cart_pg_message_t *msg)
{
    uint16_t  i;

    msg->relid = (uint32_t) cart_pg_uint(r, 4);
    msg->nspname = cart_pg_string(r);
    msg->relname = cart_pg_string(r);
    (void) cart_pg_uint(r, 1);                  /* replica identity */
    msg->ncolumns = (uint16_t) cart_pg_uint(r, 2);

    if (msg->ncolumns > CART_PG_COLUMNS_MAX) {
        r->err = r->err ? r->err : "too many columns";
        return;
    }

    for (i = 0; i < msg->ncolumns; i++) {
        (void) cart_pg_uint(r, 1);              /* flags: part of the key */
        msg->columns[i].name = cart_pg_string(r);
        msg->columns[i].type = (uint32_t) cart_pg_uint(r, 4);
        (void) cart_pg_uint(r, 4);              /* type modifier */
    }
}


static void
cart_pg_tuple(cart_pg_reader_t *r, cart_pg_message_t *msg)
{
    uint16_t          i;
    cart_pg_value_t  *v;

    msg->ncolumns = (uint16_t) cart_pg_uint(r, 2);

    if (msg->ncolumns > CART_PG_COLUMNS_MAX) {
        r->err = r->err ? r->err : "too many columns";
        return;
    }

    for (i = 0; i < msg->ncolumns && r->err == NULL; i++) {
        v = &msg->values[i];
        v->kind = (char) cart_pg_uint(r, 1);

        switch (v->kind) {

        case 'n':
        case 'u':
            break;

        case 't':
            v->len = (uint32_t) cart_pg_uint(r, 4);

            if (r->err == NULL && (size_t) (r->end - r->p) < v->len) {
                r->err = "value longer than the message";
                break;
            }

            v->data = (const char *) r->p;
            r->p += r->err ? 0 : v->len;
            break;

        default:
            r->err = r->err ? r->err : "unknown kind of column value";
            break;
        }
    }
}


int
cart_pg_decode(const unsigned char *buf, size_t len, cart_pg_message_t *msg,
    const char **err)
{
    cart_pg_reader_t  r = { buf, buf + len, NULL };

    msg->type = (char) cart_pg_uint(&r, 1);
    msg->ncolumns = 0;

    switch (msg->type) {

    case 'B':
        msg->lsn = cart_pg_uint(&r, 8);
        msg->commit_time = (int64_t) cart_pg_uint(&r, 8);
        msg->xid = (uint32_t) cart_pg_uint(&r, 4);
        break;

    case 'C':
        (void) cart_pg_uint(&r, 1);             /* flags */
        msg->lsn = cart_pg_uint(&r, 8);
        msg->end_lsn = cart_pg_uint(&r, 8);
        msg->commit_time = (int64_t) cart_pg_uint(&r, 8);
        break;

    case 'R':
        cart_pg_relation(&r, msg);
        break;

    case 'I':
        msg->relid = (uint32_t) cart_pg_uint(&r, 4);

        if (cart_pg_uint(&r, 1) != 'N' && r.err == NULL) {
            r.err = "insert without a new tuple";
        }

        cart_pg_tuple(&r, msg);
        break;

    default:
        break;
    }

    *err = r.err;

    return r.err ? -1 : 0;
}


static unsigned char *
cart_pg_put(unsigned char *p, uint64_t v, size_t n)
{
    while (n--) {
        p[n] = (unsigned char) (v & 0xff);
        v >>= 8;
    }

    return p;
}


void
cart_pg_status(unsigned char *buf, uint64_t written, uint64_t flushed,
    uint64_t applied, int64_t now, int reply)
{
    buf[0] = 'r';
    cart_pg_put(buf + 1, written, 8);
    cart_pg_put(buf + 9, flushed, 8);
    cart_pg_put(buf + 17, applied, 8);
    cart_pg_put(buf + 25, (uint64_t) now, 8);
    buf[33] = (unsigned char) (reply != 0);
}


char *
cart_pg_lsn(char *buf, uint64_t lsn)
{
    snprintf(buf, 20, "%X/%X", (unsigned) (lsn >> 32), (unsigned) lsn);

    return buf;
}


int
cart_pg_lsn_parse(const char *s, uint64_t *lsn)
{
    char               *end;
    unsigned long long  hi, lo;

    if (!isxdigit((unsigned char) *s)) {
        return -1;
    }

    hi = strtoull(s, &end, 16);
    if (*end != '/' || hi > 0xffffffffULL) {
        return -1;
    }

    s = end + 1;
    if (!isxdigit((unsigned char) *s)) {
        return -1;
    }

    lo = strtoull(s, &end, 16);
    if (*end != '\0' || lo > 0xffffffffULL) {
        return -1;
    }

    *lsn = (hi << 32) | lo;

    return 0;
}
