/* needs: bindings */
/*
 * bindings/sandbox/sandbox_match: the metered string.find, match, gmatch and gsub.
 *
 * The differential part runs each case through the stock functions and
 * through ours, in one Lua state, and compares every return value, or the
 * error message: hand-written cases first, then seeded random patterns over
 * a small alphabet. Then a catastrophic pattern must be stopped by the meter,
 * and a simple find must be charged a plausible number of steps.
 */
#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>
#include <stdint.h>
#include <stdlib.h>

#include "sandbox_match.h"
#include "test.h"

/* What a charge function was told. */
typedef struct meter_log {
    unsigned long total, limit;   /* limit 0: never raise */
    unsigned long calls, largest;
} meter_log;

/* 1 if s ends with the text of the budget error (luaL_error adds where it was raised). */
static int is_limit_error(const char *s)
{
    static const char want[] = "instruction limit";
    size_t n = s != NULL ? strlen(s) : 0;

    return n >= sizeof want - 1 && strcmp(s + n - (sizeof want - 1), want) == 0;
}

static void log_charge(lua_State *L, void *ud, unsigned long steps)
{
    meter_log *log = ud;

    log->total += steps;
    log->calls++;
    if (steps > log->largest)
        log->largest = steps;
    if (log->limit != 0 && log->total > log->limit)
        luaL_error(L, "instruction limit");
}

/*
 * run(kind, call, F, ...) -> "ok <values>" or "error <message>": call(F, ...)
 * returns a packed table of F's results; a gmatch iterator is drained (at most
 * 300 steps) and each step's values are listed.
 */
static const char harness[] =
    "local pack, concat, fmt, mtype = table.pack, table.concat, string.format, math.type\n"
    "local function show(r)\n"
    "  local out = {}\n"
    "  for i = 1, r.n do\n"
    "    local v = r[i]\n"
    "    if type(v) == 'string' then out[i] = fmt('%q', v)\n"
    "    elseif type(v) == 'number' then out[i] = mtype(v) .. ':' .. tostring(v)\n"
    "    else out[i] = type(v) .. ':' .. tostring(v) end\n"
    "  end\n"
    "  return r.n .. '[' .. concat(out, ',') .. ']'\n"
    "end\n"
    "return function(kind, call, F, ...)\n"
    "  local args = pack(...)\n"
    "  local ok, res = pcall(function()\n"
    "    local r = call(F, table.unpack(args, 1, args.n))\n"
    "    if kind ~= 'gmatch' or type(r[1]) ~= 'function' then return show(r) end\n"
    "    local out = {}\n"
    "    for _ = 1, 300 do\n"
    "      local x = pack(r[1]())\n"
    "      out[#out + 1] = show(x)\n"
    "      if x.n == 0 then break end\n"
    "    end\n"
    "    return concat(out, ' ')\n"
    "  end)\n"
    "  if type(res) == 'table' then res = 'a table' end\n"
    "  return (ok and 'ok ' or 'error ') .. tostring(res)\n"
    "end\n";

/* A case is a function name and its arguments as Lua source; F is the function. */
typedef struct dcase {
    const char *fn;
    const char *args;
} dcase;

