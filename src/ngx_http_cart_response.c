#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_cart_response.h"


#define NGX_HTTP_UNPROCESSABLE_ENTITY  422


static ngx_table_elt_t *
ngx_http_cart_add_header(ngx_http_request_t *r, ngx_str_t *name,
    ngx_str_t *value)
{
    ngx_table_elt_t  *h;

    h = ngx_list_push(&r->headers_out.headers);
    if (h == NULL) {
        return NULL;
    }

    h->hash = 1;
    h->key = *name;
    h->value = *value;
#if (nginx_version >= 1023000)
    h->next = NULL;
#endif

    return h;
}


ngx_int_t
ngx_http_cart_send(ngx_http_request_t *r, ngx_http_cart_style_t *style,
    ngx_uint_t status, ngx_str_t *body, uint64_t *etag)
{
    u_char                    *p;
    ngx_int_t                  rc;
    ngx_uint_t                 i;
    ngx_buf_t                 *b;
    ngx_str_t                  value;
    ngx_chain_t                out;
    ngx_http_cart_header_t    *h;
    ngx_http_core_loc_conf_t  *clcf;

    static ngx_str_t  cache_control = ngx_string("Cache-Control");
    static ngx_str_t  allow = ngx_string("Allow");
    static ngx_str_t  get_head = ngx_string("GET, HEAD");
    static ngx_str_t  etag_name = ngx_string("ETag");

    r->headers_out.status = status;
    r->headers_out.content_length_n = body->len;

    if (status == NGX_HTTP_UNPROCESSABLE_ENTITY) {
        /* nginx has no reason phrase of its own for 422 */
        ngx_str_set(&r->headers_out.status_line, "422 Unprocessable Entity");
    }

    /*
     * the length of the type without its parameters ("; charset=utf-8"),
     * as nginx's filters match it (gzip_types), as for a proxied response
     */
    r->headers_out.content_type = style->content_type;
    p = ngx_strlchr(style->content_type.data,
                    style->content_type.data + style->content_type.len, ';');
    r->headers_out.content_type_len = (p ? p : style->content_type.data
                                               + style->content_type.len)
                                      - style->content_type.data;
    r->headers_out.content_type_lowcase = NULL;

    if (ngx_http_cart_add_header(r, &cache_control,
                                 status < NGX_HTTP_BAD_REQUEST
                                 ? &style->cache_control
                                 : &style->error_cache_control)
        == NULL)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    for (h = style->headers;
         h && h->name.len && status < NGX_HTTP_BAD_REQUEST;
         h++)
    {
        if (ngx_http_cart_add_header(r, &h->name, &h->value) == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }
    }

    if (status == NGX_HTTP_NOT_ALLOWED
        && ngx_http_cart_add_header(r, &allow, &get_head) == NULL)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    clcf = ngx_http_get_module_loc_conf(r, ngx_http_core_module);

    if (etag && clcf->etag) {
        value.data = ngx_pnalloc(r->pool, sizeof("W/\"\"")
                                          + 16 * style->etag_words);
        if (value.data == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        p = style->weak_etag ? ngx_cpymem(value.data, "W/\"", 3)
                             : ngx_cpymem(value.data, "\"", 1);

        for (i = 0; i < style->etag_words; i++) {
            p = ngx_sprintf(p, "%016uxL", etag[i]);
        }

        *p++ = '"';
        value.len = p - value.data;

        r->headers_out.etag = ngx_http_cart_add_header(r, &etag_name, &value);
        if (r->headers_out.etag == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }
    }

    rc = ngx_http_send_header(r);

    if (rc == NGX_ERROR || rc > NGX_OK || r->header_only) {
        return rc;
    }

    b = ngx_calloc_buf(r->pool);
    if (b == NULL) {
        return NGX_ERROR;
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
ngx_http_cart_send_error(ngx_http_request_t *r, ngx_http_cart_style_t *style,
    ngx_http_cart_error_t *error)
{
    return ngx_http_cart_send(r, style, error->status, &error->body, NULL);
}
