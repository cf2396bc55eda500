#include "core/db.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/pgcluster.h"

#define STMT_BUCKETS (2 * ENIGMA_DB_STMT_CACHE_MAX)
#define COPY_BUFFER_SIZE (256 * 1024)

struct enigma_db_stmt {
    char *sql;
    uint64_t hash;
    char name[32];
    int nparams;
    Oid *paramtypes;
    enigma_db_stmt *bucket_next;           /* hash chain */
    enigma_db_stmt *newer, *older;         /* LRU list, newest first */
};

struct enigma_db {
    PGconn *conn;
    enigma_db_stmt *buckets[STMT_BUCKETS];
    enigma_db_stmt *newest, *oldest;
    int nstmts;
    unsigned long long next_stmt_id;
    char (*stale)[32];                     /* names evicted, not yet deallocated */
    int nstale;
    char *copy_buf;                        /* non-NULL while a COPY is open */
    size_t copy_len;
    int step;                              /* the command in flight (async API) */
    enigma_db_stmt *preparing;             /* made by STEP_PREPARE/DESCRIBE, not yet cached */
    PGresult *last;                        /* the step's latest result */
};

/* What an asynchronous command is waiting for, in the order they are chained. */
enum { STEP_IDLE, STEP_CACHED, STEP_DEALLOCATE, STEP_PREPARE, STEP_DESCRIBE, STEP_COMMAND };

static uint64_t fnv1a(const char *s)
{
    uint64_t h = 14695981039346656037ULL;

    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return h;
}

static char *trim_newline(char *s)
{
    size_t n = strlen(s);

    while (n > 0 && (s[n - 1] == '\n' || s[n - 1] == ' '))
        s[--n] = '\0';
    return s;
}

int enigma_db_error_from_result(enigma_db *db, const PGresult *res, enigma_error *err)
{
    const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    const char *primary, *detail, *hint, *position;
    char connmsg[ENIGMA_ERROR_MESSAGE_MAX];

    if (state == NULL) {
        snprintf(connmsg, sizeof connmsg, "%s", PQerrorMessage(db->conn));
        trim_newline(connmsg);
        if (PQstatus(db->conn) == CONNECTION_BAD)
            return enigma_error_set(err, "08006",
                                    "lost the connection to the database: %s; "
                                    "open a new connection",
                                    connmsg);
        return enigma_error_set(err, "08000", "%s", connmsg[0] ? connmsg : "database error");
    }
    primary = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
    detail = PQresultErrorField(res, PG_DIAG_MESSAGE_DETAIL);
    hint = PQresultErrorField(res, PG_DIAG_MESSAGE_HINT);
    position = PQresultErrorField(res, PG_DIAG_STATEMENT_POSITION);
    enigma_error_set(err, state, "%s", primary ? primary : "database error");
    if (detail)
        enigma_error_append(err, "\nDETAIL: %s", detail);
    if (hint)
        enigma_error_append(err, "\nHINT: %s", hint);
    if (err != NULL) {
        snprintf(err->detail, sizeof err->detail, "%s", detail ? detail : "");
        snprintf(err->hint, sizeof err->hint, "%s", hint ? hint : "");
        err->position = position ? atoi(position) : 0;
    }
    return -1;
}

/* --- connecting --------------------------------------------------------------- */

/* The core never prints: server notices are dropped unless a handler is set. */
static void drop_notice(void *arg, const char *message)
{
    (void)arg;
    (void)message;
}

/* The default connection string; `create` says whether the embedded
 * cluster may be created when it does not exist (it is started either way). */
static int default_conninfo(char *buf, size_t size, enigma_db_login login, int create,
                            enigma_error *err)
{
    const char *url = getenv("ENIGMA_DATABASE_URL");
    enigma_pgcluster cluster;
    enigma_pgcluster_state state;

    if (url == NULL || *url == '\0')
        url = getenv("DATABASE_URL");
    if (url != NULL && *url != '\0') {
        if (strlen(url) >= size)
            return enigma_error_set(err, "EURL", "the database URL is too long");
        strcpy(buf, url);
        return 0;
    }
    if (getenv("PGHOST") || getenv("PGDATABASE") || getenv("PGSERVICE")) {
        buf[0] = '\0';      /* libpq reads its PG* variables itself */
        return 0;
    }
    if (enigma_pgcluster_open(&cluster, NULL, err) < 0)
        return -1;
    if (!create) {
        if (enigma_pgcluster_status(&cluster, &state, err) < 0)
            return -1;
        if (state == ENIGMA_PGCLUSTER_UNINITIALIZED)
            return enigma_error_set(err, "ENOCLUSTER",
                                    "no database cluster at %s (enigma db start creates one)",
                                    cluster.home);
    }
    if (enigma_pgcluster_start(&cluster, err) < 0)
        return -1;
    if ((login == ENIGMA_DB_ADMIN
             ? enigma_pgcluster_url(&cluster, NULL, buf, size)
             : enigma_pgcluster_url_as(&cluster, NULL, ENIGMA_DB_RUNTIME_ROLE, buf, size)) < 0)
        return enigma_error_set(err, "EURL", "the embedded cluster's path is too long");
    return 0;
}

