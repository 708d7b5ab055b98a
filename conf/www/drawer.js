// The demo's cart drawer: the device's active carts at every store, read
// from GET /api/v2/carts/active with the demo token and read again every
// few seconds with the last ETag in If-None-Match, so that an unchanged
// answer is a 304 without a body. No framework, no build step.
//
// ?token=... uses that device token instead of the demo's; ?poll=ms sets
// the polling interval (3000 by default).

const params = new URLSearchParams(window.location.search);
const pollMs = Number(params.get('poll')) || 3000;

const state = {
    token: null,
    etag: null,
    carts: null,        // the last good answer: {domains, carts}
    seen: new Map(),    // domain -> that cart's JSON, to mark what changed
    updated: null,
    checked: null,
    polls: 0,
    notModified: 0,
};

const $ = (id) => document.getElementById(id);

function el(tag, attrs, ...children) {
    const node = document.createElement(tag);

    for (const [name, value] of Object.entries(attrs || {})) {
        if (value !== undefined && value !== null) {
            node.setAttribute(name, value);
        }
    }

    node.append(...children.filter((c) => c !== null && c !== undefined));

    return node;
}

// a money object of the API: {currency, value, number, symbol}
function money(m) {
    if (!m) {
        return '';
    }

    try {
        return new Intl.NumberFormat(undefined, {
            style: 'currency', currency: m.currency,
        }).format(m.value);
    } catch (e) {
        return `${m.symbol || ''}${m.value} ${m.currency}`;
    }
}

// what a person should read for each error the routes answer
// (README: "The API, as served"; openapi.yaml)
function describeError(status, body) {
    const code = body && typeof body.error === 'string' ? body.error : null;
    const said = `${status}${code ? ` ${code}` : ''}`;

    switch (code) {
    case 'MissingAuthHeader':
    case 'InvalidJWTToken':
    case 'InvalidToken':
    case 'Unauthorized':
        return {
            fatal: true, code: said,
            text: 'Your session has ended, so your carts cannot be shown. '
                  + 'Reload the page to start a new session.',
        };

    case 'ErrorStoreUnavailable':
    case 'InternalServerError':
        return {
            fatal: false, code: said,
            text: 'Carts are unavailable right now. Nothing in them is lost; '
                  + 'this page keeps trying.',
        };

    default:
        return {
            fatal: status < 500, code: said,
            text: 'Something went wrong while loading your carts. '
                  + (status < 500 ? 'Reload the page to try again.'
                                  : 'This page keeps trying.'),
        };
    }
}

function showNotice(error) {
    const notice = $('notice');

    notice.hidden = !error;
    notice.className = error && error.fatal ? 'notice fatal' : 'notice';
    notice.replaceChildren();

    if (error) {
        notice.append(el('p', null, error.text),
                      el('p', { class: 'code' }, `(${error.code})`));
    }
}

function itemView(item) {
    const image = item.image && item.image.src
        ? el('img', { src: item.image.src, alt: item.image.alt || '',
                      loading: 'lazy' })
        : null;
    const initials = el('span', { class: 'no-image', 'aria-hidden': 'true' },
                        (item.description || '?').slice(0, 1));

    if (image) {
        // an image that does not load leaves its initial in its place
        image.addEventListener('error', () => image.replaceWith(initials));
    }

    const detail = [item.variant_description, `Qty ${item.quantity}`]
        .filter(Boolean).join(' · ');

    return el('li', { class: 'item' },
              image || initials,
              el('div', null,
                 el('p', { class: 'item-name' }, item.description || item.sku),
                 el('p', { class: 'item-detail' }, detail)),
              el('span', { class: 'item-price' }, money(item.line_price)));
}

