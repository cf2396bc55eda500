/*
 * Lua patterns (reference manual §6.4.1) with a step meter: a backtracking
 * matcher that counts each item it tries and charges the count to the
 * sandbox, so string.find, match, gmatch and gsub stay inside a script's
 * instruction budget. Behaviour, return values and error messages follow
 * Lua 5.4's: the recursion points and the depth limit are the same, so even
 * "pattern too complex" is raised for the same patterns.
 */
#define _GNU_SOURCE /* memmem */
#include "sandbox_match.h"

#include <ctype.h>
#include <lauxlib.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#define ESC '%'
#define SPECIALS "^$*+?.([%-"   /* without one, find is a plain search */
#define MAX_CAPTURES 32         /* Lua's LUA_MAXCAPTURES */
#define MAX_DEPTH 200           /* Lua's MAXCCALLS: nested matcher calls */
#define CHARGE_EVERY 1000       /* steps between calls to the meter */

/* A capture's len while it is open, and for a position capture "()". */
#define CAP_OPEN (-1)
#define CAP_POSITION (-2)

/* Who is told about the work: the upvalue of every closure made here. */
typedef struct meter {
    enigma_match_charge charge;
    void *ud;
} meter;

typedef struct capture {
    const char *start;
    ptrdiff_t len;          /* or CAP_OPEN, CAP_POSITION */
} capture;

/* One match attempt's state; lives on the C stack, or in gmatch's userdata. */
typedef struct matcher {
    lua_State *L;
    const meter *meter;
    const char *subject, *subject_end;
    const char *pattern_end;
    int depth_left;
    int ncap;
    capture cap[MAX_CAPTURES];
    unsigned long steps;    /* done and not yet charged */
} matcher;

static void charge(matcher *m)
{
    unsigned long n = m->steps;

    m->steps = 0;
    if (m->meter->charge != NULL)
        m->meter->charge(m->L, m->meter->ud, n);
}

static inline void count(matcher *m, size_t n)
{
    m->steps += n;
    if (m->steps >= CHARGE_EVERY)
        charge(m);
}

/* Charges the work so far, then raises like luaL_error. */
static int match_error(matcher *m, const char *fmt, ...)
{
    va_list ap;

    charge(m);
    luaL_where(m->L, 1);
    va_start(ap, fmt);
    lua_pushvfstring(m->L, fmt, ap);
    va_end(ap);
    lua_concat(m->L, 2);
    return lua_error(m->L);
}

static void matcher_init(matcher *m, lua_State *L, const meter *mt, const char *s, size_t ls,
                         const char *p, size_t lp)
{
    m->L = L;
    m->meter = mt;
    m->subject = s;
    m->subject_end = s + ls;
    m->pattern_end = p + lp;
    m->steps = 0;
}

/* Before each attempt at a new subject position. */
static void matcher_reset(matcher *m)
{
    m->ncap = 0;
    m->depth_left = MAX_DEPTH;
}

/* ---- single-character classes ---- */

/* Does byte c belong to %cl? A letter that names no class stands for itself. */
static int class_has(int c, int cl)
{
    int in;

    switch (tolower(cl)) {
    case 'a':
        in = isalpha(c);
        break;
    case 'c':
        in = iscntrl(c);
        break;
    case 'd':
        in = isdigit(c);
        break;
    case 'g':
        in = isgraph(c);
        break;
    case 'l':
        in = islower(c);
        break;
    case 'p':
        in = ispunct(c);
        break;
    case 's':
        in = isspace(c);
        break;
    case 'u':
        in = isupper(c);
        break;
    case 'w':
        in = isalnum(c);
        break;
    case 'x':
        in = isxdigit(c);
        break;
    case 'z':
        in = c == 0;
        break;   /* deprecated, but 5.4 still has it */
    default:
        return cl == c;
    }
    return isupper(cl) ? !in : in != 0;
}

/* Does byte c belong to the set from `open` ('[') to `close` (its ']')? */
static int set_has(int c, const char *open, const char *close)
{
    const char *q = open + 1;
    int in = 1;

    if (*q == '^') {
        in = 0;
        q++;
    }
    for (; q < close; q++) {
        if (*q == ESC) {
            q++;
            if (class_has(c, (unsigned char)*q))
                return in;
        } else if (q + 2 < close && q[1] == '-') {
            if ((unsigned char)q[0] <= c && c <= (unsigned char)q[2])
                return in;
            q += 2;
        } else if ((unsigned char)*q == c) {
            return in;
        }
    }
    return !in;
}

