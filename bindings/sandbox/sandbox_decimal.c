/*
 * Exact decimals inside a box: the global `decimal`, and the values NUMERIC
 * columns become when they are copied into a box.
 *
 * A box decimal is a userdata of the box holding `unscaled * 10^-scale` with
 * its limbs inline, so every byte it holds is counted by the box's allocator
 * and it needs no finalizer. It is bounded: at most BOX_DIGITS digits
 * unscaled and BOX_SCALE after the point (NUMERIC(38,18) needs 38 and 18);
 * a value or a result past the bounds raises a catchable error. Arithmetic
 * borrows core/decimal for one operation at a time: the operands are
 * read-only GMP views of the limbs, the result a GMP temporary of a few
 * limbs that is copied back and cleared before anything can raise. Each
 * operation is charged to the run's instruction budget.
 *
 * The operations are those of the host's enigma.decimal, with one rule
 * more: arithmetic takes decimals and integers only. A float or a string
 * operand raises, naming the explicit conversion (decimal(x), d:tonumber()),
 * so money never passes through a double unless a script says so.
 * Comparisons (< <=) also take floats, as enigma.decimal's do; == is Lua's,
 * true only between two decimals of equal value.
 *
 * Crossing: a host enigma.decimal copied in becomes a box decimal (refused
 * past the bounds); a box decimal copied out becomes an enigma.decimal,
 * through its text. Neither side's metatable crosses.
 */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "bindings/binding.h"
#include "core/decimal.h"
#include "sandbox_private.h"

#define BOX_DIGITS 100                 /* unscaled digits a box decimal may have */
#define BOX_SCALE 40                   /* digits after the point */
#define BOX_TEXT 200                   /* bytes of text decimal() reads */
#define DIV_MIN_SCALE 18               /* `a / b`: as enigma.decimal's */
#define COST 16                        /* instructions an operation is charged */
#define LIMBS ((BOX_DIGITS * 3322 / 1000 + GMP_NUMB_BITS) / GMP_NUMB_BITS + 1)
#define TEXT_SIZE (BOX_DIGITS + BOX_SCALE + 8)

typedef struct boxdec {
    int scale;
    int size;                          /* limbs used, negative for a negative value */
    mp_limb_t limbs[LIMBS];
} boxdec;

static const char meta_key = 'd';      /* box registry: the values' metatable */

static const char *const rounding_names[] = {"half_up", "half_even", "down", "up",
                                             "floor",   "ceil",      NULL};
static const enigma_rounding rounding_modes[] = {ENIGMA_ROUND_HALF_UP, ENIGMA_ROUND_HALF_EVEN,
                                                 ENIGMA_ROUND_DOWN,    ENIGMA_ROUND_UP,
                                                 ENIGMA_ROUND_FLOOR,   ENIGMA_ROUND_CEIL};

/* A read-only core view of `d`: never cleared, never written. */
static const enigma_decimal *view(enigma_decimal *v, const boxdec *d)
{
    mpz_roinit_n(v->unscaled, d->limbs, d->size);
    v->scale = d->scale;
    return v;
}

/* 0 when `z` has at most BOX_DIGITS digits, else -1. */
static int digits_fit(const mpz_t z)
{
    size_t n = mpz_sizeinbase(z, 10);
    mpz_t limit;
    int over;

    if (n <= BOX_DIGITS)
        return 0;
    if (n > BOX_DIGITS + 1)
        return -1;
    mpz_init(limit);
    mpz_ui_pow_ui(limit, 10, BOX_DIGITS);
    over = mpz_cmpabs(z, limit) >= 0;
    mpz_clear(limit);
    return over ? -1 : 0;
}

/* Copies core value `t` into `d` when it is within the bounds: 0, or -1
 * with `err` saying which bound. `t` is left for the caller to clear. */
