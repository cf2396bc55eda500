/*
 * enigma.decimal: exact decimals for PostgreSQL NUMERIC, over core/decimal.
 *
 * A value is a userdata with the metatable "enigma.decimal" holding an
 * enigma_decimal inline; values are immutable, every operation makes a new
 * one. Operands may be decimals, integers (exact), floats (as the shortest
 * decimal that reads back as the same float) or numeric strings. Misuse and
 * arithmetic failure (division by zero, a result past the limits) raise.
 */
#include <lauxlib.h>
#include <lua.h>
#include <math.h>

#include "bindings/binding.h"
#include "core/decimal.h"

/* `a / b` keeps at least this many fractional digits, rounding half up. */
#define DIV_MIN_SCALE 18

/* What __gc leaves in `scale`, so that a value used after collection
 * (a resurrected one, or a hand-called __gc) raises instead of reading freed
 * memory. */
#define SCALE_COLLECTED (-1)

static const char *const rounding_names[] = {"half_up", "half_even", "down", "up",
                                             "floor",   "ceil",      NULL};
static const enigma_rounding rounding_modes[] = {ENIGMA_ROUND_HALF_UP, ENIGMA_ROUND_HALF_EVEN,
                                                 ENIGMA_ROUND_DOWN,    ENIGMA_ROUND_UP,
                                                 ENIGMA_ROUND_FLOOR,   ENIGMA_ROUND_CEIL};

static void push_metatable(lua_State *L);

/* Pushes a new decimal, zero. The metatable goes on right after init, with
 * nothing in between that can raise, so __gc always sees an initialised value. */
static enigma_decimal *new_decimal(lua_State *L)
{
    enigma_decimal *d;

    push_metatable(L);
    d = lua_newuserdatauv(L, sizeof *d, 0);
    enigma_decimal_init(d);
    lua_insert(L, -2);
    lua_setmetatable(L, -2);
    return d;
}

static enigma_decimal *test_decimal(lua_State *L, int idx)
{
    enigma_decimal *d = luaL_testudata(L, idx, ENIGMA_DECIMAL_MT);

    if (d != NULL && d->scale == SCALE_COLLECTED)
        luaL_error(L, "decimal used after it was collected");
    return d;
}

static enigma_decimal *check_decimal(lua_State *L, int idx)
{
    enigma_decimal *d = test_decimal(L, idx);

    if (d == NULL)
        luaL_typeerror(L, idx, ENIGMA_DECIMAL_MT);
    return d;
}

/* The value at `idx` (> 0) as a decimal: itself, or a converted copy pushed
 * on the stack, which keeps it alive for the caller. */
static const enigma_decimal *to_decimal(lua_State *L, int idx)
{
    enigma_decimal *d = test_decimal(L, idx);
    enigma_error err;
    const char *text;
    size_t len;
    int rc;

    if (d != NULL)
        return d;
    switch (lua_type(L, idx)) {
    case LUA_TNUMBER:
        d = new_decimal(L);
        if (lua_isinteger(L, idx)) {
            enigma_decimal_from_int64(d, lua_tointeger(L, idx));
            return d;
        }
        rc = enigma_decimal_from_double(d, lua_tonumber(L, idx), &err);
        break;
    case LUA_TSTRING:
        text = lua_tolstring(L, idx, &len);
        d = new_decimal(L);
        rc = enigma_decimal_parse(d, text, len, &err);
        break;
    default:
        luaL_typeerror(L, idx, "decimal, number or string");
        return NULL;
    }
    if (rc != 0)
        luaL_argerror(L, idx, err.message);
    return d;
}

static int raise_error(lua_State *L, const enigma_error *err)
{
    return luaL_error(L, "%s", err->message);
}

static enigma_rounding check_rounding(lua_State *L, int idx)
{
    return rounding_modes[luaL_checkoption(L, idx, "half_up", rounding_names)];
}

static int check_scale(lua_State *L, int idx, int min)
{
    lua_Integer scale = luaL_checkinteger(L, idx);

    luaL_argcheck(L, scale >= min && scale <= ENIGMA_DECIMAL_MAX_SCALE, idx, "scale out of range");
    return (int)scale;
}

/* --- construction -------------------------------------------------------------------- */

static int decimal_new(lua_State *L)
{
    luaL_checkany(L, 1);
    lua_settop(L, 1);
    to_decimal(L, 1); /* a decimal is immutable: decimal(d) may return d itself */
    return 1;
}

/* decimal(x): the module table's __call, which receives the table first. */
static int decimal_call(lua_State *L)
{
    lua_remove(L, 1);
    return decimal_new(L);
}

static int decimal_isdecimal(lua_State *L)
{
    lua_pushboolean(L, enigma_lua_isdecimal(L, 1));
    return 1;
}