int enigma_db_default_conninfo(char *buf, size_t size, enigma_db_login login, enigma_error *err)
{
    return default_conninfo(buf, size, login, 1, err);
}

static enigma_db *connect_url(const char *url, enigma_error *err);
static enigma_db *connect_params(const char *const *keys, const char *const *vals, int expand,
                                 enigma_error *err);

enigma_db *enigma_db_connect(const char *url, enigma_error *err)
{
    if (url == NULL)
        return enigma_db_connect_default(ENIGMA_DB_RUNTIME, 1, err);
    return connect_url(url, err);
}

enigma_db *enigma_db_connect_default(enigma_db_login login, int create, enigma_error *err)
{
    char fallback[4096];
    enigma_db *db;

    if (default_conninfo(fallback, sizeof fallback, login, create, err) < 0)
        return NULL;
    db = connect_url(fallback, err);
    /* A cluster not yet migrated has no runtime login: say what makes it. */
    if (db == NULL && err != NULL && login == ENIGMA_DB_RUNTIME &&
        strstr(err->message, "role \"" ENIGMA_DB_RUNTIME_ROLE "\" does not exist") != NULL)
        enigma_error_append(err, " (enigma migrate creates it)");
    return db;
}

static enigma_db *connect_url(const char *url, enigma_error *err)
{
    const char *const keys[] = {"dbname", NULL}, *const vals[] = {url, NULL};
    char *parse_error = NULL;
    PQconninfoOption *opts;

    opts = PQconninfoParse(url, &parse_error);
    if (opts == NULL) {
        enigma_error_set(err, "EURL", "invalid database URL: %s",
                         parse_error ? trim_newline(parse_error) : "out of memory");
        PQfreemem(parse_error);
        return NULL;
    }
    PQconninfoFree(opts);
    return connect_params(keys, vals, 1, err);
}

/* PQconnectdbParams(keys, vals, expand), in UTF-8, notices dropped; NULL with err. */
static enigma_db *connect_params(const char *const *keys, const char *const *vals, int expand,
                                 enigma_error *err)
{
    enigma_db *db = calloc(1, sizeof *db);

    if (db == NULL) {
        enigma_error_set(err, "ENOMEM", "out of memory");
        return NULL;
    }
    db->conn = PQconnectdbParams(keys, vals, expand);
    if (PQstatus(db->conn) != CONNECTION_OK) {
        char msg[ENIGMA_ERROR_MESSAGE_MAX];

        snprintf(msg, sizeof msg, "%s", PQerrorMessage(db->conn));
        enigma_error_set(err, "08001", "could not connect to the database: %s", trim_newline(msg));
        enigma_db_close(db);
        return NULL;
    }
    PQsetClientEncoding(db->conn, "UTF8");
    PQsetNoticeProcessor(db->conn, drop_notice, NULL);
    return db;
}

/* What the gateway's login may do beyond becoming anon or authenticated: NULL when nothing.
 * pg_has_role(MEMBER) follows memberships and is true of every role for a superuser. */
static const char gateway_check_sql[] =
    "select r.rolname, concat_ws(', ', "
    "  case when r.rolsuper then 'is a superuser' end, "
    "  case when r.rolbypassrls then 'bypasses row level security' end, "
    "  case when r.rolcreaterole or r.rolcreatedb then 'creates roles or databases' end, "
    "  'may become ' || (select string_agg(m.rolname, ', ' order by m.rolname) "
    "                     from pg_catalog.pg_roles m "
    "                    where m.oid <> r.oid and m.rolname not in ('anon', 'authenticated') "
    "                      and pg_catalog.pg_has_role(r.oid, m.oid, 'MEMBER'))) as excess "
    "from pg_catalog.pg_roles r where r.rolname = session_user";

