#include <math.h>
#include <string.h>

#include "cart_money.h"


/* active ISO 4217 codes whose minor unit is not 2 */
static const struct {
    const char  *code;
    int          exponent;
} cart_currency_exceptions[] = {
    { "BIF", 0 }, { "CLP", 0 }, { "DJF", 0 }, { "GNF", 0 }, { "ISK", 0 },
    { "JPY", 0 }, { "KMF", 0 }, { "KRW", 0 }, { "PYG", 0 }, { "RWF", 0 },
    { "UGX", 0 }, { "UYI", 0 }, { "VND", 0 }, { "VUV", 0 }, { "XAF", 0 },
    { "XOF", 0 }, { "XPF", 0 },
    { "BHD", 3 }, { "IQD", 3 }, { "JOD", 3 }, { "KWD", 3 }, { "LYD", 3 },
    { "OMR", 3 }, { "TND", 3 },
    { "CLF", 4 }, { "UYW", 4 },
    { NULL, 0 }
};

/* all other active ISO 4217 codes with a minor unit (exponent 2) */
static const char *cart_currency_codes =
    "AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BMD BND BOB "
    "BOV BRL BSD BTN BWP BYN BZD CAD CDF CHE CHF CHW CNY COP COU CRC CUC "
    "CUP CVE CZK DKK DOP DZD EGP ERN ETB EUR FJD FKP GBP GEL GHS GIP GMD "
    "GTQ GYD HKD HNL HTG HUF IDR ILS INR IRR JMD KES KGS KHR KPW KYD KZT "
    "LAK LBP LKR LRD LSL MAD MDL MGA MKD MMK MNT MOP MRU MUR MVR MWK MXN "
    "MXV MYR MZN NAD NGN NIO NOK NPR NZD PAB PEN PGK PHP PKR PLN QAR RON "
    "RSD RUB SAR SBD SCR SDG SEK SGD SHP SLE SLL SOS SRD SSP STN SVC SYP "
    "SZL THB TJS TMT TOP TRY TTD TWD TZS UAH USD USN UYU UZS VED VES WST "
    "XCD XCG YER ZAR ZMW ZWG ZWL";


int
cart_currency_exponent(const char *code)
{
    int          i;
    const char  *p;

    if (strlen(code) != 3) {
        return -1;
    }

    for (i = 0; cart_currency_exceptions[i].code; i++) {
        if (strcmp(cart_currency_exceptions[i].code, code) == 0) {
            return cart_currency_exceptions[i].exponent;
        }
    }

    for (p = cart_currency_codes; *p; p += 4) {
        if (strncmp(p, code, 3) == 0) {
            return 2;
        }

        if (p[3] == '\0') {
            break;
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


json_t *
cart_money_json(const cart_money_t *money, cart_money_order_e order)
{
    int64_t   unit;
    json_t   *obj, *value;

    unit = cart_pow10(cart_currency_exponent(money->currency));

    if (money->number % unit == 0) {
        value = json_integer(money->number / unit);

    } else {
        value = json_real((double) money->number / (double) unit);
    }

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