int enigma_lua_decimal_push_text(lua_State *L, const char *text, size_t len,
                                 struct enigma_error *err)
{
    enigma_decimal *d = new_decimal(L);

    if (enigma_decimal_parse(d, text, len, err) != 0) {
        lua_pop(L, 1);
        return -1;
    }
    return 0;
}

void enigma_lua_decimal_push(lua_State *L, const char *text, size_t len)
{
    enigma_error err;

    if (enigma_lua_decimal_push_text(L, text, len, &err) != 0)
        raise_error(L, &err);
}

int enigma_lua_isdecimal(lua_State *L, int idx)
{
    return luaL_testudata(L, idx, ENIGMA_DECIMAL_MT) != NULL;
}

/* --- arithmetic ---------------------------------------------------------------------- */

typedef int (*binary_op)(enigma_decimal *r, const enigma_decimal *a, const enigma_decimal *b,
                         enigma_error *err);

static int arith(lua_State *L, binary_op op)
{
    const enigma_decimal *a = to_decimal(L, 1), *b = to_decimal(L, 2);
    enigma_decimal *r = new_decimal(L);
    enigma_error err;

    if (op(r, a, b, &err) != 0)
        return raise_error(L, &err);
    return 1;
}

static int decimal_add(lua_State *L)
{
    return arith(L, enigma_decimal_add);
}
static int decimal_sub(lua_State *L)
{
    return arith(L, enigma_decimal_sub);
}
static int decimal_mul(lua_State *L)
{
    return arith(L, enigma_decimal_mul);
}
static int decimal_idiv(lua_State *L)
{
    return arith(L, enigma_decimal_idiv);
}
static int decimal_mod(lua_State *L)
{
    return arith(L, enigma_decimal_mod);
}

/* a / b to max(18, a's scale, b's scale) digits, half up: exact division is
 * not possible (1/3), so the rounding is stated rather than hidden. */
static int decimal_div(lua_State *L)
{
    const enigma_decimal *a = to_decimal(L, 1), *b = to_decimal(L, 2);
    int scale = DIV_MIN_SCALE;
    enigma_decimal *r;
    enigma_error err;

    if (a->scale > scale)
        scale = a->scale;
    if (b->scale > scale)
        scale = b->scale;
    r = new_decimal(L);
    if (enigma_decimal_div(r, a, b, scale, ENIGMA_ROUND_HALF_UP, &err) != 0)
        return raise_error(L, &err);
    return 1;
}

/* d:div(b, scale [, mode]) */
static int decimal_div_method(lua_State *L)
{
    int scale = check_scale(L, 3, 0);
    enigma_rounding mode = check_rounding(L, 4);
    const enigma_decimal *a, *b;
    enigma_decimal *r;
    enigma_error err;

    lua_settop(L, 4); /* converted operands go above the arguments */
    a = to_decimal(L, 1);
    b = to_decimal(L, 2);
    r = new_decimal(L);
    if (enigma_decimal_div(r, a, b, scale, mode, &err) != 0)
        return raise_error(L, &err);
    return 1;
}

/* d:round(scale [, mode]); a negative scale rounds to tens, hundreds... */
static int decimal_round(lua_State *L)
{
    const enigma_decimal *a = check_decimal(L, 1);
    int scale = check_scale(L, 2, -ENIGMA_DECIMAL_MAX_DIGITS);
    enigma_rounding mode = check_rounding(L, 3);
    enigma_decimal *r = new_decimal(L);
    enigma_error err;

    if (enigma_decimal_round(r, a, scale, mode, &err) != 0)
        return raise_error(L, &err);
    return 1;
}

static int decimal_unm(lua_State *L)
{
    const enigma_decimal *a = check_decimal(L, 1);

    enigma_decimal_neg(new_decimal(L), a);
    return 1;
}

static int decimal_abs(lua_State *L)
{
    const enigma_decimal *a = check_decimal(L, 1);

    enigma_decimal_abs(new_decimal(L), a);
    return 1;
}

/* --- comparison ---------------------------------------------------------------------- */

/* Lua calls __eq only with two userdata; another type's is never equal. */
static int decimal_eq(lua_State *L)
{
    const enigma_decimal *a = test_decimal(L, 1), *b = test_decimal(L, 2);

    lua_pushboolean(L, a != NULL && b != NULL && enigma_decimal_cmp(a, b) == 0);
    return 1;
}

/* a < b or a <= b. A float no decimal can equal still compares as Lua's own
 * numbers do: nothing is ordered with NaN, every decimal lies inside +-inf. */