/* Refuses a gateway login that can do more than become anon or authenticated. */
static int check_gateway(enigma_db *db, enigma_error *err)
{
    PGresult *res = PQexecParams(db->conn, gateway_check_sql, 0, NULL, NULL, NULL, NULL, 0);
    int rc = 0;

    if (PQresultStatus(res) != PGRES_TUPLES_OK)
        rc = enigma_db_error_from_result(db, res, err);
    else if (PQntuples(res) != 1 || PQgetvalue(res, 0, 1)[0] != '\0')
        rc = enigma_error_set(err, "EGATEWAY",
                              "the as_user login %s %s; it must be able to become anon and "
                              "authenticated and nothing else (README, \"Database roles\")",
                              PQntuples(res) == 1 ? PQgetvalue(res, 0, 0) : "?",
                              PQntuples(res) == 1 ? PQgetvalue(res, 0, 1) : "is not a role");
    PQclear(res);
    return rc;
}

enigma_db *enigma_db_connect_gateway(enigma_db *db, enigma_error *err)
{
    const char *url = getenv("ENIGMA_GATEWAY_URL");
    const char *keys[64], *vals[64];
    PQconninfoOption *opts = NULL, *o;
    enigma_db *gw;
    int n = 0;

    if (url != NULL && *url != '\0') {
        keys[n] = "dbname", vals[n++] = url;
    } else {
        opts = PQconninfo(db->conn);
        if (opts == NULL) {
            enigma_error_set(err, "ENOMEM", "out of memory");
            return NULL;
        }
        for (o = opts; o->keyword != NULL && n < 60; o++)
            if (o->val != NULL && o->val[0] != '\0' && strcmp(o->keyword, "user") != 0 &&
                strcmp(o->keyword, "password") != 0 && strcmp(o->keyword, "client_encoding") != 0)
                keys[n] = o->keyword, vals[n++] = o->val;
        keys[n] = "user", vals[n++] = ENIGMA_DB_GATEWAY_ROLE;
    }
    /* A startup parameter, so the RESET ALL before each as_user keeps it. */
    keys[n] = "client_encoding", vals[n++] = "UTF8";
    keys[n] = NULL, vals[n] = NULL;
    gw = connect_params(keys, vals, opts == NULL, err);
    PQconninfoFree(opts);
    if (gw == NULL) {
        if (err != NULL)
            enigma_error_append(err, " (as_user's login; enigma migrate creates %s)",
                                ENIGMA_DB_GATEWAY_ROLE);
        return NULL;
    }
    if (check_gateway(gw, err) < 0) {
        enigma_db_close(gw);
        return NULL;
    }
    return gw;
}

static void stmt_free(enigma_db_stmt *s)
{
    free(s->sql);
    free(s->paramtypes);
    free(s);
}

void enigma_db_close(enigma_db *db)
{
    enigma_db_stmt *s, *next;

    if (db == NULL)
        return;
    for (s = db->newest; s != NULL; s = next) {
        next = s->older;
        stmt_free(s);
    }
    if (db->preparing != NULL)
        stmt_free(db->preparing);
    PQclear(db->last);
    free(db->stale);
    free(db->copy_buf);
    PQfinish(db->conn);
    free(db);
}

PGconn *enigma_db_pgconn(enigma_db *db)
{
    return db->conn;
}

/* --- the prepared-statement cache ---------------------------------------------- */

static void lru_unlink(enigma_db *db, enigma_db_stmt *s)
{
    if (s->newer)
        s->newer->older = s->older;
    else
        db->newest = s->older;
    if (s->older)
        s->older->newer = s->newer;
    else
        db->oldest = s->newer;
    s->newer = s->older = NULL;
}

static void lru_push(enigma_db *db, enigma_db_stmt *s)
{
    s->older = db->newest;
    s->newer = NULL;
    if (db->newest)
        db->newest->newer = s;
    else
        db->oldest = s;
    db->newest = s;
}

/* Removes `s` from the cache; its server-side statement is deallocated the
 * next time the connection can run a command. */
