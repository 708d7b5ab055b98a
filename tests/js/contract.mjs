// The OpenAPI contract check: every response recorded by the suites
// (t/lib/CartCapture.pm) must be one that openapi.yaml describes for its
// path, method and status: its headers, its media type and its body's
// schema (a gzip body gunzipped first, where the document describes its
// Content-Encoding).  And every response the document describes must have been
// received at least once, so that the document says nothing untested.
//
// usage: node contract.mjs openapi.yaml capture.ndjson
// prints a TAP-like report on stdout; exits 1 on any failure.

import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import Ajv2020 from 'ajv/dist/2020.js';
import YAML from 'yaml';

const [docFile, captureFile] = process.argv.slice(2);
const doc = YAML.parse(readFileSync(docFile, 'utf8'));
const ajv = new Ajv2020({ strict: false, allErrors: true });

// $refs are the document's own ('#/...'): a schema's becomes an allOf, so
// that its siblings (a narrower code, say) apply beside it; any other
// object's is replaced by its target
function pointer(ref) {
    return ref.slice(2).split('/')
        .map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'))
        .reduce((node, key) => node[key], doc);
}

function resolve(node, inSchema) {
    if (Array.isArray(node)) {
        return node.map((n) => resolve(n, inSchema));
    }

    if (node === null || typeof node !== 'object') {
        return node;
    }

    if (typeof node.$ref === 'string') {
        const { $ref, ...siblings } = node;
        const target = resolve(pointer($ref), inSchema);

        if (!inSchema) {
            return target;
        }

        return Object.keys(siblings).length === 0
            ? target
            : { allOf: [target], ...resolve(siblings, true) };
    }

    const out = {};

    for (const [key, value] of Object.entries(node)) {
        out[key] = resolve(value, inSchema || key === 'schema');
    }

    return out;
}

// the path templates, most literal first (as OpenAPI matches them)
const paths = Object.keys(doc.paths).map((template) => ({
    template,
    item: doc.paths[template],
    re: new RegExp('^' + template.replace(/[.]/g, '\\.')
                   .replace(/\{[^}]+\}/g, '[^/]+') + '$'),
    literal: template.replace(/\{[^}]+\}/g, '').length,
})).sort((a, b) => b.literal - a.literal);

// a response: which document entry answers for it
function describedBy(method, path, status) {
    const found = paths.find((p) => p.re.test(path));

    if (!found) {
        return { outside: `no path matches ${path}` };
    }

    // HEAD is GET without the body (RFC 9110 9.3.2)
    const op = found.item[method === 'HEAD' ? 'get' : method.toLowerCase()];
    let responses, where;

    if (op) {
        responses = op.responses;
        where = `${method === 'HEAD' ? 'GET' : method} ${found.template}`;

    } else {
        const other = doc['x-other-methods'][found.item['x-other-methods']];

        if (!other || !other.responses) {
            return { outside: `${method} ${found.template}: ${other
                ? other.description.replace(/\s+/g, ' ') : 'no operation'}` };
        }

        responses = other.responses;
        where = `other methods of ${found.template}`;
    }

    const key = String(status);
    const raw = responses[key];

    if (!raw) {
        return { where, error: `status ${status} is not described` };
    }

    return { where, id: coverageId(raw, where, key),
             response: resolve(raw, false) };
}

// a response shared by several operations is covered by any of its uses
function coverageId(raw, where, status) {
    return raw.$ref || `${where} ${status}`;
}

function parseHttp(bytes) {
    const end = bytes.indexOf('\r\n\r\n');
    const head = bytes.subarray(0, end < 0 ? bytes.length : end)
        .toString('latin1');
    let body = end < 0 ? Buffer.alloc(0) : bytes.subarray(end + 4);
    const [statusLine, ...lines] = head.split('\r\n');
    const status = Number((statusLine.match(/^HTTP\/1\.[01] (\d{3})/)
                           || [])[1]);
    const headers = new Map();

    for (const line of lines) {
        const colon = line.indexOf(':');
        const name = line.slice(0, colon).trim().toLowerCase();

        if (headers.has(name)) {
            headers.get(name).push(line.slice(colon + 1).trim());
        } else {
            headers.set(name, [line.slice(colon + 1).trim()]);
        }
    }

    if ((headers.get('transfer-encoding') || [])[0] === 'chunked') {
        const parts = [];
        let rest = body;

        for (;;) {
            const eol = rest.indexOf('\r\n');
            const size = parseInt(rest.subarray(0, eol).toString(), 16);

            if (!(size > 0)) {
                break;
            }

            parts.push(rest.subarray(eol + 2, eol + 2 + size));
            rest = rest.subarray(eol + 4 + size);
        }

        body = Buffer.concat(parts);
    }

    return { status, headers, body };
}

const validators = new Map();