static int compare(lua_State *L, int or_equal)
{
    int i, c;

    for (i = 1; i <= 2; i++) {
        if (lua_type(L, i) == LUA_TNUMBER && !lua_isinteger(L, i)) {
            lua_Number x = lua_tonumber(L, i);
            if (isnan(x)) {
                lua_pushboolean(L, 0);
                return 1;
            }
            if (isinf(x)) {
                lua_pushboolean(L, i == 1 ? x < 0 : x > 0);
                return 1;
            }
        }
    }
    c = enigma_decimal_cmp(to_decimal(L, 1), to_decimal(L, 2));
    lua_pushboolean(L, or_equal ? c <= 0 : c < 0);
    return 1;
}

static int decimal_lt(lua_State *L)
{
    return compare(L, 0);
}
static int decimal_le(lua_State *L)
{
    return compare(L, 1);
}

/* --- conversion ---------------------------------------------------------------------- */

static int decimal_tostring(lua_State *L)
{
    const enigma_decimal *d = check_decimal(L, 1);
    size_t size = enigma_decimal_format_size(d);
    luaL_Buffer b;
    char *p = luaL_buffinitsize(L, &b, size);

    luaL_pushresultsize(&b, enigma_decimal_format_to(d, p, size));
    return 1;
}

/* a .. b: like Lua's own concatenation, with decimals as their text. */
static int decimal_concat(lua_State *L)
{
    int i;

    for (i = 1; i <= 2; i++) {
        int t = lua_type(L, i);
        if (t != LUA_TSTRING && t != LUA_TNUMBER && test_decimal(L, i) == NULL)
            return luaL_error(L, "attempt to concatenate a %s value", luaL_typename(L, i));
    }
    luaL_tolstring(L, 1, NULL);
    luaL_tolstring(L, 2, NULL);
    lua_concat(L, 2);
    return 1;
}

static int decimal_tonumber(lua_State *L)
{
    lua_pushnumber(L, (lua_Number)enigma_decimal_to_double(to_decimal(L, 1)));
    return 1;
}

static int decimal_tointeger(lua_State *L)
{
    int64_t n;

    if (enigma_decimal_to_int64(check_decimal(L, 1), &n) != 0)
        luaL_pushfail(L);
    else
        lua_pushinteger(L, (lua_Integer)n);
    return 1;
}

static int decimal_scale(lua_State *L)
{
    lua_pushinteger(L, check_decimal(L, 1)->scale);
    return 1;
}

static int decimal_sign(lua_State *L)
{
    lua_pushinteger(L, enigma_decimal_sign(check_decimal(L, 1)));
    return 1;
}

static int decimal_iszero(lua_State *L)
{
    lua_pushboolean(L, enigma_decimal_sign(check_decimal(L, 1)) == 0);
    return 1;
}

static int decimal_gc(lua_State *L)
{
    enigma_decimal *d = luaL_checkudata(L, 1, ENIGMA_DECIMAL_MT);

    if (d->scale != SCALE_COLLECTED) {
        enigma_decimal_clear(d);
        d->scale = SCALE_COLLECTED;
    }
    return 0;
}

static const luaL_Reg decimal_meta[] = {
    {"__add", decimal_add},
    {"__sub", decimal_sub},
    {"__mul", decimal_mul},
    {"__div", decimal_div},
    {"__idiv", decimal_idiv},
    {"__mod", decimal_mod},
    {"__unm", decimal_unm},
    {"__eq", decimal_eq},
    {"__lt", decimal_lt},
    {"__le", decimal_le},
    {"__tostring", decimal_tostring},
    {"__concat", decimal_concat},
    {"__gc", decimal_gc},
    {NULL, NULL}
};

static const luaL_Reg decimal_methods[] = {
    {"tonumber", decimal_tonumber}, {"tointeger", decimal_tointeger}, {"round", decimal_round},
    {"div", decimal_div_method},    {"scale", decimal_scale},         {"abs", decimal_abs},
    {"sign", decimal_sign},         {"iszero", decimal_iszero},       {NULL, NULL}
};

static const luaL_Reg decimal_functions[] = {
    {"new", decimal_new},
    {"isdecimal", decimal_isdecimal},
    {"tonumber", decimal_tonumber},
    {NULL, NULL}
};

/* Pushes the values' metatable, made on first use so that another binding
 * (db) can make decimals before anyone has required enigma.decimal. */
static void push_metatable(lua_State *L)
{
    if (luaL_newmetatable(L, ENIGMA_DECIMAL_MT)) {
        luaL_setfuncs(L, decimal_meta, 0);
        luaL_newlib(L, decimal_methods);
        lua_setfield(L, -2, "__index");
    }
}

ENIGMA_EXPORT int luaopen_enigma_decimal(lua_State *L)
{
    luaL_newlib(L, decimal_functions);
    lua_createtable(L, 0, 1);
    lua_pushcfunction(L, decimal_call);
    lua_setfield(L, -2, "__call");
    lua_setmetatable(L, -2);
    return 1;
}