static const dcase cases[] = {
    /* find: plain text, init, plain flag */
    {"find", "'hello world', 'o w'"},
    {"find", "'hello world', 'o', 5"},
    {"find", "'hello world', 'o', 6"},
    {"find", "'hello world', 'o', -3"},
    {"find", "'hello world', 'o', -4"},
    {"find", "'hello world', 'o', 0"},
    {"find", "'hello world', 'o', -100"},
    {"find", "'hello world', 'o', 100"},
    {"find", "'hello world', 'd', 11"},
    {"find", "'hello world', '', 12"},
    {"find", "'hello world', '', 13"},
    {"find", "'hello world', 'l+', math.maxinteger"},
    {"find", "'hello world', 'l+', math.mininteger"},
    {"find", "'', ''"},
    {"find", "'', '', 1"},
    {"find", "'', '', 2"},
    {"find", "'', 'a'"},
    {"find", "'', '.*'"},
    {"find", "'abc', ''"},
    {"find", "'abc', '', 4"},
    {"find", "'abc', '', 5"},
    {"find", "'abc', '', -1"},
    {"find", "'a.b', '.', 1, true"},
    {"find", "'a.b', '.', 2, 1"},
    {"find", "'a.b', '.', 1, false"},
    {"find", "'a.b', '%.'"},
    {"find", "'a+b', '+', 1, true"},
    {"find", "'a+b', 'a+b'"},
    {"find", "'a+b', '[', 1, true"},
    {"find", "'x)y', 'x)'"},
    {"find", "'x)y', '.)'"},
    {"find", "'aaab', 'aab', 1, true"},
    {"find", "'abc', 'abcd', 1, true"},
    {"find", "12345, 3"},
    {"find", "12345, '3', 2.0"},
    /* quantifiers and anchors */
    {"find", "'hello', 'l+'"},
    {"find", "'hello', 'l*'"},
    {"find", "'hello', 'l-'"},
    {"find", "'hello', 'l-o'"},
    {"find", "'hello', 'l?l'"},
    {"find", "'hello', 'x?e'"},
    {"find", "'hello', '^h'"},
    {"find", "'hello', '^e'"},
    {"find", "'hello', '^e', 2"},
    {"find", "'hello', 'o$'"},
    {"find", "'hello', 'l$'"},
    {"find", "'hello', '$'"},
    {"find", "'hello', '^'"},
    {"find", "'hello', '^$'"},
    {"find", "'', '^$'"},
    {"find", "'he$llo', 'e$l'"},
    {"find", "'a^b', 'a^b'"},
    {"find", "'a^b', '.^'"},
    {"find", "'a-b', '-'"},
    {"find", "'a--b', '--b'"},
    {"find", "'*a', '*a'"},
    {"find", "'+a', '+'"},
    {"find", "'?', '?'"},
    {"find", "'aaa', 'a-$'"},
    {"find", "'aaa', '^a-'"},
    {"find", "'xaaay', 'a+', 3"},
    /* captures */
    {"find", "'hello world', '(o)(r)'"},
    {"find", "'hello', '(h)(e)'"},
    {"find", "'hello', '()ll()'"},
    {"find", "'xaby', '((a)(b))'"},
    {"match", "'key=val', '(%w+)=(%w+)'"},
    {"match", "'xaby', '((a)(b))'"},
    {"match", "'xaby', '(a(b)())'"},
    {"match", "'hello', '(h)(e)(l)'"},
    {"match", "'hello', '()'"},
    {"match", "'hello', '()', 3"},
    {"match", "'hello', '()', 6"},
    {"match", "'hello', '()', 7"},
    {"match", "'hello', '()', -2"},
    {"match", "'hello', '.-'"},
    {"match", "'hello', '.-$'"},
    {"match", "'hello', 'x'"},
    {"match", "'  trim me  ', '^%s*(.-)%s*$'"},
    {"match", "'key = value', '(%w+)%s*=%s*(%w+)'"},
    {"match", "'2024-01-02', '(%d+)-(%d+)-(%d+)'"},
    {"match", "'a.b', '.', 1, true"},
    {"match", "'aXbXc', '(.*)X(.*)'"},
    {"match", "'aXbXc', '(.-)X(.-)'"},
    {"match", "'aXbXc', '(.-)X(.-)$'"},
    {"match", "'ab', '(a*(.)%w(%s*))'"},
    {"match", "'ab*', '(ab)*'"},
    {"match", "string.rep('x', 40), string.rep('()', 32)"},
    {"match", "'x', string.rep('()', 33)"},
    {"match", "'x', '(x'"},
    {"match", "'x', '('"},
    {"match", "'x', '()('"},
    {"match", "'x', 'x)'"},
    {"match", "'x', '(x))'"},
    /* sets and classes */
    {"find", "'abc123', '[%d]+'"},
    {"find", "'abc123', '[^%a]+'"},
    {"find", "'xyzabc', '[a-c]+'"},
    {"find", "'x]y', '[]]'"},
    {"find", "'x]y', '[^]]+'"},
    {"find", "'a-z', '[a-]+'"},
    {"find", "'a-z', '[-a]+$'"},
    {"find", "']', '[%]]'"},
    {"find", "'Az-', '[%a-z]+'"},
    {"find", "'b', '[b-a]'"},
    {"find", "'%', '[a-%%]'"},
    {"find", "'^', '[%^]'"},
    {"find", "'^x', '[x^]+'"},
    {"find", "'x', '[]'"},
    {"find", "'x', '[^'"},
    {"find", "'x', '[a'"},
    {"find", "'x', '[%'"},
    {"find", "'x', '[%]'"},
    {"find", "'x', '[^]'"},
    {"find", "'x', '%'"},
    {"find", "'x', 'a%'"},
    {"find", "'x', '[a-'"},
    {"find", "'a\\0b', '\\0'"},
    {"find", "'a\\0b', '%z'"},
    {"find", "'a\\0b', '[\\0]'"},
    {"find", "'a\\0b', '.\\0.'"},
    {"find", "'a\\0b', '%\\0'"},
    {"find", "'a\\0b', '[%z]'"},
    {"find", "'a\\0b', 'b\\0', 1, true"},
    {"find", "'\\200\\255x', '[\\128-\\255]+'"},
    {"find", "'\\200\\255x', '%w+'"},
    {"find", "'a%b', '%%'"},
    {"find", "'aZ', '%Z'"},
    {"find", "'a.', '%.'"},
    {"find", "'a', '%.'"},
    /* %b and %f */
    {"find", "'f(a(b)c)d', '%b()'"},
    {"find", "'f(a(b', '%b()'"},
    {"find", "'x', '%b'"},
    {"find", "'x', '%b('"},
    {"find", "[['a' 'b']], \"%b''\""},
    {"find", "'xxyyxy', '%bxy'"},
    {"find", "'(()', '%b()'"},
    {"find", "'()', '%b()*'"},
    {"match", "'(a)(b)', '%b()%b()'"},
    {"match", "'((x))', '(%b())'"},
    {"find", "'THE (quick) fox', '%f[%a]%a+'"},
    {"find", "'THE (quick) fox', '%f[%a]%a+', 5"},
    {"find", "'abc', '%f[%W]'"},
    {"find", "'abc', '%f[%w]'"},
    {"find", "'abc', '%f[^%w]$'"},
    {"find", "'', '%f[%z]'"},
    {"find", "'abc', '%f[%z]'"},
    {"find", "'a\\0b', '%f[%z]'"},
    {"find", "'abc', '%fa'"},
    {"find", "'abc', '%f'"},
    {"find", "'abc', '%f[a'"},
    {"find", "'a b', '%f[%s]'"},
    /* back-references */
    {"find", "'abcabc', '(abc)%1'"},
    {"match", "[[say \"hello\" and 'x']], [[([\"'])(.-)%1]]"},
    {"find", "'aa', '(a)%2'"},
    {"find", "'aa', '%1'"},
    {"find", "'aa', '(a%1)'"},
    {"find", "'aa', '()a%1'"},
    {"find", "'aa', '%0'"},
    {"find", "'aaaa', '(a*)%1$'"},
    {"find", "'abab', '(a)(b)%1%2'"},
    {"find", "'abc', '(a)%1*'"},
    {"find", "'xx', '(x)%9'"},
    /* limits */
    {"find", "string.rep('a', 300), string.rep('a?', 300)"},
    {"find", "string.rep('a', 300), string.rep('a?', 199)"},
    {"find", "string.rep('a', 300), string.rep('a?', 200)"},
    {"find", "string.rep('a', 300), string.rep('(a)', 33)"},
    {"find", "string.rep('ab', 500), '(ab)+b', 1"},
    {"find", "string.rep('a', 1000), '.-b'"},
    {"find", "string.rep('a', 1000) .. 'b', 'a-b'"},
    /* gmatch */
    {"gmatch", "'one two three', '%a+'"},
    {"gmatch", "'k=v, a=b', '(%w+)=(%w+)'"},
    {"gmatch", "'abc', ''"},
    {"gmatch", "'abc', '', 2"},
    {"gmatch", "'abc', '.', -1"},
    {"gmatch", "'abc', '.', -10"},
    {"gmatch", "'abc', '.', 0"},
    {"gmatch", "'abc', '.', 4"},
    {"gmatch", "'abc', '.', 10"},
    {"gmatch", "'abc', '', 10"},
    {"gmatch", "'^a^a', '^a'"},
    {"gmatch", "'abc', 'x*'"},
    {"gmatch", "'aaa', 'a-'"},
    {"gmatch", "'aaa', 'a*'"},
    {"gmatch", "'hello world', '()o()'"},
    {"gmatch", "'', ''"},
    {"gmatch", "'', 'x'"},
    {"gmatch", "'THE (quick) fox', '%f[%w]%w+'"},
    {"gmatch", "'abc', '('"},
    {"gmatch", "'abc', '[a'"},
    {"gmatch", "'a,b,,c', '([^,]*)'"},
    {"gmatch", "'a1b22c333', '%d*'"},
    {"gmatch", "'(a)(b)(c)', '%b()'"},
    {"gmatch", "'abcabc', '(b)(c)'"},
    {"gmatch", "nil, 'x'"},
    {"gmatch", "{}, 'x'"},
    {"gmatch", "'x', 'x', 'y'"},
    /* gsub: string replacements */
    {"gsub", "'hello world', 'o', '0'"},
    {"gsub", "'hello', '', '-'"},
    {"gsub", "'', '', '-'"},
    {"gsub", "'', 'x*', '-'"},
    {"gsub", "'abc', '%w', '%0%0'"},
    {"gsub", "'abc', '(%w)', '%1-'"},
    {"gsub", "'abc', '%w', '%%'"},
    {"gsub", "'abc', '%w', '%2'"},
    {"gsub", "'abc', '%w', '%'"},
    {"gsub", "'abc', '%w', 'x%'"},
    {"gsub", "'abc', '%w', '%x'"},
    {"gsub", "'abc', '(%w)', '%2'"},
    {"gsub", "'abc', '()', '%1'"},
    {"gsub", "'abc', '%w()', '[%1]'"},
    {"gsub", "'abc', '%w', '%1'"},
    {"gsub", "'abc', '(b)', '%0%1%%'"},
    {"gsub", "'abc', '(', '%1'"},
    {"gsub", "'abc', '(b', '%0'"},
    {"gsub", "'abc', 'b', '%\\0'"},
    {"gsub", "'hello world', '(%w+)', '<%1>'"},
    {"gsub", "'hello world', '%w+', '%0 %0', 1"},
    {"gsub", "'hello world', '%w+', '<%0>', 0"},
    {"gsub", "'hello world', '%w+', '<%0>', -1"},
    {"gsub", "'hello world', '%w+', '<%0>', 2.0"},
    {"gsub", "'hello world', '%w+', '<%0>', 2.5"},
    {"gsub", "'hello world', '%w+', '<%0>', '1'"},
    {"gsub", "'hello world', '%w+', '<%0>', 'x'"},
    {"gsub", "'hello world', '%w+', '<%0>', math.maxinteger"},
    {"gsub", "'hello world', '%w+', '<%0>', math.mininteger"},
    {"gsub", "'abc', 'b', 5"},
    {"gsub", "'abc', 'b', 5.5"},
    {"gsub", "'abc', 'b', 2^63"},
    {"gsub", "123, '2', 'x'"},
    {"gsub", "123, 'x', 'y'"},
    {"gsub", "'x', 'x', true"},
    {"gsub", "'x', 'x'"},
    {"gsub", "'x', 'x', nil, 'a'"},
    {"gsub", "'aaa', '^a', 'b'"},
    {"gsub", "'aaa', '^a*', 'b'"},
    {"gsub", "'aaa', 'a*', '-'"},
    {"gsub", "'aaa', 'a-', '-'"},
    {"gsub", "'abc', '$', '!'"},
    {"gsub", "'abc', '^', '!'"},
    {"gsub", "'abc', '^$', '!'"},
    {"gsub", "'a b  c', '%s+', ' '"},
    {"gsub", "'  x  ', '^%s*(.-)%s*$', '%1'"},
    {"gsub", "'abc', '.', {a = '1', b = 2}"},
    {"gsub", "'abc', '.', {a = false}"},
    {"gsub", "'abc', '.', {a = true}"},
    {"gsub", "'abc', '.', {a = {}}"},
    {"gsub", "'abc', '(.)(.)', {ab = 'X', a = 'Y'}"},
    {"gsub", "'abc', '()', {[1] = 'one', [3] = 'three'}"},
    {"gsub", "'abc', '.', setmetatable({}, {__index = function(_, k) return k:upper() end})"},
    {"gsub", "'abc', '.', {}"},
    {"gsub", "'hello world', '%w+', function(w) return w:upper() end"},
    {"gsub", "'hello world', '%w+', function() return nil end"},
    {"gsub", "'hello world', '%w+', function() return false end"},
    {"gsub", "'hello world', '%w+', function() return 42 end"},
    {"gsub", "'hello world', '%w+', function() return 1.5 end"},
    {"gsub", "'hello world', '%w+', function() return {} end"},
    {"gsub", "'hello world', '%w+', function() return true end"},
    {"gsub", "'hello world', '%w+', function() end"},
    {"gsub", "'hello world', '%w+', function() error('boom') end"},
    {"gsub", "'hello world', '%w+', function() error({}) end"},
    {"gsub", "'k=v, a=b', '(%w+)=(%w+)', function(k, v) return v .. '=' .. k end"},
    {"gsub", "'abc', '()(.)()', function(a, c, b) return a .. c .. b end"},
    {"gsub", "'abc', '', function(...) return select('#', ...) end"},
    {"gsub", "'abc', '%w', function(c) if c == 'b' then return nil end return c .. c end"},
    {"gsub", "'abc', '(', function() return 'x' end"},
    {"gsub", "'abc', '[', 'x'"},
    {"gsub", "'f(a(b)c)d', '%b()', '[]'"},
    {"gsub", "'THE (quick) fox', '%f[%a]', '|'"},
    {"gsub", "'THE (quick) fox', '%f[%A]', '|'"},
    {"gsub", "'abcabc', '(b)%1', 'x'"},
    {"gsub", "'abc', 'x*', '-', 2"},
    {"gsub", "'\\0a\\0', '%z', 'Z'"},
    {"gsub", "'a\\0b', '\\0', '%%0'"},
    /* bad arguments */
    {"find", "nil, 'x'"},
    {"find", "'x', nil"},
    {"find", "'x', 'x', 'a'"},
    {"find", "'x', 'x', 1.5"},
    {"find", "{}, 'x'"},
    {"match", "'x'"},
    {"match", "'x', 'x', {}"},
    {"gsub", "'x', 'x', 'y', {}"},
    {"gsub", "nil, 'x', 'y'"},
    /* each class against every kind of byte */
    {"gsub", "CLASSES, '%a', '#'"},
    {"gsub", "CLASSES, '%A', '#'"},
    {"gsub", "CLASSES, '%c', '#'"},
    {"gsub", "CLASSES, '%C', '#'"},
    {"gsub", "CLASSES, '%d', '#'"},
    {"gsub", "CLASSES, '%D', '#'"},
    {"gsub", "CLASSES, '%g', '#'"},
    {"gsub", "CLASSES, '%G', '#'"},
    {"gsub", "CLASSES, '%l', '#'"},
    {"gsub", "CLASSES, '%L', '#'"},
    {"gsub", "CLASSES, '%p', '#'"},
    {"gsub", "CLASSES, '%P', '#'"},
    {"gsub", "CLASSES, '%s', '#'"},
    {"gsub", "CLASSES, '%S', '#'"},
    {"gsub", "CLASSES, '%u', '#'"},
    {"gsub", "CLASSES, '%U', '#'"},
    {"gsub", "CLASSES, '%w', '#'"},
    {"gsub", "CLASSES, '%W', '#'"},
    {"gsub", "CLASSES, '%x', '#'"},
    {"gsub", "CLASSES, '%X', '#'"},
    {"gsub", "CLASSES, '[%a%d]', '#'"},
    {"gsub", "CLASSES, '[^%p%s]', '#'"},
    {"gsub", "CLASSES, '[%W_]', '#'"},
    {"gsub", "CLASSES, '[\\1-\\31\\127-\\255]', '#'"},
    {"gsub", "CLASSES, '%f[%p]', '#'"},
    {"gsub", "CLASSES, '.', '#'"},
    {"gsub", "CLASSES, '%q', '#'"},
};

