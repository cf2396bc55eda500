/*
 * enigma_pgtext: PostgreSQL's text output formats, read without a server.
 *
 * The db binding asks libpq for results in text format and turns each value
 * into a typed one; the parts of that which are not about Lua live here: the
 * type OIDs it knows, timestamps normalised to UTC ISO-8601, bytea's hex
 * form, and the array literal syntax.
 */
#ifndef ENIGMA_PGTEXT_H
#define ENIGMA_PGTEXT_H

#include <stddef.h>

/* Type OIDs from PostgreSQL's pg_type.dat: stable across versions. */
enum {
    ENIGMA_OID_BOOL = 16,
    ENIGMA_OID_BYTEA = 17,
    ENIGMA_OID_CHAR = 18,
    ENIGMA_OID_NAME = 19,
    ENIGMA_OID_INT8 = 20,
    ENIGMA_OID_INT2 = 21,
    ENIGMA_OID_INT4 = 23,
    ENIGMA_OID_TEXT = 25,
    ENIGMA_OID_OID = 26,
    ENIGMA_OID_JSON = 114,
    ENIGMA_OID_FLOAT4 = 700,
    ENIGMA_OID_FLOAT8 = 701,
    ENIGMA_OID_BPCHAR = 1042,
    ENIGMA_OID_VARCHAR = 1043,
    ENIGMA_OID_DATE = 1082,
    ENIGMA_OID_TIMESTAMP = 1114,
    ENIGMA_OID_TIMESTAMPTZ = 1184,
    ENIGMA_OID_NUMERIC = 1700,
    ENIGMA_OID_UUID = 2950,
    ENIGMA_OID_JSONB = 3802
};

/* The element type of a built-in array type, or 0 when `oid` is not one. */
unsigned enigma_pgtext_array_elem(unsigned oid);

/*
 * Rewrites a timestamptz as PostgreSQL prints it in ISO DateStyle, in any
 * session TimeZone ("2024-11-30 18:00:00.5-08"), as UTC ISO-8601
 * ("2024-12-01T02:00:00.5Z"). With utc == 0 it reads a timestamp without time
 * zone and only puts the 'T' in ("2024-12-01T02:00:00"). "infinity" and
 * "-infinity" pass through. Returns 0, or -1 when `in` is not in that form
 * (BC dates, another DateStyle): the caller keeps the server's text.
 */
int enigma_pgtext_timestamp(const char *in, int utc, char *out, size_t size);

/*
 * Decodes bytea's hex output ("\x0a0b") into `out`, which must hold
 * (len - 2) / 2 bytes. Returns the byte count, or -1 when it is not hex form.
 */
long enigma_pgtext_bytea(const char *in, size_t len, unsigned char *out);

/*
 * Walks an array literal ("{1,2,NULL}", "{{a,b},{\"c d\",e}}", with or
 * without a "[0:1]=" dimension prefix). Calls `open` at each '{', `close` at
 * each '}', and `element` for each element with its unquoted, unescaped text
 * (NULL for an unquoted NULL). The text passed to `element` lives in a
 * scratch buffer that is reused: copy it. A callback returning non-zero stops
 * the walk. Returns 0, the callback's non-zero value, or -1 when the literal
 * is malformed.
 */
typedef struct enigma_pgtext_array_cb {
    int (*open)(void *ud);
    int (*close)(void *ud);
    int (*element)(void *ud, const char *text, size_t len);
} enigma_pgtext_array_cb;

int enigma_pgtext_array_walk(const char *in, const enigma_pgtext_array_cb *cb, void *ud);

#endif