function validate(schema, value) {
    const key = JSON.stringify(schema);

    if (!validators.has(key)) {
        validators.set(key, ajv.compile(schema));
    }

    const check = validators.get(key);

    return check(value) ? [] : check.errors.map((e) =>
        `${e.instancePath || '(body)'} ${e.message}`
        + (e.params && e.params.allowedValue !== undefined
           ? ` (${JSON.stringify(e.params.allowedValue)})` : ''));
}

function check(method, res, response) {
    const problems = [];

    for (const [name, header] of Object.entries(response.headers || {})) {
        const values = res.headers.get(name.toLowerCase());

        if (!values) {
            if (header.required) {
                problems.push(`header ${name} is missing`);
            }
            continue;
        }

        if (values.length > 1) {
            problems.push(`header ${name} is sent ${values.length} times`);
        }

        for (const e of validate(header.schema, values[0])) {
            problems.push(`header ${name}: ${JSON.stringify(values[0])}: `
                          + e.replace('(body) ', ''));
        }
    }

    // a body encoded where the document says it may be, decoded
    const encoding = (res.headers.get('content-encoding') || [])[0];
    let body = res.body;

    if (encoding && !(response.headers || {})['Content-Encoding']) {
        problems.push(`Content-Encoding ${encoding}, where none is described`);

    } else if (encoding === 'gzip' && body.length > 0) {
        try {
            body = gunzipSync(body);
        } catch (e) {
            problems.push(`the body is not gzip: ${e.message}`);
        }
    }

    const type = (res.headers.get('content-type') || [])[0];
    const content = response.content || {};
    const media = Object.keys(content)
        .find((m) => type && m.toLowerCase() === type.toLowerCase());
    const bodiless = method === 'HEAD' || res.status === 304;

    if (Object.keys(content).length === 0) {
        if (res.body.length > 0) {
            problems.push('a body where none is described');
        }

    } else if (!media) {
        problems.push(`Content-Type ${JSON.stringify(type)}, not one of `
                      + JSON.stringify(Object.keys(content)));

    } else if (bodiless) {
        if (res.body.length > 0) {
            problems.push(`a body in the answer to ${method}`);
        }

    } else {
        let value;

        try {
            value = JSON.parse(body.toString('utf8'));
        } catch (e) {
            problems.push(`the body is not JSON: ${e.message}`);
        }

        if (value !== undefined) {
            problems.push(...validate(content[media].schema, value));
        }
    }

    if (bodiless && res.headers.has('content-length')
        && method !== 'HEAD' && res.headers.get('content-length')[0] !== '0')
    {
        problems.push('a 304 with a Content-Length');
    }

    return problems;
}

// every response the document describes, by its coverage id
const described = new Map();

function describe(where, responses) {
    for (const [status, raw] of Object.entries(responses || {})) {
        described.set(coverageId(raw, where, status), `${where} ${status}`);
    }
}

for (const { template, item } of paths) {
    for (const [method, op] of Object.entries(item)) {
        if (op && op.responses) {
            describe(`${method.toUpperCase()} ${template}`, op.responses);
        }
    }

    const other = doc['x-other-methods'][item['x-other-methods']];

    if (other) {
        describe(`other methods of ${template}`, other.responses);
    }
}

const seen = new Set();
const outside = new Map();
let checked = 0, failed = 0;

for (const line of readFileSync(captureFile, 'utf8').split('\n')) {
    if (line === '') {
        continue;
    }

    const rec = JSON.parse(line);
    const request = Buffer.from(rec.request, 'base64').toString('latin1');
    const [method, target] = request.split('\r\n')[0].split(' ');
    const path = target.split('?')[0];
    const res = parseHttp(Buffer.from(rec.response, 'base64'));
    const name = `${rec.suite}: ${rec.block}: ${method} ${target.slice(0, 80)}`;

    if (!res.status) {
        continue;   /* no answer at all: the suite itself fails on that */
    }

    const found = describedBy(method, path, res.status);

    if (found.outside) {
        outside.set(found.outside, (outside.get(found.outside) || 0) + 1);
        continue;
    }

    checked++;
    const problems = found.error ? [found.error]
                                 : check(method, res, found.response);

    if (found.id) {
        seen.add(found.id);
    }

    if (problems.length > 0) {
        failed++;
        console.log(`not ok - ${name} -> ${res.status}`);
        for (const p of problems) {
            console.log(`#   ${p}`);
        }
    }
}

for (const [reason, n] of [...outside].sort()) {
    console.log(`# not described (${n}): ${reason.slice(0, 120)}`);
}

for (const [id, where] of described) {
    if (!seen.has(id)) {
        failed++;
        console.log(`not ok - described but never received: ${where}`
                    + (id.startsWith('#') ? ` (${id})` : ''));
    }
}

console.log(`# ${checked} responses checked against ${docFile}, `
            + `${described.size} described responses, ${failed} failures`);
process.exit(failed > 0 || checked === 0 ? 1 : 0);