static void cache_drop(enigma_db *db, enigma_db_stmt *s)
{
    enigma_db_stmt **p = &db->buckets[s->hash % STMT_BUCKETS];
    char (*grown)[32];

    while (*p != s)
        p = &(*p)->bucket_next;
    *p = s->bucket_next;
    lru_unlink(db, s);
    db->nstmts--;
    grown = realloc(db->stale, (size_t)(db->nstale + 1) * sizeof *db->stale);
    if (grown != NULL) {      /* on OOM the server keeps it until disconnect */
        db->stale = grown;
        memcpy(db->stale[db->nstale++], s->name, sizeof s->name);
    }
    stmt_free(s);
}

void enigma_db_forget_statements(enigma_db *db)
{
    enigma_db_stmt *s = db->oldest, *next;

    while (s != NULL) {
        next = s->newer;
        stmt_free(s);
        s = next;
    }
    memset(db->buckets, 0, sizeof db->buckets);
    db->oldest = db->newest = NULL;
    db->nstmts = 0;
    db->nstale = 0;
}

static void deallocate_stale(enigma_db *db)
{
    PGTransactionStatusType ts = PQtransactionStatus(db->conn);
    char sql[64];

    if (ts != PQTRANS_IDLE && ts != PQTRANS_INTRANS)
        return;
    while (db->nstale > 0) {
        /* The name is ours (enigma_<n>), never user input. */
        snprintf(sql, sizeof sql, "DEALLOCATE %s", db->stale[--db->nstale]);
        PQclear(PQexec(db->conn, sql));
    }
}

static enigma_db_stmt *cache_find(enigma_db *db, const char *sql, uint64_t hash)
{
    enigma_db_stmt *s;

    for (s = db->buckets[hash % STMT_BUCKETS]; s != NULL; s = s->bucket_next)
        if (s->hash == hash && strcmp(s->sql, sql) == 0)
            return s;
    return NULL;
}

/* A new statement for `sql`, named but not yet prepared nor cached; NULL on OOM. */
static enigma_db_stmt *stmt_new(enigma_db *db, const char *sql, uint64_t hash, enigma_error *err)
{
    enigma_db_stmt *s = calloc(1, sizeof *s);

    if (s == NULL || (s->sql = strdup(sql)) == NULL) {
        free(s);
        enigma_error_set(err, "ENOMEM", "out of memory");
        return NULL;
    }
    s->hash = hash;
    snprintf(s->name, sizeof s->name, "enigma_%llu", ++db->next_stmt_id);
    return s;
}

/* Copies the parameter types from a DescribePrepared result. 0, or -1 on OOM. */
static int stmt_describe(enigma_db_stmt *s, const PGresult *res, enigma_error *err)
{
    int i;

    s->nparams = PQnparams(res);
    if (s->nparams > 0) {
        s->paramtypes = malloc((size_t)s->nparams * sizeof *s->paramtypes);
        if (s->paramtypes == NULL)
            return enigma_error_set(err, "ENOMEM", "out of memory");
        for (i = 0; i < s->nparams; i++)
            s->paramtypes[i] = PQparamtype(res, i);
    }
    return 0;
}

static void cache_insert(enigma_db *db, enigma_db_stmt *s)
{
    s->bucket_next = db->buckets[s->hash % STMT_BUCKETS];
    db->buckets[s->hash % STMT_BUCKETS] = s;
    lru_push(db, s);
    db->nstmts++;
}

/* The cached statement for `sql`, made the most recently used; NULL on a miss. */
static enigma_db_stmt *cache_lookup(enigma_db *db, const char *sql)
{
    enigma_db_stmt *s;

    /* A loop running one statement, and execute() after prepare(), hit this. */
    if (db->newest != NULL && strcmp(db->newest->sql, sql) == 0)
        return db->newest;
    s = cache_find(db, sql, fnv1a(sql));
    if (s != NULL && db->newest != s) {
        lru_unlink(db, s);
        lru_push(db, s);
    }
    return s;
}

static int refuse_if_busy(const enigma_db *db, enigma_error *err)
{
    if (db->step != STEP_IDLE)
        return enigma_error_set(err, "EBUSY", "the connection is busy with another query");
    if (db->copy_buf != NULL)
        return enigma_error_set(err, "ECOPY",
                                "a COPY is in progress on this connection; finish it first");
    return 0;
}