/* Builds the chunk "local F = ... return table.pack(F(<args>))" for a case. */
static int load_case(lua_State *L, const dcase *c)
{
    char code[1024];

    snprintf(code, sizeof code, "local F = ... return table.pack(F(%s))", c->args);
    return luaL_loadstring(L, code);
}

/* Calls run(kind, call, F, <nargs values on top>) with F = lib[kind]; pops the
 * values and returns the verdict (on the stack, below which nothing moves). */
static const char *run_with(lua_State *L, int run, int call, int lib, const char *kind, int nargs)
{
    int base = lua_gettop(L) - nargs;

    lua_pushvalue(L, run);
    lua_pushstring(L, kind);
    lua_pushvalue(L, call);
    lua_getfield(L, lib, kind);
    lua_rotate(L, base + 1, 4);   /* run, kind, call, F before the values */
    if (lua_pcall(L, nargs + 3, 1, 0) != LUA_OK)   /* the harness itself failed */
        fprintf(stderr, "harness: %s\n", lua_tostring(L, -1));
    return lua_tostring(L, -1);
}

static int compared_errors;   /* cases where both raised the same error */

/* Runs one comparison with the nargs values on top, then pops them; 1 if the same. */
static int compare(lua_State *L, int run, int call, const char *kind, int nargs, const char *what)
{
    int top = lua_gettop(L), i, same;
    const char *want, *got;

    for (i = 0; i < nargs; i++)
        lua_pushvalue(L, top - nargs + 1 + i);
    want = run_with(L, run, call, 1, kind, nargs);
    for (i = 0; i < nargs; i++)
        lua_pushvalue(L, top - nargs + 1 + i);
    got = run_with(L, run, call, 2, kind, nargs);
    same = want != NULL && got != NULL && strcmp(want, got) == 0;
    if (same && strncmp(want, "error", 5) == 0)
        compared_errors++;
    if (!same)
        fprintf(stderr, "mismatch: %s(%s)\n  lua:  %s\n  ours: %s\n", kind, what,
                want ? want : "(null)", got ? got : "(null)");
    lua_settop(L, top - nargs);
    return same;
}

