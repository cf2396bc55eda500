-- 002_common.sql: helpers shared by the other migrations.
--   set_updated_at()                          BEFORE UPDATE trigger function for updated_at
--   create_monthly_partitions(parent, ahead, back)  monthly RANGE partitions, idempotent

-- Erratum E28: the seed only had DEFAULT now(), so updated_at never moved. Decision: a small
-- plpgsql trigger of our own rather than the moddatetime extension (no extension dependency).
CREATE OR REPLACE FUNCTION public.set_updated_at() RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
  NEW.updated_at := now();
  RETURN NEW;
END
$$;
COMMENT ON FUNCTION public.set_updated_at() IS 'BEFORE UPDATE trigger: sets NEW.updated_at to now().';

-- Monthly partitions of a table RANGE-partitioned on one timestamptz column.
-- Creates <parent>_yYYYYmMM for every UTC calendar month from (current month - p_months_back)
-- to (current month + p_months_ahead), skipping the ones that exist. Returns how many it created.
-- Safe to call concurrently (advisory lock per parent) and cheap when nothing is missing (no
-- lock is taken on the parent then: creating a partition locks the parent ACCESS EXCLUSIVE).
-- Not SECURITY DEFINER and not granted: the per-table wrappers (create_transaction_partitions,
-- create_pool_statistics_history_partitions) are the entry points.
CREATE OR REPLACE FUNCTION public.create_monthly_partitions(
  p_parent regclass,
  p_months_ahead integer DEFAULT 3,
  p_months_back integer DEFAULT 0
) RETURNS integer
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  v_schema   name;
  v_table    name;
  v_strategy "char";
  v_natts    int2;
  v_coltype  regtype;
  v_first    timestamp;  -- UTC wall-clock month starts
  v_month    timestamp;
  v_name     text;
  v_existing regclass;
  v_created  integer := 0;
BEGIN
  IF p_months_ahead < 0 OR p_months_back < 0 THEN
    RAISE EXCEPTION 'create_monthly_partitions: months ahead/back must be >= 0 (got %, %)',
      p_months_ahead, p_months_back;
  END IF;

  SELECT n.nspname, c.relname, pt.partstrat, pt.partnatts, a.atttypid::regtype
    INTO v_schema, v_table, v_strategy, v_natts, v_coltype
    FROM pg_class c
    JOIN pg_namespace n ON n.oid = c.relnamespace
    LEFT JOIN pg_partitioned_table pt ON pt.partrelid = c.oid
    LEFT JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = pt.partattrs[0]
   WHERE c.oid = p_parent;
  IF v_strategy IS DISTINCT FROM 'r' OR v_natts <> 1 OR v_coltype <> 'timestamptz'::regtype THEN
    RAISE EXCEPTION 'create_monthly_partitions: % is not RANGE-partitioned on one timestamptz column',
      p_parent;
  END IF;

  v_first := date_trunc('month', now() AT TIME ZONE 'UTC') - make_interval(months => p_months_back);

  FOR i IN 0 .. p_months_back + p_months_ahead LOOP
    v_month := v_first + make_interval(months => i);
    v_name  := format('%s_y%sm%s', v_table, to_char(v_month, 'YYYY'), to_char(v_month, 'MM'));
    v_existing := to_regclass(format('%I.%I', v_schema, v_name));
    IF v_existing IS NULL THEN
      -- Serialize creators of this parent's partitions (two-key form: its own lock space).
      PERFORM pg_advisory_xact_lock(74201, hashtext(p_parent::oid::text));
      v_existing := to_regclass(format('%I.%I', v_schema, v_name));
    END IF;
    IF v_existing IS NULL THEN
      EXECUTE format('CREATE TABLE %I.%I PARTITION OF %s FOR VALUES FROM (%L) TO (%L)',
                     v_schema, v_name, p_parent,
                     v_month AT TIME ZONE 'UTC',
                     (v_month + interval '1 month') AT TIME ZONE 'UTC');
      v_created := v_created + 1;
    ELSIF NOT EXISTS (SELECT FROM pg_inherits WHERE inhrelid = v_existing AND inhparent = p_parent) THEN
      RAISE EXCEPTION 'create_monthly_partitions: % exists but is not a partition of %',
        v_existing, p_parent;
    END IF;
  END LOOP;
  RETURN v_created;
END
$$;
COMMENT ON FUNCTION public.create_monthly_partitions(regclass, integer, integer) IS
  'Creates missing monthly partitions <parent>_yYYYYmMM (UTC months) from now - back to now + ahead; returns the count created.';
REVOKE ALL ON FUNCTION public.create_monthly_partitions(regclass, integer, integer) FROM PUBLIC;