/* Where the single-character class starting at p ends (its quantifier, if any). */
static const char *class_end(matcher *m, const char *p)
{
    const char *q;

    if (*p == ESC) {
        if (p + 1 >= m->pattern_end)
            match_error(m, "malformed pattern (ends with '%%')");
        return p + 2;
    }
    if (*p != '[')
        return p + 1;
    q = p + 1;
    if (q < m->pattern_end && *q == '^')
        q++;
    do {    /* the first member may be ']' itself */
        if (q >= m->pattern_end)
            match_error(m, "malformed pattern (missing ']')");
        if (*q++ == ESC && q < m->pattern_end)
            q++;
    } while (q >= m->pattern_end || *q != ']');
    return q + 1;
}

/* Does the class from p to ep match the subject byte at s? */
static inline int class_matches(const matcher *m, const char *s, const char *p, const char *ep)
{
    int c;

    if (s >= m->subject_end)
        return 0;
    c = (unsigned char)*s;
    switch (*p) {
    case '.':
        return 1;
    case ESC:
        return class_has(c, (unsigned char)p[1]);
    case '[':
        return set_has(c, p, ep - 1);
    default:
        return (unsigned char)*p == c;
    }
}

/* ---- the matcher ---- */

static const char *match(matcher *m, const char *s, const char *p);

/* Greedy: take as many as the class allows, then give back one at a time. */
static const char *expand_max(matcher *m, const char *s, const char *p, const char *ep)
{
    size_t n = 0;

    while (count(m, 1), class_matches(m, s + n, p, ep))
        n++;
    for (;;) {
        const char *e = match(m, s + n, ep + 1);

        if (e != NULL || n == 0)
            return e;
        n--;
    }
}

/* Lazy: try the rest first, taking one more of the class each time it fails. */
static const char *expand_min(matcher *m, const char *s, const char *p, const char *ep)
{
    for (;;) {
        const char *e = match(m, s, ep + 1);

        if (e != NULL)
            return e;
        count(m, 1);
        if (!class_matches(m, s, p, ep))
            return NULL;
        s++;
    }
}

static const char *open_capture(matcher *m, const char *s, const char *p, ptrdiff_t kind)
{
    const char *e;

    if (m->ncap >= MAX_CAPTURES)
        match_error(m, "too many captures");
    m->cap[m->ncap].start = s;
    m->cap[m->ncap].len = kind;
    m->ncap++;
    e = match(m, s, p);
    if (e == NULL)
        m->ncap--;
    return e;
}

static const char *close_capture(matcher *m, const char *s, const char *p)
{
    const char *e;
    int i = m->ncap - 1;

    while (i >= 0 && m->cap[i].len != CAP_OPEN)
        i--;
    if (i < 0) {
        match_error(m, "invalid pattern capture");
        return NULL;
    }
    m->cap[i].len = s - m->cap[i].start;
    e = match(m, s, p);
    if (e == NULL)
        m->cap[i].len = CAP_OPEN;
    return e;
}

/* %bxy at s: the end of a balanced x...y run, or NULL. */
static const char *balanced(matcher *m, const char *s, const char *p)
{
    int depth = 1;

    if (p + 1 >= m->pattern_end)
        match_error(m, "malformed pattern (missing arguments to '%%b')");
    if (s >= m->subject_end || *s != p[0])
        return NULL;
    while (++s < m->subject_end) {
        count(m, 1);
        if (*s == p[1]) {
            if (--depth == 0)
                return s + 1;
        } else if (*s == p[0]) {
            depth++;
        }
    }
    return NULL;
}

/* %1-%9 at s: past the repeated text, or NULL. */
static const char *backref(matcher *m, const char *s, int digit)
{
    int i = digit - '1';
    size_t len;

    if (i < 0 || i >= m->ncap || m->cap[i].len == CAP_OPEN) {
        match_error(m, "invalid capture index %%%d", i + 1);
        return NULL;
    }
    if (m->cap[i].len == CAP_POSITION)
        return NULL;
    len = (size_t)m->cap[i].len;
    count(m, len);
    if ((size_t)(m->subject_end - s) < len || memcmp(m->cap[i].start, s, len) != 0)
        return NULL;
    return s + len;
}

