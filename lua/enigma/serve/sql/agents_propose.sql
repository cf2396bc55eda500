-- Writes the actions ticks proposed: $1 is a JSON array of transactions to insert.
insert into transactions (user_id, user_wallet, tx_type, category, subcategory, amount, token_symbol,
                          usd_value, agent_id, agent_execution_id, execution_time_ms, metadata)
select x.user_id, x.wallet, x.tx_type, 'agent', x.subcategory, x.amount, x.token, x.usd_value,
       x.agent_id, x.execution_id, x.ms, x.metadata
  from jsonb_to_recordset($1::jsonb) as x(user_id uuid, wallet text, tx_type text, subcategory text,
       amount numeric, token text, usd_value numeric, agent_id uuid, execution_id text, ms int,
       metadata jsonb)
