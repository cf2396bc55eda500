-- spec/support/seed_queries.sql: every query of the seed (enigma-database-schema.md), fixed per
-- seed/ERRATA.md. Each query is preceded by "-- name: <snake_case_name>" and ends with ";".
-- They run on the migrated schema as a superuser. Queries whose name starts with
-- pg_stat_statements_ need that extension (shared_preload_libraries): skip them when
-- SELECT 1 FROM pg_extension WHERE extname = 'pg_stat_statements' returns no row.

-- Query Optimization Examples (1): pool statistics with real-time calculations.
-- Erratum E12: numeric division (integer division truncated 2500/5000 to 0).
-- Erratum E24: NULLIF, a fresh 'main' row (all zeros) raised "division by zero".
-- name: pool_metrics_realtime
WITH pool_metrics AS (
  SELECT
    chain_id,
    total_pool_size,
    active_mixers,
    anonymity_set,
    volume_24h,
    LEAST(40::numeric, total_pool_size / 100000000 * 40) +
    LEAST(30::numeric, active_mixers::numeric / 5000 * 30) +
    LEAST(30::numeric, anonymity_set::numeric / 20000 * 30) AS calculated_privacy_score
  FROM pool_statistics
  WHERE pool_type = 'main'
)
SELECT
  chain_id,
  total_pool_size,
  active_mixers,
  anonymity_set,
  volume_24h,
  ROUND(calculated_privacy_score, 2) AS calculated_privacy_score,
  ROUND((active_mixers::numeric / NULLIF(anonymity_set, 0) * 100), 2) AS mixer_ratio,
  ROUND((volume_24h / NULLIF(total_pool_size, 0) * 100), 4) AS volume_ratio
FROM pool_metrics
ORDER BY chain_id;

-- Query Optimization Examples (2): agent performance with filtering (ran as written; the
-- GROUP BY on the primary key makes the other columns functionally dependent).
-- name: agent_performance_top20
SELECT
  aa.agent_name,
  aa.agent_type,
  aa.reputation_score,
  aa.avg_yield,
  COUNT(ua.id) FILTER (WHERE ua.status = 'active') AS active_users,
  SUM(ua.current_allocation) AS total_aum,
  ROUND(
    (aa.successful_executions::numeric / NULLIF(aa.total_executions, 0)) * 100,
    2
  ) AS success_rate
FROM ai_agents aa
LEFT JOIN user_agents ua ON aa.id = ua.agent_id
WHERE aa.active = true
  AND aa.maintenance_mode = false
  AND aa.reputation_score >= 80
GROUP BY aa.id, aa.agent_name, aa.agent_type, aa.reputation_score,
         aa.avg_yield, aa.successful_executions, aa.total_executions
ORDER BY aa.reputation_score DESC, aa.avg_yield DESC
LIMIT 20;

-- Performance Monitoring (1): database size.
-- Erratum E30: relations by oid (schemaname||'.'||tablename broke on quoted names); index size
--   from pg_indexes_size (total - heap counted TOAST as index); partitioned tables summed over
--   their partitions (a partitioned parent itself has size 0); partitions not listed twice.
-- name: database_size_monitoring
WITH rels AS (
  SELECT c.oid, n.nspname, c.relname, c.relkind
    FROM pg_class c
    JOIN pg_namespace n ON n.oid = c.relnamespace
   WHERE n.nspname = 'public'
     AND c.relkind IN ('r', 'p', 'm')
     AND NOT c.relispartition
), members AS (
  SELECT r.oid AS root, r.oid AS relid FROM rels r
  UNION
  SELECT r.oid, t.relid FROM rels r, pg_partition_tree(r.oid) t WHERE r.relkind = 'p'
), sizes AS (
  SELECT root,
         sum(pg_total_relation_size(relid)) AS total_bytes,
         sum(pg_table_size(relid)) AS table_bytes,
         sum(pg_indexes_size(relid)) AS index_bytes
    FROM members
   GROUP BY root
)
SELECT
  r.nspname AS schemaname,
  r.relname AS tablename,
  pg_size_pretty(s.total_bytes) AS size,
  pg_size_pretty(s.table_bytes) AS table_size,   -- heap + TOAST + free space / visibility maps
  pg_size_pretty(s.index_bytes) AS index_size
FROM rels r
JOIN sizes s ON s.root = r.oid
ORDER BY s.total_bytes DESC, r.relname;

-- Performance Monitoring (2): query performance analysis.
-- Erratum E07: PostgreSQL 13 renamed total_time/mean_time/stddev_time to
--   total_exec_time/mean_exec_time/stddev_exec_time; the extension needs
--   shared_preload_libraries, so this query is skipped where it is absent.
-- name: pg_stat_statements_query_performance
SELECT
  query,
  calls,
  total_exec_time,
  mean_exec_time,
  stddev_exec_time,
  rows,
  100.0 * shared_blks_hit / NULLIF(shared_blks_hit + shared_blks_read, 0) AS hit_percent
FROM pg_stat_statements
ORDER BY mean_exec_time DESC
LIMIT 20;

-- Performance Monitoring (3): connections by state.
-- Erratum E30: only client backends (background workers have state NULL) and not this session
--   (its state_change is in the future of its own now(), a negative interval).
-- name: connection_monitoring
SELECT
  state,
  count(*) AS connection_count,
  max(now() - state_change) AS max_idle_time,
  avg(now() - state_change) AS avg_idle_time
FROM pg_stat_activity
WHERE backend_type = 'client backend'
  AND pid <> pg_backend_pid()
GROUP BY state
ORDER BY state;

-- Views (security_invoker, E16): run as an end user they only show that user's rows.
-- name: pool_analytics_select
SELECT * FROM pool_analytics ORDER BY chain_id;

-- Erratum E05: SUM(current_allocation); refreshed by refresh_agent_leaderboard().
-- name: agent_leaderboard_select
SELECT * FROM agent_leaderboard ORDER BY ranking;

-- name: user_privacy_dashboard_select
SELECT * FROM user_privacy_dashboard ORDER BY user_wallet;

-- Business Intelligence (1). Erratum E08: confidentiality_score; E31: UTC days.
-- name: daily_platform_metrics_select
SELECT * FROM daily_platform_metrics;

-- Business Intelligence (2). Erratum E31: UTC weeks.
-- name: agent_performance_trends_select
SELECT * FROM agent_performance_trends;
