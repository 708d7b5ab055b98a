/*
 * PostgreSQL's logical replication stream, as cartctl follow reads it:
 * the CopyData messages of the streaming replication protocol (XLogData,
 * keepalive, and the standby status update the follower sends back), and
 * inside XLogData the messages of the pgoutput plugin, protocol version 1
 * (PostgreSQL's "Logical Replication Message Formats").  Pure functions:
 * no I/O, no allocation; a decoded message points into the bytes given.
 */

#ifndef CART_PGOUTPUT_H
#define CART_PGOUTPUT_H

#include <stddef.h>
#include <stdint.h>


/* the most columns a relation may have here (cart_records has a few) */
#define CART_PG_COLUMNS_MAX  32

/* a status update's length: 'r', three LSNs, a clock, a flag */
#define CART_PG_STATUS_LEN   34

/* seconds from the Unix epoch to PostgreSQL's, 2000-01-01 */
#define CART_PG_EPOCH        946684800LL


typedef struct {
    const char      *name;          /* NUL-terminated, in the message */
    uint32_t         type;          /* the type's oid */
} cart_pg_column_t;

typedef struct {
    char             kind;          /* 't' text, 'n' null, 'u' unchanged */
    const char      *data;          /* 't': the value's text, not ended */
    uint32_t         len;
} cart_pg_value_t;

typedef struct {
    char             type;          /* 'B', 'C', 'R', 'I', or another */
    uint64_t         lsn;           /* B: final LSN; C: the commit's */
    uint64_t         end_lsn;       /* C: the end of the transaction */
    int64_t          commit_time;   /* B, C: microseconds since 2000 */
    uint32_t         xid;           /* B */
    uint32_t         relid;         /* R, I */
    const char      *nspname;       /* R */
    const char      *relname;       /* R */
    uint16_t         ncolumns;      /* R: columns; I: values */
    cart_pg_column_t columns[CART_PG_COLUMNS_MAX];
    cart_pg_value_t  values[CART_PG_COLUMNS_MAX];
} cart_pg_message_t;

typedef struct {
    char             type;          /* 'w' XLogData, 'k' keepalive */
    uint64_t         start;         /* w: where the data starts */
    uint64_t         wal_end;       /* w, k: the server's end of WAL */
    int64_t          send_time;     /* w, k: microseconds since 2000 */
    int              reply;         /* k: the server asks for a status */
    const unsigned char  *data;     /* w: the pgoutput message */
    size_t           len;
} cart_pg_copy_t;


/*
 * Decodes one CopyData message of the replication stream; 0, or -1 with
 * *err saying what is wrong with it.
 */
int cart_pg_copy_decode(const unsigned char *buf, size_t len,
    cart_pg_copy_t *copy, const char **err);

/*
 * Decodes one pgoutput message (the data of an XLogData); 0, or -1 with
 * *err.  Types other than B, C, R and I are only named (msg->type).
 */
int cart_pg_decode(const unsigned char *buf, size_t len,
    cart_pg_message_t *msg, const char **err);

/* writes a standby status update (CART_PG_STATUS_LEN bytes) to buf */
void cart_pg_status(unsigned char *buf, uint64_t written, uint64_t flushed,
    uint64_t applied, int64_t now, int reply);

/* "X/Y", as PostgreSQL prints an LSN, into buf of at least 20 bytes */
char *cart_pg_lsn(char *buf, uint64_t lsn);

/* an LSN as PostgreSQL prints it, into *lsn: 0, or -1 */
int cart_pg_lsn_parse(const char *s, uint64_t *lsn);


#endif /* CART_PGOUTPUT_H */
