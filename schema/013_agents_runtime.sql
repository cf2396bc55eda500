-- 013_agents_runtime.sql: what `enigma serve` needs to tick agent activations, and the
-- agent_executor role cut down to exactly what a tick does (E23, "least privilege to be refined").
--
-- A tick, all of it as agent_executor:
--   claims due activations       SELECT ... FOR UPDATE SKIP LOCKED, UPDATE next_tick_at
--   reads                         ai_agents, user_agents, users (id, wallet), pool_statistics,
--                                 the user's portfolio, the agent's own transactions
--   writes                        pending transactions for an active activation (008's policy);
--                                 the counters of the activation and of its agent; its state;
--                                 status 'error' after repeated failures, 'paused' by risk_shield
-- Nothing else: no DELETE anywhere, no deposits, notes, stealth keys or job_runs.

ALTER TABLE public.user_agents
  ADD COLUMN next_tick_at TIMESTAMPTZ,                          -- NULL: due now
  ADD COLUMN strategy_state JSONB NOT NULL DEFAULT '{}'::jsonb, -- the strategy's ctx.state
  ADD COLUMN consecutive_failures INTEGER NOT NULL DEFAULT 0,
  ADD COLUMN last_error TEXT;
COMMENT ON COLUMN public.user_agents.strategy_state IS
  'ctx.state of the activation''s strategy, written after each successful tick (JSON, at most 64 KB).';

-- The claim's scan: due active activations, soonest first.
CREATE INDEX idx_user_agents_next_tick ON public.user_agents(next_tick_at NULLS FIRST)
  WHERE status = 'active';

-- Only what ticks write; the profit and fee columns are the backend's (app_service_role).
REVOKE UPDATE ON public.user_agents FROM agent_executor;
GRANT UPDATE (status, total_executions, successful_executions, failed_executions,
              current_allocation, last_execution_at,
              next_tick_at, strategy_state, consecutive_failures, last_error)
  ON public.user_agents TO agent_executor;

-- risk_shield pauses a user's activations: the executor may now set 'paused', and still can
-- not revive a paused, stopped or terminated one.
DROP POLICY user_agents_update_agent_executor ON public.user_agents;
CREATE POLICY user_agents_update_agent_executor ON public.user_agents
  FOR UPDATE TO agent_executor
  USING (status IN ('active', 'error'))
  WITH CHECK (status IN ('active', 'error', 'paused'));

-- Strategies read the portfolio of the user they work for (and of no one else).
CREATE POLICY user_portfolios_select_agent_executor ON public.user_portfolios
  FOR SELECT TO agent_executor
  USING (EXISTS (SELECT 1 FROM public.user_agents ua
                  WHERE ua.user_id = user_portfolios.user_id AND ua.status = 'active'));
GRANT SELECT ON public.user_portfolios TO agent_executor;
