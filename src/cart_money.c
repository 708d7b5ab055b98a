#include <math.h>
#include <string.h>

#include "cart_money.h"


/* the active ISO 4217 codes and their minor units, sorted by code */
static const struct {
    char  code[4];
    int   exponent;
} cart_currencies[] = {
    { "AED", 2 }, { "AFN", 2 }, { "ALL", 2 }, { "AMD", 2 }, { "ANG", 2 },
    { "AOA", 2 }, { "ARS", 2 }, { "AUD", 2 }, { "AWG", 2 }, { "AZN", 2 },
    { "BAM", 2 }, { "BBD", 2 }, { "BDT", 2 }, { "BGN", 2 }, { "BHD", 3 },
    { "BIF", 0 }, { "BMD", 2 }, { "BND", 2 }, { "BOB", 2 }, { "BOV", 2 },
    { "BRL", 2 }, { "BSD", 2 }, { "BTN", 2 }, { "BWP", 2 }, { "BYN", 2 },
    { "BZD", 2 }, { "CAD", 2 }, { "CDF", 2 }, { "CHE", 2 }, { "CHF", 2 },
    { "CHW", 2 }, { "CLF", 4 }, { "CLP", 0 }, { "CNY", 2 }, { "COP", 2 },
    { "COU", 2 }, { "CRC", 2 }, { "CUC", 2 }, { "CUP", 2 }, { "CVE", 2 },
    { "CZK", 2 }, { "DJF", 0 }, { "DKK", 2 }, { "DOP", 2 }, { "DZD", 2 },
    { "EGP", 2 }, { "ERN", 2 }, { "ETB", 2 }, { "EUR", 2 }, { "FJD", 2 },
    { "FKP", 2 }, { "GBP", 2 }, { "GEL", 2 }, { "GHS", 2 }, { "GIP", 2 },
    { "GMD", 2 }, { "GNF", 0 }, { "GTQ", 2 }, { "GYD", 2 }, { "HKD", 2 },
    { "HNL", 2 }, { "HTG", 2 }, { "HUF", 2 }, { "IDR", 2 }, { "ILS", 2 },
    { "INR", 2 }, { "IQD", 3 }, { "IRR", 2 }, { "ISK", 0 }, { "JMD", 2 },
    { "JOD", 3 }, { "JPY", 0 }, { "KES", 2 }, { "KGS", 2 }, { "KHR", 2 },
    { "KMF", 0 }, { "KPW", 2 }, { "KRW", 0 }, { "KWD", 3 }, { "KYD", 2 },
    { "KZT", 2 }, { "LAK", 2 }, { "LBP", 2 }, { "LKR", 2 }, { "LRD", 2 },
    { "LSL", 2 }, { "LYD", 3 }, { "MAD", 2 }, { "MDL", 2 }, { "MGA", 2 },
    { "MKD", 2 }, { "MMK", 2 }, { "MNT", 2 }, { "MOP", 2 }, { "MRU", 2 },
    { "MUR", 2 }, { "MVR", 2 }, { "MWK", 2 }, { "MXN", 2 }, { "MXV", 2 },
    { "MYR", 2 }, { "MZN", 2 }, { "NAD", 2 }, { "NGN", 2 }, { "NIO", 2 },
    { "NOK", 2 }, { "NPR", 2 }, { "NZD", 2 }, { "OMR", 3 }, { "PAB", 2 },
    { "PEN", 2 }, { "PGK", 2 }, { "PHP", 2 }, { "PKR", 2 }, { "PLN", 2 },
    { "PYG", 0 }, { "QAR", 2 }, { "RON", 2 }, { "RSD", 2 }, { "RUB", 2 },
    { "RWF", 0 }, { "SAR", 2 }, { "SBD", 2 }, { "SCR", 2 }, { "SDG", 2 },
    { "SEK", 2 }, { "SGD", 2 }, { "SHP", 2 }, { "SLE", 2 }, { "SLL", 2 },
    { "SOS", 2 }, { "SRD", 2 }, { "SSP", 2 }, { "STN", 2 }, { "SVC", 2 },
    { "SYP", 2 }, { "SZL", 2 }, { "THB", 2 }, { "TJS", 2 }, { "TMT", 2 },
    { "TND", 3 }, { "TOP", 2 }, { "TRY", 2 }, { "TTD", 2 }, { "TWD", 2 },
    { "TZS", 2 }, { "UAH", 2 }, { "UGX", 0 }, { "USD", 2 }, { "USN", 2 },
    { "UYI", 0 }, { "UYU", 2 }, { "UYW", 4 }, { "UZS", 2 }, { "VED", 2 },
    { "VES", 2 }, { "VND", 0 }, { "VUV", 0 }, { "WST", 2 }, { "XAF", 0 },
    { "XCD", 2 }, { "XCG", 2 }, { "XOF", 0 }, { "XPF", 0 }, { "YER", 2 },
    { "ZAR", 2 }, { "ZMW", 2 }, { "ZWG", 2 }, { "ZWL", 2 }
};


