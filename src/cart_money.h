/*
 * Money: ISO 4217 currencies and their minor-unit exponents, and the JSON
 * money object {"currency","value","number","symbol"} of the firmly APIs.
 */

#ifndef CART_MONEY_H
#define CART_MONEY_H

#include <stdint.h>
#include <jansson.h>


/* amounts are kept within 15 significant digits so that "value" is exact */
#define CART_MONEY_MAX_NUMBER   999999999999999LL

typedef enum {
    CART_MONEY_V2 = 0,          /* currency, value, number, symbol */
    CART_MONEY_V1               /* currency, value, symbol, number */
} cart_money_order_e;

typedef struct {
    char        currency[4];
    int64_t     number;
    const char *symbol;
} cart_money_t;


/* the currency's exponent (2 for USD, 0 for JPY, 3 for BHD), or -1 */
int cart_currency_exponent(const char *code);

/*
 * Checks a money object: ISO 4217 currency, integer number, value equal
 * to number scaled by the exponent, string symbol.  On error returns -1
 * and points *field at the offending key and *reason at why.
 */
int cart_money_parse(json_t *obj, cart_money_t *money, const char **field,
    const char **reason);

/*
 * The JSON money object.  "value" is number / 10^exponent, printed as an
 * integer when whole and otherwise as the shortest exact decimal (149.99,
 * never 149.99000000000001), as a JavaScript backend would print it.
 */
json_t *cart_money_json(const cart_money_t *money, cart_money_order_e order);

/*
 * Makes a parsed money object canonical (V2 order, canonical "value") in
 * place, as cheaply as it can: -1 when its keys are out of order and it
 * must be replaced by cart_money_json().
 */
int cart_money_normalize(json_t *obj, const cart_money_t *money);

/* a canonical money object in V1 order, sharing its values; or NULL */
json_t *cart_money_v1(json_t *obj);


#endif /* CART_MONEY_H */
