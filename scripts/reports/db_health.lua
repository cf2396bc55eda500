-- Database health: the largest tables (partitions summed into their parent) and indexes, the
-- slowest statements from pg_stat_statements when that extension is installed, and the client
-- connections by state (this one left out).
local report = require "enigma.report"

return report.define {
  title = "Database health",
  chart = { x = "relation", y = "total_bytes", kind = "bar" },
  description = "Table and index sizes, slow statements (pg_stat_statements) and connections.",
  options = { limit = { default = 10, max = 10000, help = "rows per section" } },
  run = function(db, opts)
    local tables = assert(db:query([[
      select n.nspname || '.' || c.relname as relation,
             case c.relkind when 'p' then 'partitioned' when 'm' then 'materialized view' else 'table' end as kind,
             pg_size_pretty(t.total) as total_size, pg_size_pretty(t.indexes) as index_size, t.total as total_bytes
        from pg_class c
        join pg_namespace n on n.oid = c.relnamespace
        cross join lateral (
          select sum(pg_total_relation_size(p.relid))::bigint as total, sum(pg_indexes_size(p.relid))::bigint as indexes
            from (select relid from pg_partition_tree(c.oid) union select c.oid::regclass) p) t
       where c.relkind in ('r', 'p', 'm') and not c.relispartition
         and n.nspname not in ('pg_catalog', 'information_schema') and n.nspname not like 'pg_toast%'
       order by t.total desc limit $1]], opts.limit))
    local indexes = assert(db:query([[
      select s.schemaname || '.' || s.indexrelname as index, s.relname as "table",
             pg_size_pretty(pg_relation_size(s.indexrelid)) as size, s.idx_scan as scans
        from pg_stat_user_indexes s
       order by pg_relation_size(s.indexrelid) desc limit $1]], opts.limit))
    local slow
    if assert(db:query("select count(*) as n from pg_extension where extname = 'pg_stat_statements'"))[1].n > 0 then
      slow = assert(db:query([[
        select left(regexp_replace(query, '\s+', ' ', 'g'), 80) as statement, calls,
               round(mean_exec_time::numeric, 2) as mean_ms, round(total_exec_time::numeric, 1) as total_ms
          from pg_stat_statements order by mean_exec_time desc limit $1]], opts.limit))
    else
      slow = { columns = { "note" },
               { note = "pg_stat_statements is not installed "
                        .. "(CREATE EXTENSION needs it in shared_preload_libraries)" } }
    end
    local connections = assert(db:query([[
      select coalesce(state, 'unknown') as state, count(*) as connections
        from pg_stat_activity
       where backend_type = 'client backend' and pid <> pg_backend_pid()
       group by 1 order by 2 desc]]))
    return {
      { title = "tables", rows = tables },
      { title = "indexes", rows = indexes },
      { title = "slow statements", rows = slow },
      { title = "connections", rows = connections },
    }
  end,
}