static uint64_t rng_state = 0x9e3779b97f4a7c15u;

static unsigned rnd(unsigned n)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (unsigned)(rng_state % n);
}

static const char *const pattern_tokens[] = {
    "a",      "b",      "c",    ".",    "%a",    "%d",   "%A", "%b()", "%bab", "%f[%a]",
    "%f[ab]", "%f[^a]", "[ab]", "[^a]", "[a-c]", "[%a]", "[]", "(",    ")",    "()",
    "%1",     "%2",     "*",    "+",    "-",     "?",    "^",  "$",    "%",    "[",
    "]",      "%%",     "1",    "(a)",  "(.-)",  "(b*)", "%z", " ",    "%f",   "%b",
    "[^]",    "[a-]",   "%w",   "[%]]", ".-",    "%3",   "%0", "%ba",
};
/* The NUL is a subject byte too (it is what %f sees past either end). */
static const char subject_alphabet[] = "aaabbc1()[]%^$-. \0";
static const char *const replacements[] = {"<%0>", "%1", "[%1%2]", "x", "%%", "", "%", "%a"};
static const char *const kinds[] = {"find", "match", "gmatch", "gsub"};

/* Pushes a random subject and pattern and returns how many optional arguments
 * it pushed after them (init, plain, replacement, max). */