int
cart_currency_exponent(const char *code)
{
    int     c;
    size_t  lo, hi, mid;

    if (strlen(code) != 3) {
        return -1;
    }

    lo = 0;
    hi = sizeof(cart_currencies) / sizeof(cart_currencies[0]);

    while (lo < hi) {
        mid = (lo + hi) / 2;
        c = memcmp(code, cart_currencies[mid].code, 3);

        if (c == 0) {
            return cart_currencies[mid].exponent;
        }

        if (c < 0) {
            hi = mid;

        } else {
            lo = mid + 1;
        }
    }

    return -1;
}


static int64_t
cart_pow10(int exponent)
{
    int64_t  n = 1;

    while (exponent-- > 0) {
        n *= 10;
    }

    return n;
}


int
cart_money_parse(json_t *obj, cart_money_t *money, const char **field,
    const char **reason)
{
    int          exponent;
    double       scaled;
    json_t      *v;
    const char  *currency;

    *field = NULL;

    if (!json_is_object(obj)) {
        *reason = "must be a money object";
        return -1;
    }

    v = json_object_get(obj, "currency");
    currency = json_string_value(v);
    if (currency == NULL) {
        *field = "currency";
        *reason = "must be a string";
        return -1;
    }

    exponent = cart_currency_exponent(currency);
    if (exponent < 0) {
        *field = "currency";
        *reason = "not an ISO 4217 currency code";
        return -1;
    }

    v = json_object_get(obj, "number");
    if (!json_is_integer(v)) {
        *field = "number";
        *reason = "must be an integer (the amount in minor units)";
        return -1;
    }

    money->number = json_integer_value(v);
    if (money->number > CART_MONEY_MAX_NUMBER
        || money->number < -CART_MONEY_MAX_NUMBER)
    {
        *field = "number";
        *reason = "out of range (at most 15 digits)";
        return -1;
    }

    v = json_object_get(obj, "value");
    if (!json_is_number(v)) {
        *field = "value";
        *reason = "must be a number";
        return -1;
    }

    scaled = json_number_value(v) * (double) cart_pow10(exponent);
    if (fabs(scaled - (double) money->number) > 1e-6 * fmax(1.0, fabs(scaled)))
    {
        *field = "value";
        *reason = "does not match number scaled by the currency's exponent";
        return -1;
    }

    v = json_object_get(obj, "symbol");
    money->symbol = json_string_value(v);
    if (money->symbol == NULL) {
        *field = "symbol";
        *reason = "must be a string";
        return -1;
    }

    memcpy(money->currency, currency, 4);

    return 0;
}


/* number / 10^exponent: an integer when whole, else a real */
static json_t *
cart_money_value(const cart_money_t *money)
{
    int64_t  unit;

    unit = cart_pow10(cart_currency_exponent(money->currency));

    if (money->number % unit == 0) {
        return json_integer(money->number / unit);
    }

    return json_real((double) money->number / (double) unit);
}


json_t *
cart_money_json(const cart_money_t *money, cart_money_order_e order)
{
    json_t  *obj, *value;

    value = cart_money_value(money);
    obj = json_object();

    if (obj == NULL || value == NULL) {
        json_decref(value);
        json_decref(obj);
        return NULL;
    }

    json_object_set_new(obj, "currency", json_string(money->currency));
    json_object_set_new(obj, "value", value);

    if (order == CART_MONEY_V2) {
        json_object_set_new(obj, "number", json_integer(money->number));
        json_object_set_new(obj, "symbol", json_string(money->symbol));

    } else {
        json_object_set_new(obj, "symbol", json_string(money->symbol));
        json_object_set_new(obj, "number", json_integer(money->number));
    }

    return obj;
}


static const char  *cart_money_v2_keys[] = {
    "currency", "value", "number", "symbol"
};


int
cart_money_normalize(json_t *obj, const cart_money_t *money)
{
    int      i;
    void    *iter;
    json_t  *value, *canonical;

    if (json_object_size(obj) != 4) {
        return -1;
    }

    iter = json_object_iter(obj);

    for (i = 0; i < 4; i++, iter = json_object_iter_next(obj, iter)) {
        if (strcmp(json_object_iter_key(iter), cart_money_v2_keys[i]) != 0) {
            return -1;
        }
    }

    canonical = cart_money_value(money);
    if (canonical == NULL) {
        return -1;
    }

    /* the value as sent may print otherwise: 54.00 is 54, 5.40 is 5.4 */
    value = json_object_get(obj, "value");

    if (json_equal(value, canonical)) {
        json_decref(canonical);
        return 0;
    }

    return json_object_set_new(obj, "value", canonical) == 0 ? 0 : -1;
}


json_t *
cart_money_v1(json_t *obj)
{
    json_t  *currency, *value, *number, *symbol;

    if (json_object_size(obj) != 4
        || (currency = json_object_get(obj, "currency")) == NULL
        || (value = json_object_get(obj, "value")) == NULL
        || (number = json_object_get(obj, "number")) == NULL
        || (symbol = json_object_get(obj, "symbol")) == NULL)
    {
        return NULL;
    }

    return json_pack("{s:O, s:O, s:O, s:O}", "currency", currency,
                     "value", value, "symbol", symbol, "number", number);
}