const enigma_db_stmt *enigma_db_prepare(enigma_db *db, const char *sql, enigma_error *err)
{
    enigma_db_stmt *s;
    PGresult *res;

    s = cache_lookup(db, sql);
    if (s != NULL)
        return s;
    if (refuse_if_busy(db, err) < 0)
        return NULL;
    if (db->nstmts >= ENIGMA_DB_STMT_CACHE_MAX)
        cache_drop(db, db->oldest);
    deallocate_stale(db);

    s = stmt_new(db, sql, fnv1a(sql), err);
    if (s == NULL)
        return NULL;
    res = PQprepare(db->conn, s->name, sql, 0, NULL);
    if (PQresultStatus(res) != PGRES_COMMAND_OK)
        goto fail;
    PQclear(res);
    res = PQdescribePrepared(db->conn, s->name);
    if (PQresultStatus(res) != PGRES_COMMAND_OK)
        goto fail;
    if (stmt_describe(s, res, err) < 0) {
        PQclear(res);
        stmt_free(s);
        return NULL;
    }
    PQclear(res);
    cache_insert(db, s);
    return s;

fail:
    enigma_db_error_from_result(db, res, err);
    PQclear(res);
    stmt_free(s);
    return NULL;
}

int enigma_db_stmt_nparams(const enigma_db_stmt *stmt)
{
    return stmt->nparams;
}

Oid enigma_db_stmt_paramtype(const enigma_db_stmt *stmt, int i)
{
    return i >= 0 && i < stmt->nparams ? stmt->paramtypes[i] : 0;
}

/* --- executing ------------------------------------------------------------------ */

/* A COPY started by a plain query cannot go on: end it so the connection stays usable. */
static void refuse_copy(enigma_db *db, PGresult *res, enigma_error *err)
{
    PGresult *r;
    char *row;

    if (PQresultStatus(res) == PGRES_COPY_IN)
        PQputCopyEnd(db->conn, "COPY FROM STDIN needs the copy API");
    else if (PQresultStatus(res) == PGRES_COPY_OUT) /* PQgetResult would repeat COPY_OUT forever */
        while (PQgetCopyData(db->conn, &row, 0) > 0)
            PQfreemem(row);
    while ((r = PQgetResult(db->conn)) != NULL)
        PQclear(r);
    enigma_error_set(err, "ECOPY",
                     "COPY ... FROM STDIN / TO STDOUT cannot run as a query; "
                     "use the copy API (db:copy) instead");
}

static int result_ok(enigma_db *db, PGresult *res, enigma_error *err)
{
    switch (PQresultStatus(res)) {
    case PGRES_TUPLES_OK:
    case PGRES_COMMAND_OK:
    case PGRES_EMPTY_QUERY:
        return 0;
    case PGRES_COPY_IN:
    case PGRES_COPY_OUT:
        refuse_copy(db, res, err);
        return -1;
    default:
        return enigma_db_error_from_result(db, res, err);
    }
}

/* Errors after which a fresh prepare and one retry are safe and right. */
static int is_stale_statement(enigma_db *db, const enigma_error *e)
{
    if (PQtransactionStatus(db->conn) != PQTRANS_IDLE)
        return 0;
    return strcmp(e->code, "26000") == 0 || /* prepared statement does not exist */
           (strcmp(e->code, "0A000") == 0 &&
            strstr(e->message, "cached plan must not change result type") != NULL);
}

PGresult *enigma_db_execute(enigma_db *db, const char *sql, int nparams, const char *const *values,
                            const int *lengths, enigma_error *err)
{
    const enigma_db_stmt *stmt;
    PGresult *res;
    int attempt;

    if (db->step != STEP_IDLE) {
        enigma_error_set(err, "EBUSY", "the connection is busy with another query");
        return NULL;
    }
    for (attempt = 0; attempt < 2; attempt++) {
        stmt = enigma_db_prepare(db, sql, err);
        if (stmt == NULL)
            return NULL;
        if (nparams != stmt->nparams) {
            enigma_error_set(err, "EPARAMS", "the statement takes %d parameter%s but %d %s given",
                             stmt->nparams, stmt->nparams == 1 ? "" : "s", nparams,
                             nparams == 1 ? "was" : "were");
            return NULL;
        }
        res = PQexecPrepared(db->conn, stmt->name, nparams, values, lengths, NULL, 0);
        if (result_ok(db, res, err) == 0)
            return res;
        PQclear(res);
        if (attempt > 0 || !is_stale_statement(db, err))
            return NULL;
        cache_drop(db, (enigma_db_stmt *)stmt);
    }
    return NULL;
}

