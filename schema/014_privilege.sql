-- 014_privilege.sql: least privilege for the runtime (issue 14). The logins the runtime uses,
-- and end users kept from creating objects.
--
-- Applied, like every migration, by the cluster's superuser (`enigma migrate`; the embedded
-- cluster's `postgres`), who owns the schema. The runtime never logs in as it:
--
--   enigma_runtime   LOGIN NOSUPERUSER NOINHERIT: what `enigma serve`, `run`, `repl` and the
--                    reports log in as (the embedded cluster's default login, core/db.h). Its
--                    sessions start as service_role (ALTER ROLE ... SET role): the platform's
--                    data rights (SELECT/INSERT/UPDATE/DELETE, BYPASSRLS, the maintenance
--                    functions), no DDL, no TRUNCATE, no roles, no files, no COPY PROGRAM.
--                    Member of service_role and agent_executor only (serve's ticks run as
--                    agent_executor, 013). NOINHERIT: `RESET ROLE` leaves it with no rights.
--   enigma_gateway   LOGIN NOSUPERUSER NOINHERIT, member of anon and authenticated and nothing
--                    else: the login of db:as_user's connection (bindings/db/db_transaction.c).
--                    Whatever the body runs -- RESET ROLE, SET ROLE, SET SESSION AUTHORIZATION,
--                    set_config('role', ...) -- it can only be the gateway (no rights), anon or
--                    authenticated; the runtime checks that on every new gateway connection.
--
-- Roles are cluster-wide and several databases of a cluster get migrated: created only if
-- missing, their attributes enforced every time (as 001 does). No passwords: the embedded
-- cluster trusts its unix socket, which only its home's owner reaches; an operator of an
-- external database sets them (README, "Database roles").
DO $$
DECLARE
  r record;
BEGIN
  FOR r IN
    SELECT * FROM (VALUES ('enigma_runtime'), ('enigma_gateway')) AS v(name)
  LOOP
    IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = r.name) THEN
      BEGIN
        EXECUTE format('CREATE ROLE %I LOGIN', r.name);
      EXCEPTION WHEN duplicate_object OR unique_violation THEN
        NULL;  -- created meanwhile by a migration of another database of this cluster
      END;
    END IF;
    EXECUTE format('ALTER ROLE %I LOGIN NOSUPERUSER NOINHERIT NOCREATEDB NOCREATEROLE '
                   'NOREPLICATION NOBYPASSRLS', r.name);
    EXECUTE format('ALTER ROLE %I SET search_path = public, pg_temp', r.name);
  END LOOP;
END
$$;

GRANT service_role, agent_executor TO enigma_runtime;
ALTER ROLE enigma_runtime SET role = 'service_role';
GRANT anon, authenticated TO enigma_gateway;

-- Nothing else may reach a login: memberships granted by hand are taken back here, so the
-- gateway's boundary is exactly the two end-user roles.
DO $$
DECLARE
  m record;
BEGIN
  FOR m IN
    SELECT g.rolname AS granted, u.rolname AS member
      FROM pg_catalog.pg_auth_members a
      JOIN pg_catalog.pg_roles g ON g.oid = a.roleid
      JOIN pg_catalog.pg_roles u ON u.oid = a.member
     WHERE (u.rolname = 'enigma_gateway' AND g.rolname NOT IN ('anon', 'authenticated'))
        OR (u.rolname = 'enigma_runtime' AND g.rolname NOT IN ('service_role', 'agent_executor'))
  LOOP
    EXECUTE format('REVOKE %I FROM %I', m.granted, m.member);
  END LOOP;
END
$$;

-- No temporary objects for end users: a temp table named like a schema table shadows it for
-- the rest of the session (pg_temp is searched first unless search_path names it). TEMP is
-- PUBLIC's by default, so it goes from PUBLIC and from every role by name; only service_role
-- keeps it, for the runtime's own scripts (staging tables), and the runtime's logins put
-- pg_temp last, so even its temp tables never shadow the schema.
DO $$
BEGIN
  EXECUTE format('REVOKE TEMPORARY ON DATABASE %I FROM PUBLIC', current_database());
  EXECUTE format('REVOKE TEMPORARY ON DATABASE %I FROM anon, authenticated, app_service_role, '
                 'analytics_readonly, agent_executor, enigma_runtime, enigma_gateway',
                 current_database());
  EXECUTE format('GRANT TEMPORARY ON DATABASE %I TO service_role', current_database());
END
$$;

-- The runtime creates nothing in the schema (PostgreSQL 15 gives PUBLIC no CREATE on public;
-- said again for a database upgraded from an older one).
REVOKE CREATE ON SCHEMA public FROM PUBLIC;

-- A function is executable by PUBLIC when it is created, so a SECURITY DEFINER function a later
-- migration forgets to revoke would run with the owner's rights for any end user. Functions
-- the owner creates from now on are executable by nobody until granted (as every function of
-- 001-013 that end users call already is: auth.*; the maintenance functions are revoked).
ALTER DEFAULT PRIVILEGES REVOKE EXECUTE ON FUNCTIONS FROM PUBLIC;

-- The migration ledger (core/migrate.c makes it before 001, so no default privilege reached
-- it): the runtime may read which schema it runs against, never change it.
GRANT SELECT ON public.schema_migrations TO service_role;