/*
 * Matches the pattern from p against the subject from s: the end of the
 * match, or NULL. Calls itself only where a later failure must come back
 * (?, *, +, -, captures), which is what the depth limit counts.
 */
static const char *match(matcher *m, const char *s, const char *p)
{
    if (m->depth_left-- == 0)
        match_error(m, "pattern too complex");
    for (;;) {
        const char *ep;

        count(m, 1);
        if (p == m->pattern_end)
            break;
        switch (*p) {
        case '(':
            if (p + 1 < m->pattern_end && p[1] == ')')
                s = open_capture(m, s, p + 2, CAP_POSITION);
            else
                s = open_capture(m, s, p + 1, CAP_OPEN);
            goto done;
        case ')':
            s = close_capture(m, s, p + 1);
            goto done;
        case '$':
            if (p + 1 == m->pattern_end) {
                if (s != m->subject_end)
                    s = NULL;
                goto done;
            }
            break;
        case ESC:
            if (p + 1 >= m->pattern_end)
                break;
            if (p[1] == 'b') {
                s = balanced(m, s, p + 2);
                if (s == NULL)
                    goto done;
                p += 4;
                continue;
            }
            if (p[1] == 'f') {
                int before, here;

                p += 2;
                if (p >= m->pattern_end || *p != '[')
                    match_error(m, "missing '[' after '%%f' in pattern");
                ep = class_end(m, p);
                before = s == m->subject ? 0 : (unsigned char)s[-1];
                here = s < m->subject_end ? (unsigned char)*s : 0;
                if (set_has(before, p, ep - 1) || !set_has(here, p, ep - 1)) {
                    s = NULL;
                    goto done;
                }
                p = ep;
                continue;
            }
            if (isdigit((unsigned char)p[1])) {
                s = backref(m, s, (unsigned char)p[1]);
                if (s == NULL)
                    goto done;
                p += 2;
                continue;
            }
            break;
        default:
            break;
        }
        /* a single-character class with an optional quantifier */
        ep = class_end(m, p);
        if (!class_matches(m, s, p, ep)) {
            if (ep < m->pattern_end && (*ep == '*' || *ep == '?' || *ep == '-')) {
                p = ep + 1;
                continue;
            }
            s = NULL;
            goto done;
        }
        switch (ep < m->pattern_end ? *ep : '\0') {
        case '?': {
            const char *e = match(m, s + 1, ep + 1);

            if (e != NULL) {
                s = e;
                goto done;
            }
            p = ep + 1;
            continue;
        }
        case '+':
            s = expand_max(m, s + 1, p, ep);
            goto done;
        case '*':
            s = expand_max(m, s, p, ep);
            goto done;
        case '-':
            s = expand_min(m, s, p, ep);
            goto done;
        default:
            s++;
            p = ep;
            continue;
        }
    }
done:
    m->depth_left++;
    return s;
}

/* ---- captures to Lua values ---- */

/* Pushes capture i; with no captures, i == 0 is the whole match s..e. */
static void push_capture(matcher *m, int i, const char *s, const char *e)
{
    if (i >= m->ncap) {
        if (i != 0)
            match_error(m, "invalid capture index %%%d", i + 1);
        lua_pushlstring(m->L, s, (size_t)(e - s));
    } else if (m->cap[i].len == CAP_OPEN) {
        match_error(m, "unfinished capture");
    } else if (m->cap[i].len == CAP_POSITION) {
        lua_pushinteger(m->L, (lua_Integer)(m->cap[i].start - m->subject) + 1);
    } else {
        lua_pushlstring(m->L, m->cap[i].start, (size_t)m->cap[i].len);
    }
}

/* Pushes every capture, or the whole match s..e when there are none and s is
 * not NULL; returns how many values it pushed. */
static int push_captures(matcher *m, const char *s, const char *e)
{
    int n = (m->ncap == 0 && s != NULL) ? 1 : m->ncap;
    int i;

    luaL_checkstack(m->L, n, "too many captures");
    for (i = 0; i < n; i++)
        push_capture(m, i, s, e);
    return n;
}

/* ---- the library functions ---- */

/* A 1-based, possibly negative position as a 0-based offset (> len: past the end). */
static size_t start_offset(lua_Integer pos, size_t len)
{
    if (pos > 0)
        return (size_t)pos - 1;
    if (pos == 0 || pos < -(lua_Integer)len)
        return 0;
    return len - (size_t)(-pos);
}