static int push_random_case(lua_State *L, const char *kind, char *what, size_t whatlen)
{
    char pat[128] = "", subj[32], shown[64];
    unsigned i, j, n = 1 + rnd(7), ls = rnd(20);
    int nargs = 2;

    for (i = 0; i < n; i++)
        strcat(pat, pattern_tokens[rnd(sizeof pattern_tokens / sizeof pattern_tokens[0])]);
    for (i = j = 0; i < ls; i++) {
        subj[i] = subject_alphabet[rnd(sizeof subject_alphabet)];
        if (subj[i] == '\0')
            shown[j++] = '\\', shown[j++] = '0';
        else
            shown[j++] = subj[i];
    }
    shown[j] = '\0';
    lua_pushlstring(L, subj, ls);
    lua_pushstring(L, pat);
    snprintf(what, whatlen, "'%s', '%s'", shown, pat);
    if (strcmp(kind, "gsub") == 0) {
        const char *r = replacements[rnd(sizeof replacements / sizeof replacements[0])];

        lua_pushstring(L, r);
        nargs++;
        snprintf(what + strlen(what), whatlen - strlen(what), ", '%s'", r);
        if (rnd(3) == 0) {
            int max = (int)rnd(5) - 1;

            lua_pushinteger(L, max);
            nargs++;
            snprintf(what + strlen(what), whatlen - strlen(what), ", %d", max);
        }
    } else if (rnd(3) == 0) {
        int init = (int)rnd(20) - 4;

        lua_pushinteger(L, init);
        nargs++;
        snprintf(what + strlen(what), whatlen - strlen(what), ", %d", init);
        if (strcmp(kind, "find") == 0 && rnd(4) == 0) {
            lua_pushboolean(L, 1);
            nargs++;
            snprintf(what + strlen(what), whatlen - strlen(what), ", true");
        }
    }
    return nargs;
}

