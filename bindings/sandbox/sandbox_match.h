/*
 * Lua 5.4's string.find, match, gmatch and gsub with a metered matcher, for
 * sandboxed scripts. The stock functions are pure C, so a backtracking
 * pattern ("a*a*a*...b") runs for hours without the count hook ever firing;
 * these do the same work but report it, so the sandbox can stop them.
 */
#ifndef ENIGMA_SANDBOX_MATCH_H
#define ENIGMA_SANDBOX_MATCH_H

#include <lua.h>

/*
 * Charged with the matcher's work: `steps` more steps were done since the
 * last call. It may raise a Lua error (lua_error/luaL_error) to stop the
 * match; the matcher holds no malloc'd memory at that point. Returning
 * normally continues. It must leave the Lua stack as it found it (gsub may
 * be building its result on the stack) and must not yield.
 */
typedef void (*enigma_match_charge)(lua_State *L, void *ud, unsigned long steps);

/*
 * Replaces find, match, gmatch and gsub in the table at index `idx` (a string
 * library table; string methods reach it through the string metatable's
 * __index) with step-counted versions that behave as Lua 5.4's do and call
 * `charge(L, ud, steps)` about every 1000 steps and once at the end of each
 * find, match and gsub call and each step of a gmatch iterator (steps may be
 * 0 then). A step is one attempt to match a pattern item at a subject
 * position, one subject byte scanned by %b, a back-reference or a plain find,
 * or one byte of a gsub replacement string.
 *
 * The closures keep charge and ud (in a small userdata upvalue); `ud` is the
 * caller's and must outlive them. `charge` may be NULL: nothing is reported.
 * Raises only on memory errors.
 */
void enigma_sandbox_patterns(lua_State *L, int idx, enigma_match_charge charge, void *ud);

#endif
