// The demo page in Debian's headless Chromium, driven by playwright-core:
// what a person sees once the carts are fetched, then after a cart changes,
// while the store is unavailable and after it is back, and with a token
// that is not valid. Prints what it saw as one JSON object; the checks
// are tests/demo_page.t's.
//
// usage: node demo_page.mjs URL SCREENSHOT CHANGE BREAK MEND
// (SCREENSHOT is a .png; the store's outage goes to its -unavailable.png)
// (CHANGE, BREAK and MEND are shell commands: change a cart, make the
// store unavailable, make it available again)

import { execSync } from 'node:child_process';
import { chromium } from 'playwright-core';

const [url, screenshot, change, breakStore, mendStore] =
    process.argv.slice(2);

// as the machine's notes say Chromium must start here: no sandbox for
// root, and none of its calls home (this machine's network is closed)
const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic',
           '--no-first-run', '--disable-background-networking',
           '--disable-component-update', '--disable-sync'],
});

const seen = { console: [] };

async function visit(query) {
    const context = await browser.newContext({
        locale: 'en-US', timezoneId: 'UTC',
        viewport: { width: 1100, height: 900 },
    });
    const page = await context.newPage();

    page.on('console', (m) => seen.console.push(`${m.type()}: ${m.text()}`));
    page.on('pageerror', (e) => seen.console.push(`pageerror: ${e.message}`));
    await page.goto(url + query);

    return page;
}

// the drawer as a person reads it
function drawer(page) {
    return page.evaluate(() => ({
        summary: document.getElementById('summary').innerText,
        grandTotal: document.getElementById('grand-total').innerText,
        notice: document.getElementById('notice').hidden ? null
            : document.getElementById('notice').innerText,
        polls: Number(document.body.dataset.polls),
        notModified: Number(document.body.dataset.notModified),
        stores: [...document.querySelectorAll('.store')].map((s) => ({
            domain: s.dataset.domain,
            name: s.querySelector('.store-name').innerText,
            total: s.querySelector('[data-role=total]').innerText,
            items: [...s.querySelectorAll('.item')].map((i) => ({
                name: i.querySelector('.item-name').innerText,
                detail: i.querySelector('.item-detail').innerText,
                price: i.querySelector('.item-price').innerText,
                image: i.querySelector('img')
                    ? { src: i.querySelector('img').getAttribute('src'),
                        loaded: i.querySelector('img').complete
                                && i.querySelector('img').naturalWidth > 0 }
                    : null,
            })),
        })),
    }));
}

const page = await visit('?poll=250');

await page.waitForSelector('body[data-state=ready]', { timeout: 15000 });
await page.waitForFunction(() => [...document.images]
    .every((i) => i.complete), null, { timeout: 15000 });
seen.first = await drawer(page);

// unchanged carts: the polls are answered 304
await page.waitForFunction(() => document.body.dataset.notModified >= 3,
                           null, { timeout: 15000 });
seen.unchanged = await drawer(page);
await page.screenshot({ path: screenshot });

execSync(change, { stdio: 'pipe' });
const changedAt = Date.now();
await page.waitForFunction(() => document.getElementById('summary')
    .innerText.startsWith('5 items'), null, { timeout: 15000 });
seen.changeMs = Date.now() - changedAt;
seen.changed = await drawer(page);

execSync(breakStore, { stdio: 'pipe' });
await page.waitForSelector('#notice:not([hidden])', { timeout: 15000 });
seen.broken = await drawer(page);
await page.screenshot({ path: screenshot.replace(/\.png$/, '-unavailable.png') });

execSync(mendStore, { stdio: 'pipe' });
await page.waitForFunction(() => document.getElementById('notice').hidden,
                           null, { timeout: 15000 });
seen.mended = await drawer(page);

const stranger = await visit('?token=not-a-token');

await stranger.waitForSelector('body[data-state=error]', { timeout: 15000 });
seen.badToken = await drawer(stranger);

await browser.close();
console.log(JSON.stringify(seen, null, 2));