static int store(boxdec *d, const enigma_decimal *t, const char *what, enigma_error *err)
{
    size_t n;

    if (t->scale > BOX_SCALE)
        return enigma_error_set(err, "ERANGE",
                                "%s has %d digits after the point, more than a decimal in the "
                                "sandbox keeps (%d): round first, e.g. d:round(18)",
                                what, t->scale, BOX_SCALE);
    if (digits_fit(t->unscaled) != 0)
        return enigma_error_set(err, "ERANGE",
                                "%s has more than the %d digits a decimal in the sandbox keeps",
                                what, BOX_DIGITS);
    n = mpz_size(t->unscaled);
    if (n > 0)
        memcpy(d->limbs, mpz_limbs_read(t->unscaled), n * sizeof(mp_limb_t));
    d->size = mpz_sgn(t->unscaled) < 0 ? -(int)n : (int)n;
    d->scale = t->scale;
    return 0;
}

static void from_integer(boxdec *d, lua_Integer x)
{
    uint64_t m = x < 0 ? (uint64_t)0 - (uint64_t)x : (uint64_t)x;
    int n = 0;

    while (m != 0) {
        d->limbs[n++] = (mp_limb_t)(m & GMP_NUMB_MASK);
#if GMP_NUMB_BITS >= 64
        m = 0;
#else
        m >>= GMP_NUMB_BITS;
#endif
    }
    d->size = x < 0 ? -n : n;
    d->scale = 0;
}

static boxdec *test_boxdec(lua_State *L, int idx)
{
    boxdec *d = lua_touserdata(L, idx);

    if (d == NULL || lua_type(L, idx) != LUA_TUSERDATA || !lua_checkstack(L, 2) ||
        !lua_getmetatable(L, idx))
        return NULL;
    lua_rawgetp(L, LUA_REGISTRYINDEX, &meta_key);
    if (!lua_rawequal(L, -1, -2))
        d = NULL;
    lua_pop(L, 2);
    return d;
}

static boxdec *check_boxdec(lua_State *L, int idx)
{
    boxdec *d = test_boxdec(L, idx);

    if (d == NULL)
        luaL_typeerror(L, idx, "decimal");
    return d;
}

/* Pushes a new box decimal, zero. */
static boxdec *new_boxdec(lua_State *L)
{
    boxdec *d = lua_newuserdatauv(L, sizeof *d, 0);

    d->scale = 0;
    d->size = 0;
    lua_rawgetp(L, LUA_REGISTRYINDEX, &meta_key);
    lua_setmetatable(L, -2);
    return d;
}

/* The operand at `idx` of arithmetic `op`: a decimal, or an integer made one
 * in `tmp`. Anything else raises, before any GMP value exists. */
static const boxdec *operand(lua_State *L, int idx, boxdec *tmp, const char *op)
{
    const boxdec *d = test_boxdec(L, idx);

    if (d != NULL)
        return d;
    if (lua_isinteger(L, idx)) {
        from_integer(tmp, lua_tointeger(L, idx));
        return tmp;
    }
    if (lua_type(L, idx) == LUA_TNUMBER)
        luaL_error(L,
                   "decimal %s with a float (%f): convert explicitly, decimal(x) for the "
                   "float's shortest decimal or d:tonumber() for a float result",
                   op, lua_tonumber(L, idx));
    if (lua_type(L, idx) == LUA_TSTRING)
        luaL_error(L, "decimal %s with a string: convert it with decimal(s)", op);
    luaL_error(L, "attempt to perform arithmetic (%s) on a decimal and a %s value", op,
               luaL_typename(L, idx));
    return NULL;
}

static int raise_error(lua_State *L, const enigma_error *err)
{
    return luaL_error(L, "%s", err->message);
}

/* Stores the result of a core operation (rc, t) in a new value on the stack,
 * or raises. `t` is cleared either way, before anything can raise. */
