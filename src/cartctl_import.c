/* cartctl import: NDJSON lines into the store, all or nothing. */

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <jansson.h>

#include "cartctl.h"


/*
 * Import runs in batches (cartctl.h): worker threads parse and render the
 * lines of a batch (the costly part: JSON in, two views out), then this
 * thread applies them in order in the one write transaction.
 */

void
cartctl_prepare(cartctl_line_t *line)
{
    json_t        *json;
    json_error_t   jerr;

    memset(&line->rec, 0, sizeof(cart_record_t));

    if (strspn(line->text, " \t\r\n") == (size_t) line->len) {
        line->rc = 1;
        return;
    }

    json = json_loadb(line->text, (size_t) line->len, JSON_REJECT_DUPLICATES,
                      &jerr);
    if (json == NULL) {
        snprintf(line->err, sizeof(line->err), "json: %s (column %d)",
                 jerr.text, jerr.column);
        line->rc = -1;
        return;
    }

    line->rc = cart_record_from_json(json, &line->rec, line->err,
                                     sizeof(line->err));
    json_decref(json);
}


static void *
cartctl_worker(void *data)
{
    size_t            i;
    cartctl_batch_t  *batch = data;

    while ((i = __atomic_fetch_add(&batch->next, 1, __ATOMIC_RELAXED))
           < batch->n)
    {
        cartctl_prepare(&batch->lines[i]);
    }

    return NULL;
}


long
cartctl_start(cartctl_batch_t *batch, pthread_t *threads, long nthreads)
{
    long  t;

    batch->next = 0;

    for (t = 0; t < nthreads; t++) {
        if (pthread_create(&threads[t], NULL, cartctl_worker, batch) != 0) {
            break;
        }
    }

    if (t == 0) {
        cartctl_worker(batch);
    }

    return t;
}


void
cartctl_join(pthread_t *threads, long started)
{
    while (started--) {
        pthread_join(threads[started], NULL);
    }
}


static size_t
cartctl_read_batch(cartctl_batch_t *batch, FILE *in)
{
    cartctl_line_t  *line;

    for (batch->n = 0; batch->n < CARTCTL_BATCH; batch->n++) {
        line = &batch->lines[batch->n];
        line->len = getline(&line->text, &line->cap, in);
        if (line->len == -1) {
            break;
        }
    }

    return batch->n;
}


/* applies a prepared batch in order; returns the import's status */
static int
cartctl_apply_batch(MDB_txn *txn, cartctl_store_t *st,
    cartctl_batch_t *batch, size_t *lineno, size_t *records)
{
    int              rc, status;
    char             reason[128];
    size_t           i;
    cartctl_line_t  *line;

    status = CARTCTL_OK;

    for (i = 0; i < batch->n; i++) {
        line = &batch->lines[i];
        (*lineno)++;

        if (status == CARTCTL_OK && line->rc == 0) {
            status = cartctl_apply(txn, st, &line->rec, line->err,
                                   sizeof(line->err), &rc);

            if (status == CARTCTL_STORE) {
                fprintf(stderr, "line %zu: store: %s\n", *lineno,
                        cartctl_reason(st, rc, reason, sizeof(reason)));

            } else if (status == CARTCTL_INVALID) {
                line->rc = -1;
                status = CARTCTL_OK;

            } else {
                (*records)++;
            }
        }

        if (status == CARTCTL_OK && line->rc == -1) {
            fprintf(stderr, "line %zu: %s\n", *lineno, line->err);
            status = CARTCTL_INVALID;
        }

        cart_record_free(&line->rec);
    }

    return status;
}


int
cartctl_import(cartctl_store_t *st, const char *file)
{
    int               rc, status;
    FILE             *in;
    long              nthreads, started;
    size_t            i, b, lineno, records, more;
    MDB_txn          *txn;
    pthread_t         threads[16];
    cartctl_batch_t   batch[2], *work, *idle, *tmp;

    if (file == NULL || strcmp(file, "-") == 0) {
        in = stdin;

    } else {
        in = fopen(file, "r");
        if (in == NULL) {
            fprintf(stderr, "cartctl: %s: %s\n", file, strerror(errno));
            return CARTCTL_INVALID;
        }
    }

    for (b = 0; b < 2; b++) {
        batch[b].lines = calloc(CARTCTL_BATCH, sizeof(cartctl_line_t));
        if (batch[b].lines == NULL) {
            fprintf(stderr, "cartctl: out of memory\n");
            return CARTCTL_STORE;
        }
    }

    nthreads = sysconf(_SC_NPROCESSORS_ONLN);
    nthreads = nthreads < 1 ? 1 : nthreads > 16 ? 16 : nthreads;

    rc = mdb_txn_begin(st->env, NULL, 0, &txn);
    if (rc != 0) {
        return cartctl_store_error(st, "begin", rc);
    }

    lineno = 0;
    records = 0;
    status = CARTCTL_OK;

    /*
     * Two batches: while the workers prepare one, this thread applies the
     * one before it and reads the one after it.
     */
    work = &batch[0];
    idle = &batch[1];

    cartctl_read_batch(work, in);
    started = cartctl_start(work, threads, nthreads);

    while (work->n) {
        more = (work->n == CARTCTL_BATCH);
        idle->n = 0;

        if (more) {
            cartctl_read_batch(idle, in);
        }

        cartctl_join(threads, started);
        started = 0;

        if (idle->n) {
            started = cartctl_start(idle, threads, nthreads);
        }

        status = cartctl_apply_batch(txn, st, work, &lineno, &records);

        if (status != CARTCTL_OK) {
            cartctl_join(threads, started);

            for (i = 0; i < idle->n; i++) {
                cart_record_free(&idle->lines[i].rec);
            }

            break;
        }

        tmp = work;
        work = idle;
        idle = tmp;
    }

    if (status == CARTCTL_OK && ferror(in)) {
        fprintf(stderr, "cartctl: read: %s\n", strerror(errno));
        status = CARTCTL_INVALID;
    }

    for (b = 0; b < 2; b++) {
        for (i = 0; i < CARTCTL_BATCH; i++) {
            free(batch[b].lines[i].text);
        }

        free(batch[b].lines);
    }

    if (in != stdin) {
        fclose(in);
    }

    if (status != CARTCTL_OK) {
        mdb_txn_abort(txn);
        fprintf(stderr, "cartctl: nothing imported\n");
        return status;
    }

    rc = mdb_txn_commit(txn);
    if (rc != 0) {
        return cartctl_store_error(st, "commit", rc);
    }

    fprintf(stderr, "cartctl: imported %zu records\n", records);

    return CARTCTL_OK;
}