PGresult *enigma_db_exec_simple(enigma_db *db, const char *sql, enigma_error *err)
{
    PGresult *res;

    if (refuse_if_busy(db, err) < 0)
        return NULL;
    res = PQexec(db->conn, sql);
    if (result_ok(db, res, err) == 0)
        return res;
    PQclear(res);
    return NULL;
}

/* --- without blocking ---------------------------------------------------------------- */

int enigma_db_socket(enigma_db *db)
{
    return PQsocket(db->conn);
}

int enigma_db_set_async(enigma_db *db, int on, enigma_error *err)
{
    if (PQsetnonblocking(db->conn, on ? 1 : 0) != 0)
        return enigma_db_error_from_result(db, NULL, err);
    return 0;
}

int enigma_db_busy(const enigma_db *db)
{
    return db->step != STEP_IDLE;
}

const enigma_db_stmt *enigma_db_cached(enigma_db *db, const char *sql)
{
    return cache_lookup(db, sql);
}

/* Forgets the command in flight and what it was making. */
static void step_reset(enigma_db *db)
{
    PQclear(db->last);
    db->last = NULL;
    if (db->preparing != NULL)
        stmt_free(db->preparing);
    db->preparing = NULL;
    db->step = STEP_IDLE;
}

/* Ends the command in flight as failed, `res` (may be NULL) saying why. */
static int step_fail(enigma_db *db, const PGresult *res, enigma_error *err)
{
    enigma_db_error_from_result(db, res, err);
    step_reset(db);
    return -1;
}

static int send_prepare_step(enigma_db *db, enigma_error *err)
{
    if (!PQsendPrepare(db->conn, db->preparing->name, db->preparing->sql, 0, NULL))
        return step_fail(db, NULL, err);
    db->step = STEP_PREPARE;
    return 0;
}

/* Deallocates every evicted statement in one simple query: the names are
 * ours (enigma_<n>), never user input. 1 when sent, 0 when there is nothing
 * to do (or no transaction state that allows it), -1 on failure. */
static int send_deallocate(enigma_db *db, enigma_error *err)
{
    PGTransactionStatusType ts = PQtransactionStatus(db->conn);
    size_t size = (size_t)db->nstale * (sizeof "DEALLOCATE ;" + sizeof db->stale[0]) + 1, len = 0;
    char *sql;
    int sent;

    if (db->nstale == 0 || (ts != PQTRANS_IDLE && ts != PQTRANS_INTRANS))
        return 0;
    sql = malloc(size);
    if (sql == NULL)
        return 0; /* the server keeps them a while longer */
    while (db->nstale > 0)
        len += (size_t)snprintf(sql + len, size - len, "DEALLOCATE %s;", db->stale[--db->nstale]);
    sent = PQsendQuery(db->conn, sql);
    free(sql);
    if (!sent)
        return step_fail(db, NULL, err);
    db->step = STEP_DEALLOCATE;
    return 1;
}

int enigma_db_send_prepare(enigma_db *db, const char *sql, enigma_error *err)
{
    int sent;

    if (refuse_if_busy(db, err) < 0)
        return -1;
    if (cache_lookup(db, sql) != NULL) {
        db->step = STEP_CACHED; /* nothing to send: progress() reports done at once */
        return 0;
    }
    if (db->nstmts >= ENIGMA_DB_STMT_CACHE_MAX)
        cache_drop(db, db->oldest);
    db->preparing = stmt_new(db, sql, fnv1a(sql), err);
    if (db->preparing == NULL)
        return -1;
    sent = send_deallocate(db, err);
    if (sent != 0)
        return sent < 0 ? -1 : 0;
    return send_prepare_step(db, err);
}

int enigma_db_send_execute(enigma_db *db, const enigma_db_stmt *stmt, int nparams,
                           const char *const *values, const int *lengths, enigma_error *err)
{
    if (refuse_if_busy(db, err) < 0)
        return -1;
    if (nparams != stmt->nparams)
        return enigma_error_set(err, "EPARAMS",
                                "the statement takes %d parameter%s but %d %s given", stmt->nparams,
                                stmt->nparams == 1 ? "" : "s", nparams,
                                nparams == 1 ? "was" : "were");
    if (!PQsendQueryPrepared(db->conn, stmt->name, nparams, values, lengths, NULL, 0))
        return step_fail(db, NULL, err);
    db->step = STEP_COMMAND;
    return 0;
}