#define RANDOM_CASES 20000

static void differential(void)
{
    lua_State *L = luaL_newstate();
    meter_log log = {0, 0, 0, 0};
    int run, call, mismatches = 0, random_mismatches = 0;
    size_t i;

    luaL_openlibs(L);
    lua_getglobal(L, "string");                        /* 1: the stock library */
    lua_newtable(L);                                   /* 2: ours */
    lua_pushnil(L);
    while (lua_next(L, 1) != 0) {
        lua_pushvalue(L, -2);
        lua_insert(L, -2);
        lua_settable(L, 2);
    }
    enigma_sandbox_patterns(L, 2, log_charge, &log);
    lua_getfield(L, 1, "find");
    lua_getfield(L, 2, "find");
    CHECK(!lua_rawequal(L, -1, -2));
    lua_pop(L, 2);
    CHECK(luaL_dostring(L,
                        "CLASSES = '' for i = 0, 255 do CLASSES = CLASSES .. string.char(i) end") ==
          LUA_OK);
    CHECK(luaL_loadstring(L, harness) == LUA_OK && lua_pcall(L, 0, 1, 0) == LUA_OK);
    run = lua_gettop(L);
    CHECK(luaL_dostring(L, "return function(F, ...) return table.pack(F(...)) end") == LUA_OK);
    call = lua_gettop(L);

    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        if (load_case(L, &cases[i]) != LUA_OK) {
            fprintf(stderr, "case %s(%s): %s\n", cases[i].fn, cases[i].args, lua_tostring(L, -1));
            CHECK(0);
            lua_pop(L, 1);
            continue;
        }
        if (!compare(L, run, lua_gettop(L), cases[i].fn, 0, cases[i].args))
            mismatches++;
        lua_pop(L, 1);
    }
    printf("%zu hand-written cases, %d mismatches\n", sizeof cases / sizeof cases[0], mismatches);
    CHECK(mismatches == 0);

    compared_errors = 0;
    for (i = 0; i < RANDOM_CASES; i++) {
        char what[256];
        const char *kind = kinds[i % 4];
        int nargs = push_random_case(L, kind, what, sizeof what);

        if (!compare(L, run, call, kind, nargs, what) && ++random_mismatches > 50)
            break;
    }
    printf("%d random cases (%d raising an error), %d mismatches\n", RANDOM_CASES, compared_errors,
           random_mismatches);
    CHECK(random_mismatches == 0);
    CHECK(log.total > 0 && log.calls > 0);
    CHECK(log.largest <= 2000);   /* charged in small portions, not only at the end */
    lua_close(L);
}

