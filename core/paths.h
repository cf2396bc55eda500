/*
 * enigma_paths: where the program's own files are -- the schema's
 * migrations, the shipped scripts and examples, and the Lua half of the
 * enigma package.
 *
 * An installed enigma (cmake --install, prefix P) keeps them under
 *   P/share/enigma/{schema,scripts,examples}   and   P/share/lua/5.4/enigma/
 * and finds P from where its own code was loaded from: P/bin/enigma for the
 * program, P/lib/lua/5.4/enigma.so for the module. Those locations are
 * CMake cache variables (ENIGMA_INSTALL_*); one given as an absolute path is
 * used as it is (the rockspec does that for the data, which LuaRocks leaves
 * in its own directory), and a module in a Lua tree X/lib/lua/5.4 finds the
 * Lua half in X/share/lua/5.4. A build that is not installed finds them in
 * the source tree it was built from. Environment variables override each one.
 */
#ifndef ENIGMA_PATHS_H
#define ENIGMA_PATHS_H

typedef enum {
    ENIGMA_PATH_SCHEMA,   /* $ENIGMA_SCHEMA_DIR: the NNN_*.sql migrations */
    ENIGMA_PATH_SCRIPTS,  /* $ENIGMA_SCRIPTS_DIR: jobs/, agents/, reports/, demo/ */
    ENIGMA_PATH_EXAMPLES, /* $ENIGMA_EXAMPLES_DIR */
    ENIGMA_PATH_LUA       /* $ENIGMA_LUA_DIR: holds enigma/ (the .lua files) */
} enigma_path_kind;

/* The directory of `kind`: the environment variable when set and not
 * empty, else the installed location when this code is installed, else the
 * source tree's. Never NULL; the string is static (environment strings are
 * the environment's) and stays valid until the environment changes. The
 * directory is not checked for existence beyond choosing between installed
 * and source locations. */
const char *enigma_paths_get(enigma_path_kind kind);

/* 1 when the schema, scripts and examples are installed ones (found as
 * above, not in the source tree), else 0. The environment does not count. */
int enigma_paths_installed(void);

#endif