static int has_specials(const char *p, size_t lp)
{
    size_t i;

    for (i = 0; i < lp; i++)
        if (p[i] != '\0' && strchr(SPECIALS, p[i]) != NULL)
            return 1;
    return 0;
}

static int find_plain(lua_State *L, const meter *mt, const char *s, size_t ls, size_t init,
                      const char *p, size_t lp)
{
    const char *at = memmem(s + init, ls - init, p, lp);
    size_t scanned = (at != NULL ? (size_t)(at - s) + lp : ls) - init;

    if (mt->charge != NULL)   /* memmem is linear: the bytes it covered */
        mt->charge(L, mt->ud, (unsigned long)scanned + 1);
    if (at == NULL) {
        luaL_pushfail(L);
        return 1;
    }
    lua_pushinteger(L, (lua_Integer)(at - s) + 1);
    lua_pushinteger(L, (lua_Integer)(at - s) + (lua_Integer)lp);
    return 2;
}

static int find_or_match(lua_State *L, int find)
{
    const meter *mt = lua_touserdata(L, lua_upvalueindex(1));
    size_t ls, lp;
    const char *s = luaL_checklstring(L, 1, &ls);
    const char *p = luaL_checklstring(L, 2, &lp);
    size_t init = start_offset(luaL_optinteger(L, 3, 1), ls);
    const char *from;
    int anchored;
    matcher m;

    if (init > ls) {
        luaL_pushfail(L);
        return 1;
    }
    if (find && (lua_toboolean(L, 4) || !has_specials(p, lp)))
        return find_plain(L, mt, s, ls, init, p, lp);
    from = s + init;
    anchored = lp > 0 && *p == '^';
    if (anchored) {
        p++;
        lp--;
    }
    matcher_init(&m, L, mt, s, ls, p, lp);
    do {
        const char *e;

        matcher_reset(&m);
        e = match(&m, from, p);
        if (e != NULL) {
            charge(&m);
            if (!find)
                return push_captures(&m, from, e);
            lua_pushinteger(L, (lua_Integer)(from - s) + 1);
            lua_pushinteger(L, (lua_Integer)(e - s));
            return push_captures(&m, NULL, NULL) + 2;
        }
    } while (from++ < m.subject_end && !anchored);
    charge(&m);
    luaL_pushfail(L);
    return 1;
}

static int sm_find(lua_State *L)
{
    return find_or_match(L, 1);
}

static int sm_match(lua_State *L)
{
    return find_or_match(L, 0);
}

typedef struct gmatch_state {
    matcher m;
    const char *pattern;
    const char *next;       /* where the next search starts */
    const char *last_end;   /* end of the previous match; NULL before the first */
} gmatch_state;

/* Upvalues: subject, pattern (kept alive), meter, state. */
static int gmatch_step(lua_State *L)
{
    gmatch_state *g = lua_touserdata(L, lua_upvalueindex(4));
    const char *from;

    g->m.L = L;
    for (from = g->next; from <= g->m.subject_end; from++) {
        const char *e;

        matcher_reset(&g->m);
        e = match(&g->m, from, g->pattern);
        if (e != NULL && e != g->last_end) {
            g->next = g->last_end = e;
            charge(&g->m);
            return push_captures(&g->m, from, e);
        }
    }
    charge(&g->m);
    return 0;
}

static int sm_gmatch(lua_State *L)
{
    const meter *mt = lua_touserdata(L, lua_upvalueindex(1));
    size_t ls, lp;
    const char *s = luaL_checklstring(L, 1, &ls);
    const char *p = luaL_checklstring(L, 2, &lp);
    size_t init = start_offset(luaL_optinteger(L, 3, 1), ls);
    gmatch_state *g;

    lua_settop(L, 2);
    lua_pushvalue(L, lua_upvalueindex(1));
    g = lua_newuserdatauv(L, sizeof *g, 0);
    if (init > ls)
        init = ls + 1;
    matcher_init(&g->m, L, mt, s, ls, p, lp);
    g->pattern = p;
    g->next = s + init;
    g->last_end = NULL;
    lua_pushcclosure(L, gmatch_step, 4);
    return 1;
}