int enigma_db_send_simple(enigma_db *db, const char *sql, enigma_error *err)
{
    if (refuse_if_busy(db, err) < 0)
        return -1;
    if (!PQsendQuery(db->conn, sql))
        return step_fail(db, NULL, err);
    db->step = STEP_COMMAND;
    return 0;
}

/* The step in flight has all its results: 1 when the next step was sent,
 * 0 when the command is done (*res for STEP_COMMAND), -1 on failure. */
static int step_done(enigma_db *db, PGresult **res, enigma_error *err)
{
    PGresult *last = db->last;

    db->last = NULL;
    switch (db->step) {
    case STEP_DEALLOCATE:
        PQclear(last);
        return send_prepare_step(db, err) < 0 ? -1 : 1;
    case STEP_PREPARE:
        if (PQresultStatus(last) != PGRES_COMMAND_OK) {
            step_fail(db, last, err);
            PQclear(last);
            return -1;
        }
        PQclear(last);
        if (!PQsendDescribePrepared(db->conn, db->preparing->name))
            return step_fail(db, NULL, err);
        db->step = STEP_DESCRIBE;
        return 1;
    case STEP_CACHED:
        db->step = STEP_IDLE;
        return 0;
    case STEP_DESCRIBE:
        if (PQresultStatus(last) != PGRES_COMMAND_OK) {
            step_fail(db, last, err);
            PQclear(last);
            return -1;
        }
        if (stmt_describe(db->preparing, last, err) < 0) {
            PQclear(last);
            step_reset(db);
            return -1;
        }
        PQclear(last);
        cache_insert(db, db->preparing);
        db->preparing = NULL;
        db->step = STEP_IDLE;
        return 0;
    default:
        db->step = STEP_IDLE;
        if (last == NULL)
            return enigma_db_error_from_result(db, NULL, err);
        if (result_ok(db, last, err) < 0) {
            PQclear(last);
            return -1;
        }
        *res = last;
        return 0;
    }
}

int enigma_db_progress(enigma_db *db, PGresult **res, enigma_error *err)
{
    PGresult *r;
    int flushed, next;

    *res = NULL;
    if (db->step == STEP_IDLE)
        return enigma_error_set(err, "EIDLE", "no command is in flight on this connection");
    for (;;) {
        if (db->step == STEP_CACHED)
            return step_done(db, res, err);
        flushed = PQflush(db->conn);
        if (flushed < 0 || !PQconsumeInput(db->conn))
            return step_fail(db, NULL, err);
        next = 0;
        while (!next && !PQisBusy(db->conn)) {
            r = PQgetResult(db->conn);
            if (r == NULL) {
                next = step_done(db, res, err);
                if (next <= 0)
                    return next;
            } else if (PQresultStatus(r) == PGRES_COPY_IN || PQresultStatus(r) == PGRES_COPY_OUT) {
                refuse_copy(db, r, err); /* blocks for the server's short answer */
                PQclear(r);
                step_reset(db);
                return -1;
            } else {
                PQclear(db->last); /* like PQexec: the last result counts */
                db->last = r;
            }
        }
        if (!next)
            return flushed == 1 ? ENIGMA_DB_WANT_WRITE : ENIGMA_DB_WANT_READ;
    }
}

int enigma_db_retry_stale(enigma_db *db, const char *sql, const enigma_error *err)
{
    enigma_db_stmt *s;

    if (!is_stale_statement(db, err))
        return 0;
    s = cache_find(db, sql, fnv1a(sql));
    if (s != NULL)
        cache_drop(db, s);
    return 1;
}

int enigma_db_cancel(enigma_db *db, enigma_error *err)
{
    char msg[256];
    PGcancel *cancel = PQgetCancel(db->conn);
    int ok;

    if (cancel == NULL)
        return enigma_error_set(err, "08006", "cannot cancel: the connection is not open");
    ok = PQcancel(cancel, msg, sizeof msg);
    PQfreeCancel(cancel);
    if (!ok)
        return enigma_error_set(err, "ECANCEL", "could not send the cancel request: %s",
                                trim_newline(msg));
    return 0;
}