static int finish(lua_State *L, boxdec *r, int rc, enigma_decimal *t, const char *what,
                  enigma_error *err)
{
    if (rc == 0)
        rc = store(r, t, what, err);
    enigma_decimal_clear(t);
    if (rc != 0)
        return raise_error(L, err);
    return 1;
}

typedef int (*binary_op)(enigma_decimal *r, const enigma_decimal *a, const enigma_decimal *b,
                         enigma_error *err);

static int arith(lua_State *L, binary_op op, const char *name, const char *what)
{
    boxdec ta, tb, *r;
    const boxdec *a = operand(L, 1, &ta, name), *b = operand(L, 2, &tb, name);
    enigma_decimal va, vb, t;
    enigma_error err;

    enigma_sandbox_charge(L, NULL, COST);
    r = new_boxdec(L);
    enigma_decimal_init(&t);
    return finish(L, r, op(&t, view(&va, a), view(&vb, b), &err), &t, what, &err);
}

static int box_add(lua_State *L)
{
    return arith(L, enigma_decimal_add, "addition", "the sum");
}
static int box_sub(lua_State *L)
{
    return arith(L, enigma_decimal_sub, "subtraction", "the difference");
}
static int box_mul(lua_State *L)
{
    return arith(L, enigma_decimal_mul, "multiplication", "the product");
}
static int box_idiv(lua_State *L)
{
    return arith(L, enigma_decimal_idiv, "floor division", "the quotient");
}
static int box_mod(lua_State *L)
{
    return arith(L, enigma_decimal_mod, "modulo", "the remainder");
}

static int divide(lua_State *L, const boxdec *a, const boxdec *b, int scale, enigma_rounding mode)
{
    enigma_decimal va, vb, t;
    enigma_error err;
    boxdec *r;

    enigma_sandbox_charge(L, NULL, 2 * COST);
    r = new_boxdec(L);
    enigma_decimal_init(&t);
    return finish(L, r, enigma_decimal_div(&t, view(&va, a), view(&vb, b), scale, mode, &err), &t,
                  "the quotient", &err);
}

/* a / b to max(18, a's scale, b's scale) digits, half up: enigma.decimal's rule. */
static int box_div(lua_State *L)
{
    boxdec ta, tb;
    const boxdec *a = operand(L, 1, &ta, "division"), *b = operand(L, 2, &tb, "division");
    int scale = DIV_MIN_SCALE;

    if (a->scale > scale)
        scale = a->scale;
    if (b->scale > scale)
        scale = b->scale;
    return divide(L, a, b, scale, ENIGMA_ROUND_HALF_UP);
}

static enigma_rounding check_rounding(lua_State *L, int idx)
{
    return rounding_modes[luaL_checkoption(L, idx, "half_up", rounding_names)];
}

static int check_scale(lua_State *L, int idx, int min)
{
    lua_Integer scale = luaL_checkinteger(L, idx);

    luaL_argcheck(L, scale >= min && scale <= BOX_SCALE, idx, "scale out of range");
    return (int)scale;
}

/* d:div(b, scale [, mode]): scale 0..BOX_SCALE. */
static int box_div_method(lua_State *L)
{
    boxdec ta, tb;
    const boxdec *a = operand(L, 1, &ta, "division"), *b = operand(L, 2, &tb, "division");
    int scale = check_scale(L, 3, 0);

    return divide(L, a, b, scale, check_rounding(L, 4));
}

/* d:round(scale [, mode]); a negative scale rounds to tens, hundreds... */
static int box_round(lua_State *L)
{
    const boxdec *a = check_boxdec(L, 1);
    int scale = check_scale(L, 2, -BOX_DIGITS);
    enigma_rounding mode = check_rounding(L, 3);
    enigma_decimal va, t;
    enigma_error err;
    boxdec *r;

    enigma_sandbox_charge(L, NULL, COST);
    r = new_boxdec(L);
    enigma_decimal_init(&t);
    return finish(L, r, enigma_decimal_round(&t, view(&va, a), scale, mode, &err), &t,
                  "the rounded value", &err);
}