/* Appends the string replacement (argument 3) for the match s..e. */
static void add_template(matcher *m, luaL_Buffer *b, const char *s, const char *e)
{
    size_t len;
    const char *t = lua_tolstring(m->L, 3, &len);
    const char *end = t + len;
    const char *pct;

    count(m, len);
    while ((pct = memchr(t, ESC, (size_t)(end - t))) != NULL) {
        int c = pct + 1 < end ? (unsigned char)pct[1] : '\0';

        luaL_addlstring(b, t, (size_t)(pct - t));
        if (c == ESC) {
            luaL_addchar(b, ESC);
        } else if (c == '0') {
            luaL_addlstring(b, s, (size_t)(e - s));
        } else if (isdigit(c)) {
            int i = c - '1';

            if (i < m->ncap && m->cap[i].len >= 0) {
                luaL_addlstring(b, m->cap[i].start, (size_t)m->cap[i].len);
            } else {   /* the whole match, a position, or an error */
                push_capture(m, i, s, e);
                luaL_addvalue(b);
            }
        } else {
            match_error(m, "invalid use of '%c' in replacement string", ESC);
        }
        t = pct + 2;
    }
    luaL_addlstring(b, t, (size_t)(end - t));
}

/* Appends the replacement for the match s..e; returns whether it changed the text. */
static int add_replacement(matcher *m, luaL_Buffer *b, const char *s, const char *e, int type)
{
    lua_State *L = m->L;

    if (type == LUA_TFUNCTION) {
        int n;

        charge(m);   /* the function's own work is the hook's to count */
        lua_pushvalue(L, 3);
        n = push_captures(m, s, e);
        lua_call(L, n, 1);
    } else if (type == LUA_TTABLE) {
        push_capture(m, 0, s, e);
        lua_gettable(L, 3);
    } else {
        add_template(m, b, s, e);
        return 1;
    }
    if (!lua_toboolean(L, -1)) {
        lua_pop(L, 1);
        luaL_addlstring(b, s, (size_t)(e - s));
        return 0;
    }
    if (!lua_isstring(L, -1))
        return match_error(m, "invalid replacement value (a %s)", luaL_typename(L, -1));
    luaL_addvalue(b);
    return 1;
}

static int sm_gsub(lua_State *L)
{
    const meter *mt = lua_touserdata(L, lua_upvalueindex(1));
    size_t ls, lp;
    const char *src = luaL_checklstring(L, 1, &ls);
    const char *p = luaL_checklstring(L, 2, &lp);
    int type = lua_type(L, 3);
    lua_Integer max_n = luaL_optinteger(L, 4, (lua_Integer)ls + 1);
    const char *last_end = NULL;
    lua_Integer n = 0;
    int anchored, changed = 0;
    luaL_Buffer b;
    matcher m;

    luaL_argexpected(L,
                     type == LUA_TNUMBER || type == LUA_TSTRING || type == LUA_TFUNCTION ||
                         type == LUA_TTABLE,
                     3, "string/function/table");
    luaL_buffinit(L, &b);
    anchored = lp > 0 && *p == '^';
    if (anchored) {
        p++;
        lp--;
    }
    matcher_init(&m, L, mt, src, ls, p, lp);
    while (n < max_n) {
        const char *e;

        matcher_reset(&m);
        e = match(&m, src, p);
        if (e != NULL && e != last_end) {
            n++;
            changed |= add_replacement(&m, &b, src, e, type);
            src = last_end = e;
        } else if (src < m.subject_end) {
            luaL_addchar(&b, *src++);
        } else {
            break;
        }
        if (anchored)
            break;
    }
    charge(&m);
    if (!changed) {
        lua_pushvalue(L, 1);
    } else {
        luaL_addlstring(&b, src, (size_t)(m.subject_end - src));
        luaL_pushresult(&b);
    }
    lua_pushinteger(L, n);
    return 2;
}

void enigma_sandbox_patterns(lua_State *L, int idx, enigma_match_charge charge_fn, void *ud)
{
    static const luaL_Reg fns[] = {
        {"find", sm_find}, {"match", sm_match}, {"gmatch", sm_gmatch},
        {"gsub", sm_gsub}, {NULL, NULL},
    };
    meter *mt;

    lua_pushvalue(L, idx);
    mt = lua_newuserdatauv(L, sizeof *mt, 0);
    mt->charge = charge_fn;
    mt->ud = ud;
    luaL_setfuncs(L, fns, 1);   /* each closure shares the meter; pops it */
    lua_pop(L, 1);
}