function cartView(domain, cart) {
    const rows = [
        ['Subtotal', cart.sub_total],
        ['Shipping', cart.shipping_total],
        ['Tax', cart.tax_total],
        ['Add-ons', cart.addon_total && cart.addon_total.number
                    ? cart.addon_total : null],
    ].filter(([, m]) => m);

    const totals = el('dl', { class: 'totals' });

    for (const [label, m] of rows) {
        totals.append(el('dt', null, label), el('dd', null, money(m)));
    }

    totals.append(el('dt', { class: 'total' }, 'Total'),
                  el('dd', { class: 'total', 'data-role': 'total' },
                     money(cart.total)));

    const json = JSON.stringify(cart);
    const before = state.seen.get(domain);
    const changed = before !== undefined && before !== json;

    state.seen.set(domain, json);

    const section = el('section', {
        class: changed ? 'store changed' : 'store', 'data-domain': domain,
    },
        el('div', { class: 'store-head' },
           el('h3', { class: 'store-name' }, cart.display_name || domain),
           el('span', { class: 'store-domain' }, domain)),
        el('ul', { class: 'items' }, ...cart.line_items.map(itemView)),
        totals,
        el('a', { class: 'checkout', href: `https://${domain}/cart` },
           `Check out at ${cart.display_name || domain}`));

    if (changed) {
        setTimeout(() => section.classList.remove('changed'), 2000);
    }

    return section;
}

function render() {
    const { domains, carts } = state.carts;
    const stores = $('stores');
    const items = carts.reduce((n, c) =>
        n + c.line_items.reduce((q, i) => q + i.quantity, 0), 0);

    stores.replaceChildren(...carts.map((cart, i) =>
        cartView(domains[i] || cart.shop_id, cart)));

    if (carts.length === 0) {
        stores.append(el('p', { class: 'empty' },
                         'Your carts are empty. Items you add at any store '
                         + 'show up here.'));
    }

    stores.setAttribute('aria-busy', 'false');
    $('summary').textContent = carts.length === 0 ? 'No items yet'
        : `${items} item${items === 1 ? '' : 's'} at ${carts.length} `
          + `store${carts.length === 1 ? '' : 's'}`;

    // one total per currency (amounts in different currencies do not add),
    // summed in minor units and shown with the currency's own decimals
    const sums = new Map();

    for (const { total } of carts) {
        sums.set(total.currency,
                 (sums.get(total.currency) || 0) + total.number);
    }

    const grand = [...sums].map(([currency, number]) => {
        const digits = new Intl.NumberFormat('en', {
            style: 'currency', currency,
        }).resolvedOptions().maximumFractionDigits;

        return money({ currency, value: number / 10 ** digits });
    });

    $('grand-total').textContent = carts.length > 1
        ? `All stores: ${grand.join(' + ')}` : '';
}

function renderStatus() {
    const time = (d) => d.toLocaleTimeString();

    $('status').textContent = state.updated
        ? `Updated ${time(state.updated)} · checked ${time(state.checked)}`
        : '';
    document.body.dataset.polls = String(state.polls);
    document.body.dataset.notModified = String(state.notModified);
}

async function poll() {
    const headers = { 'x-firmly-authorization': state.token };
    let res, body = null;

    if (state.etag) {
        headers['If-None-Match'] = state.etag;
    }

    try {
        // no-store: the page itself sends If-None-Match and sees the 304
        res = await fetch('/api/v2/carts/active', { headers,
                                                    cache: 'no-store' });
    } catch (e) {
        showNotice({ fatal: false, code: 'no connection',
                     text: 'The cart service cannot be reached. This page '
                           + 'keeps trying.' });
        return true;
    }

    state.polls++;
    state.checked = new Date();

    if (res.status === 304) {
        state.notModified++;
        showNotice(null);
        renderStatus();
        return true;
    }

    try {
        body = await res.json();
    } catch (e) {
        body = null;
    }

    if (res.ok && body && Array.isArray(body.carts)) {
        state.etag = res.headers.get('ETag');
        state.carts = body;
        state.updated = state.checked;
        showNotice(null);
        render();
        renderStatus();
        document.body.dataset.state = 'ready';
        return true;
    }

    // the last carts stay on screen under the notice
    const error = describeError(res.status, body);

    showNotice(error);
    renderStatus();
    document.body.dataset.state = 'error';
    $('stores').setAttribute('aria-busy', 'false');

    if (!state.carts) {
        $('summary').textContent = 'Your carts cannot be shown';
    }

    return !error.fatal;
}

async function start() {
    state.token = params.get('token');

    if (!state.token) {
        const res = await fetch('/demo-token.json', { cache: 'no-store' });
        state.token = (await res.json()).token;
    }

    while (await poll()) {
        await new Promise((resolve) => setTimeout(resolve, pollMs));
    }
}

start();