static int box_unm(lua_State *L)
{
    const boxdec *a = check_boxdec(L, 1);
    boxdec *r = new_boxdec(L);

    *r = *a;
    r->size = -r->size;
    return 1;
}

static int box_abs(lua_State *L)
{
    const boxdec *a = check_boxdec(L, 1);
    boxdec *r = new_boxdec(L);

    *r = *a;
    r->size = r->size < 0 ? -r->size : r->size;
    return 1;
}

/* --- comparison ---------------------------------------------------------------------- */

static int box_eq(lua_State *L)
{
    const boxdec *a = test_boxdec(L, 1), *b = test_boxdec(L, 2);
    enigma_decimal va, vb;

    lua_pushboolean(L,
                    a != NULL && b != NULL && enigma_decimal_cmp(view(&va, a), view(&vb, b)) == 0);
    return 1;
}

/* a < b or a <= b, between decimals, integers and floats (a float as its
 * shortest decimal; nothing is ordered with NaN, every decimal lies inside
 * +-inf), as enigma.decimal compares. */
static int compare(lua_State *L, int or_equal)
{
    enigma_decimal v[2], f;
    boxdec tmp[2];
    const boxdec *d[2] = {NULL, NULL};
    int i, c, fi = -1, rc;
    enigma_error err;

    for (i = 0; i < 2; i++) {
        if ((d[i] = test_boxdec(L, i + 1)) != NULL)
            continue;
        if (lua_isinteger(L, i + 1)) {
            from_integer(&tmp[i], lua_tointeger(L, i + 1));
            d[i] = &tmp[i];
        } else if (lua_type(L, i + 1) == LUA_TNUMBER) {
            lua_Number x = lua_tonumber(L, i + 1);

            if (isnan(x) || isinf(x)) {
                lua_pushboolean(L, !isnan(x) && (i == 0 ? x < 0 : x > 0));
                return 1;
            }
            fi = i;
        } else {
            return luaL_error(L, "attempt to compare a decimal with a %s value",
                              luaL_typename(L, i + 1));
        }
    }
    enigma_sandbox_charge(L, NULL, COST);
    if (fi < 0) {
        c = enigma_decimal_cmp(view(&v[0], d[0]), view(&v[1], d[1]));
    } else {
        enigma_decimal_init(&f);
        rc = enigma_decimal_from_double(&f, lua_tonumber(L, fi + 1), &err);
        c = rc != 0   ? 0
            : fi == 0 ? enigma_decimal_cmp(&f, view(&v[1], d[1]))
                      : enigma_decimal_cmp(view(&v[0], d[0]), &f);
        enigma_decimal_clear(&f);
        if (rc != 0)
            return raise_error(L, &err);
    }
    lua_pushboolean(L, or_equal ? c <= 0 : c < 0);
    return 1;
}

static int box_lt(lua_State *L)
{
    return compare(L, 0);
}
static int box_le(lua_State *L)
{
    return compare(L, 1);
}

/* --- conversion ---------------------------------------------------------------------- */

/* Writes `d`'s text (as PostgreSQL prints NUMERIC) into buf[TEXT_SIZE]. */
static size_t text_of(const boxdec *d, char *buf)
{
    enigma_decimal v;

    return enigma_decimal_format_to(view(&v, d), buf, TEXT_SIZE);
}

static int box_tostring(lua_State *L)
{
    char buf[TEXT_SIZE];
    size_t len = text_of(check_boxdec(L, 1), buf);

    lua_pushlstring(L, buf, len);
    return 1;
}

/* a .. b: decimals as their text, like Lua's own concatenation otherwise. */
static int box_concat(lua_State *L)
{
    int i;

    for (i = 1; i <= 2; i++) {
        int t = lua_type(L, i);
        if (t != LUA_TSTRING && t != LUA_TNUMBER && test_boxdec(L, i) == NULL)
            return luaL_error(L, "attempt to concatenate a %s value", luaL_typename(L, i));
    }
    luaL_tolstring(L, 1, NULL);
    luaL_tolstring(L, 2, NULL);
    lua_concat(L, 2);
    return 1;
}

