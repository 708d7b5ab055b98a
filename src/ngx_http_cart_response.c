#include "ngx_http_cart_response.h"


#define NGX_HTTP_UNPROCESSABLE_ENTITY  422


static ngx_int_t
ngx_http_cart_add_header(ngx_http_request_t *r, char *key, ngx_str_t *value,
    ngx_table_elt_t **out)
{
    ngx_table_elt_t  *h;

    h = ngx_list_push(&r->headers_out.headers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    h->hash = 1;
    h->key.data = (u_char *) key;
    h->key.len = ngx_strlen(key);
    h->value = *value;

    if (out) {
        *out = h;
    }

    return NGX_OK;
}


ngx_int_t
ngx_http_cart_send(ngx_http_request_t *r, ngx_uint_t status, ngx_str_t *body,
    uint64_t etag)
{
    ngx_int_t     rc;
    ngx_buf_t    *b;
    ngx_str_t     value;
    ngx_chain_t   out;

    static ngx_str_t  cache_control = ngx_string("private, no-cache");
    static ngx_str_t  allow = ngx_string("GET, HEAD");

    r->headers_out.status = status;
    r->headers_out.content_length_n = body->len;

    if (status == NGX_HTTP_UNPROCESSABLE_ENTITY) {
        /* nginx has no reason phrase of its own for 422 */
        ngx_str_set(&r->headers_out.status_line, "422 Unprocessable Entity");
    }

    ngx_str_set(&r->headers_out.content_type, "application/json");
    r->headers_out.content_type_len = r->headers_out.content_type.len;
    r->headers_out.content_type_lowcase = NULL;

    if (ngx_http_cart_add_header(r, "Cache-Control", &cache_control, NULL)
        != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (status == NGX_HTTP_NOT_ALLOWED
        && ngx_http_cart_add_header(r, "Allow", &allow, NULL) != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (etag) {
        value.data = ngx_pnalloc(r->pool, sizeof("\"0123456789abcdef\""));
        if (value.data == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        value.len = ngx_sprintf(value.data, "\"%016uxL\"", etag) - value.data;

        if (ngx_http_cart_add_header(r, "ETag", &value, &r->headers_out.etag)
            != NGX_OK)
        {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }
    }

    rc = ngx_http_send_header(r);

    if (rc == NGX_ERROR || rc > NGX_OK || r->header_only) {
        return rc;
    }

    b = ngx_calloc_buf(r->pool);
    if (b == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    b->pos = body->data;
    b->last = body->data + body->len;
    b->memory = 1;
    b->last_buf = (r == r->main) ? 1 : 0;
    b->last_in_chain = 1;

    out.buf = b;
    out.next = NULL;

    return ngx_http_output_filter(r, &out);
}


ngx_int_t
ngx_http_cart_send_error(ngx_http_request_t *r, ngx_http_cart_error_t *error)
{
    return ngx_http_cart_send(r, error->status, &error->body, 0);
}


ngx_http_cart_ctx_t *
ngx_http_cart_ctx(ngx_http_request_t *r)
{
    ngx_http_cart_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_cart_module);

    if (ctx == NULL) {
        ctx = ngx_pcalloc(r->pool, sizeof(ngx_http_cart_ctx_t));
        if (ctx == NULL) {
            return NULL;
        }

        ngx_http_set_ctx(r, ctx, ngx_http_cart_module);
    }

    return ctx;
}