/* The backtracking blow-up must be stopped by the meter, in every function. */
static void catastrophic(void)
{
    static const char *const calls[] = {
        "return S:find(P)",
        "return S:match(P)",
        "for x in S:gmatch(P) do end",
        "return S:gsub(P, 'x')",
        "return S:gsub(P, function() end)",
    };
    lua_State *L = luaL_newstate();
    meter_log log = {0, 10000000, 0, 0};
    size_t i;

    luaL_openlibs(L);
    lua_getglobal(L, "string");
    enigma_sandbox_patterns(L, -1, log_charge, &log);
    lua_pop(L, 1);
    CHECK(luaL_dostring(L, "S = string.rep('a', 5000) P = string.rep('a*', 20) .. 'b'") == LUA_OK);
    for (i = 0; i < sizeof calls / sizeof calls[0]; i++) {
        int status;

        log.total = 0;
        log.largest = 0;
        CHECK(luaL_loadstring(L, calls[i]) == LUA_OK);
        status = lua_pcall(L, 0, LUA_MULTRET, 0);
        CHECK(status == LUA_ERRRUN);
        CHECK(is_limit_error(lua_tostring(L, -1)));
        CHECK(log.total > 10000000 && log.total < 10000000 + 2000);
        CHECK(log.largest <= 1000);
        lua_settop(L, 0);
    }
    /* the state is still usable, and the budget can stop a plain search too */
    log.total = 0;
    CHECK(luaL_dostring(L, "return ('hello'):find('l+')") == LUA_OK);
    CHECK(lua_tointeger(L, -2) == 3 && lua_tointeger(L, -1) == 4);
    lua_settop(L, 0);
    log.total = log.limit;
    CHECK(luaL_dostring(L, "return ('hello'):find('l', 1, true)") != LUA_OK);
    CHECK(is_limit_error(lua_tostring(L, -1)));
    lua_close(L);
}