/* d:tonumber(): the nearest float (for ratios; explicit). */
static int box_tonumber(lua_State *L)
{
    enigma_decimal v;

    lua_pushnumber(L, (lua_Number)enigma_decimal_to_double(view(&v, check_boxdec(L, 1))));
    return 1;
}

static int box_tointeger(lua_State *L)
{
    enigma_decimal v;
    int64_t n;

    if (enigma_decimal_to_int64(view(&v, check_boxdec(L, 1)), &n) != 0)
        luaL_pushfail(L);
    else
        lua_pushinteger(L, (lua_Integer)n);
    return 1;
}

static int box_scale(lua_State *L)
{
    lua_pushinteger(L, check_boxdec(L, 1)->scale);
    return 1;
}

static int box_sign(lua_State *L)
{
    const boxdec *d = check_boxdec(L, 1);

    lua_pushinteger(L, (d->size > 0) - (d->size < 0));
    return 1;
}

static int box_iszero(lua_State *L)
{
    lua_pushboolean(L, check_boxdec(L, 1)->size == 0);
    return 1;
}

/* An exponent past the bounds is refused before core/decimal would make
 * its power of ten. */
static int exponent_fits(const char *s, size_t len)
{
    const char *e = memchr(s, 'e', len);
    long x = 0;

    if (e == NULL)
        e = memchr(s, 'E', len);
    if (e == NULL)
        return 1;
    for (e++; e < s + len && (*e == '+' || *e == '-'); e++)
        ;
    for (; e < s + len && *e >= '0' && *e <= '9'; e++)
        if ((x = x * 10 + (*e - '0')) > BOX_DIGITS + BOX_SCALE)
            return 0;
    return 1;
}

/* decimal(x): a decimal from a decimal (itself), an integer (exactly), a
 * float (its shortest decimal: the explicit conversion) or text ("1.50",
 * "2e3"; no NaN or Infinity). */
static int box_new(lua_State *L)
{
    enigma_decimal t;
    enigma_error err;
    const char *text = NULL;
    size_t len = 0;
    boxdec *r;
    int rc;

    luaL_checkany(L, 1);
    lua_settop(L, 1);
    if (test_boxdec(L, 1) != NULL)
        return 1;                      /* immutable: decimal(d) is d */
    if (lua_isinteger(L, 1)) {
        from_integer(new_boxdec(L), lua_tointeger(L, 1));
        return 1;
    }
    if (lua_type(L, 1) == LUA_TSTRING) {
        text = lua_tolstring(L, 1, &len);
        if (len > BOX_TEXT)
            return luaL_error(L,
                              "decimal: text of %d bytes is longer than a decimal in the "
                              "sandbox can be (%d)",
                              (int)len, BOX_TEXT);
        if (!exponent_fits(text, len))
            return luaL_error(L, "decimal: the exponent is beyond what a decimal in the "
                                 "sandbox keeps");
    } else if (lua_type(L, 1) != LUA_TNUMBER) {
        return luaL_error(L, "decimal: expected a decimal, number or string, got %s",
                          luaL_typename(L, 1));
    }
    enigma_sandbox_charge(L, NULL, COST + (unsigned long)len);
    r = new_boxdec(L);
    enigma_decimal_init(&t);
    rc = text != NULL ? enigma_decimal_parse(&t, text, len, &err)
                      : enigma_decimal_from_double(&t, lua_tonumber(L, 1), &err);
    if (rc == 0)
        rc = store(r, &t, "the value", &err);
    enigma_decimal_clear(&t);
    if (rc != 0)
        return luaL_error(L, "decimal: %s", err.message);
    return 1;
}