int enigma_db_abandon(enigma_db *db, enigma_error *err)
{
    PGresult *r;
    int rc = 0;

    if (db->step == STEP_IDLE)
        return 0;
    if (enigma_db_cancel(db, err) < 0)
        rc = -1;
    PQsetnonblocking(db->conn, 0);
    while ((r = PQgetResult(db->conn)) != NULL) {
        ExecStatusType st = PQresultStatus(r);

        PQclear(r);
        if (st == PGRES_COPY_IN)
            PQputCopyEnd(db->conn, "abandoned by the client");
        else if (st == PGRES_COPY_OUT || PQstatus(db->conn) == CONNECTION_BAD)
            break;
    }
    step_reset(db);
    if (PQstatus(db->conn) == CONNECTION_BAD)
        return enigma_db_error_from_result(db, NULL, err);
    return rc;
}

/* --- COPY FROM STDIN ---------------------------------------------------------- */

int enigma_db_in_copy(const enigma_db *db)
{
    return db->copy_buf != NULL;
}

int enigma_db_copy_begin(enigma_db *db, const char *sql, enigma_error *err)
{
    PGresult *res;

    if (db->copy_buf != NULL)
        return enigma_error_set(err, "ECOPY", "a COPY is already in progress on this connection");
    if (refuse_if_busy(db, err) < 0)
        return -1;
    res = PQexec(db->conn, sql);
    if (PQresultStatus(res) != PGRES_COPY_IN) {
        if (PQresultStatus(res) == PGRES_FATAL_ERROR)
            enigma_db_error_from_result(db, res, err);
        else
            enigma_error_set(err, "ECOPY", "not a COPY ... FROM STDIN statement: %.200s", sql);
        if (PQresultStatus(res) == PGRES_COPY_OUT)
            refuse_copy(db, res, err);
        PQclear(res);
        return -1;
    }
    PQclear(res);
    db->copy_buf = malloc(COPY_BUFFER_SIZE);
    if (db->copy_buf == NULL) {
        PQputCopyEnd(db->conn, "out of memory");
        PQclear(PQgetResult(db->conn));
        return enigma_error_set(err, "ENOMEM", "out of memory");
    }
    db->copy_len = 0;
    return 0;
}

static int copy_flush(enigma_db *db, enigma_error *err)
{
    if (db->copy_len > 0 && PQputCopyData(db->conn, db->copy_buf, (int)db->copy_len) != 1)
        return enigma_db_error_from_result(db, NULL, err);
    db->copy_len = 0;
    return 0;
}

int enigma_db_copy_put(enigma_db *db, const char *data, size_t len, enigma_error *err)
{
    if (db->copy_buf == NULL)
        return enigma_error_set(err, "ECOPY", "no COPY is in progress on this connection");
    if (db->copy_len + len > COPY_BUFFER_SIZE) {
        if (copy_flush(db, err) < 0)
            return -1;
        if (len > COPY_BUFFER_SIZE) {
            if (PQputCopyData(db->conn, data, (int)len) != 1)
                return enigma_db_error_from_result(db, NULL, err);
            return 0;
        }
    }
    memcpy(db->copy_buf + db->copy_len, data, len);
    db->copy_len += len;
    return 0;
}

/* Ends the COPY (with `reason` to abort it) and collects the server's answer. */
static long long copy_finish(enigma_db *db, const char *reason, enigma_error *err)
{
    long long rows = -1;
    PGresult *res;
    int failed = 0;

    if (db->copy_buf == NULL)
        return enigma_error_set(err, "ECOPY", "no COPY is in progress on this connection");
    if (reason == NULL && copy_flush(db, err) < 0) {
        reason = "client failed to send data";
        failed = 1;
    }
    free(db->copy_buf);
    db->copy_buf = NULL;
    if (PQputCopyEnd(db->conn, reason) != 1)
        return failed ? -1 : enigma_db_error_from_result(db, NULL, err);
    while ((res = PQgetResult(db->conn)) != NULL) {
        if (PQresultStatus(res) == PGRES_COMMAND_OK && !failed)
            rows = strtoll(PQcmdTuples(res), NULL, 10);
        else if (!failed) {
            enigma_db_error_from_result(db, res, err);
            failed = 1;
        }
        PQclear(res);
    }
    return failed ? -1 : rows;
}

long long enigma_db_copy_end(enigma_db *db, enigma_error *err)
{
    return copy_finish(db, NULL, err);
}

int enigma_db_copy_abort(enigma_db *db, const char *reason, enigma_error *err)
{
    copy_finish(db, reason ? reason : "aborted by the client", err);
    return -1;
}