/* A charge that never raises sees a plausible count, and one call at the end. */
static void plausible_counts(void)
{
    static const struct {
        const char *code;
        unsigned long min, max;
    } counts[] = {
        {"return ('hello world'):find('o w')", 1, 20},
        {"return ('hello world'):find('o%sw')", 5, 100},
        {"return ('hello world'):match('^(%w+)')", 5, 50},
        {"return ('hello world'):gsub('o', '0')", 11, 100},
        {"return ('a'):rep(10000):find('b')", 10000, 10002},
        {"return ('a'):rep(1000):find('.-b')", 500000, 5000000},
    };
    lua_State *L = luaL_newstate();
    meter_log log = {0, 0, 0, 0};
    size_t i;

    luaL_openlibs(L);
    lua_getglobal(L, "string");
    enigma_sandbox_patterns(L, -1, log_charge, &log);
    lua_pop(L, 1);
    for (i = 0; i < sizeof counts / sizeof counts[0]; i++) {
        log.total = log.calls = 0;
        CHECK(luaL_dostring(L, counts[i].code) == LUA_OK);
        if (log.total < counts[i].min || log.total > counts[i].max)
            fprintf(stderr, "%s: %lu steps\n", counts[i].code, log.total);
        CHECK(log.total >= counts[i].min && log.total <= counts[i].max);
        CHECK(log.calls >= 1);
        lua_settop(L, 0);
    }
    log.total = log.calls = 0;
    CHECK(luaL_dostring(L, "return ('hello world'):find('o w')") == LUA_OK);
    CHECK(log.calls == 1);
    lua_close(L);
}

int main(void)
{
    differential();
    catastrophic();
    plausible_counts();
    return test_report();
}