static int box_call(lua_State *L)
{
    lua_remove(L, 1);
    return box_new(L);
}

static int box_isdecimal(lua_State *L)
{
    lua_pushboolean(L, test_boxdec(L, 1) != NULL);
    return 1;
}

/* --- crossing ------------------------------------------------------------------------ */

void enigma_sandbox_decimal_in(lua_State *B, lua_State *H, int idx)
{
    const enigma_decimal *h = NULL;
    int scale = 0, fits = 0;
    size_t n = 0;
    boxdec *d;

    if (lua_checkstack(H, 2))
        h = luaL_testudata(H, idx, ENIGMA_DECIMAL_MT);
    if (h == NULL || h->scale < 0)
        luaL_error(B, "cannot pass a %s into the sandbox", lua_typename(H, lua_type(H, idx)));
    scale = h->scale;
    fits = scale <= BOX_SCALE && digits_fit(h->unscaled) == 0;
    if (!fits)
        luaL_error(B,
                   "a decimal with more than %d digits, or %d after the point, cannot enter "
                   "the sandbox (this one has %d after the point)",
                   BOX_DIGITS, BOX_SCALE, scale);
    d = new_boxdec(B);
    n = mpz_size(h->unscaled);
    if (n > 0)
        memcpy(d->limbs, mpz_limbs_read(h->unscaled), n * sizeof(mp_limb_t));
    d->size = mpz_sgn(h->unscaled) < 0 ? -(int)n : (int)n;
    d->scale = scale;
}

void enigma_sandbox_decimal_out(lua_State *H, lua_State *B, int idx)
{
    const boxdec *d = test_boxdec(B, idx);
    char buf[TEXT_SIZE];

    if (d == NULL)
        luaL_error(H, "a %s cannot leave the sandbox", lua_typename(B, lua_type(B, idx)));
    enigma_lua_decimal_push(H, buf, text_of(d, buf));
}

/* --- the library --------------------------------------------------------------------- */

static const luaL_Reg box_meta[] = {{"__add", box_add},
                                    {"__sub", box_sub},
                                    {"__mul", box_mul},
                                    {"__div", box_div},
                                    {"__idiv", box_idiv},
                                    {"__mod", box_mod},
                                    {"__unm", box_unm},
                                    {"__eq", box_eq},
                                    {"__lt", box_lt},
                                    {"__le", box_le},
                                    {"__tostring", box_tostring},
                                    {"__concat", box_concat},
                                    {NULL, NULL}};

static const luaL_Reg box_methods[] = {
    {"tonumber", box_tonumber}, {"tointeger", box_tointeger}, {"round", box_round},
    {"div", box_div_method},    {"scale", box_scale},         {"abs", box_abs},
    {"sign", box_sign},         {"iszero", box_iszero},       {NULL, NULL}
};

static const luaL_Reg box_functions[] = {
    {"new", box_new}, {"isdecimal", box_isdecimal}, {"tonumber", box_tonumber}, {NULL, NULL}
};

void enigma_sandbox_decimal_open(lua_State *L)
{
    lua_createtable(L, 0, 16);
    luaL_setfuncs(L, box_meta, 0);
    luaL_newlib(L, box_methods);
    lua_setfield(L, -2, "__index");
    lua_pushliteral(L, "decimal");
    lua_setfield(L, -2, "__name");
    lua_pushboolean(L, 0);             /* getmetatable(d) gives false; no script changes it */
    lua_setfield(L, -2, "__metatable");
    lua_rawsetp(L, LUA_REGISTRYINDEX, &meta_key);

    luaL_newlib(L, box_functions);
    lua_createtable(L, 0, 2);
    lua_pushcfunction(L, box_call);
    lua_setfield(L, -2, "__call");
    lua_pushboolean(L, 0);
    lua_setfield(L, -2, "__metatable");
    lua_setmetatable(L, -2);
    lua_setglobal(L, "decimal");
}
