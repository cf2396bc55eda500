-- scripts/demo/sample.sql: the seed's sample data plus a small, coherent demo data set.
--
-- Idempotent: every row has a fixed id (literal, or derived with md5(...)::uuid) and is inserted
-- with ON CONFLICT DO NOTHING or WHERE NOT EXISTS, so running it again changes nothing (rows
-- already there keep their values and timestamps). Timestamps are relative to now() at the
-- first load. Run as a superuser (row level security is bypassed). Plain SQL, no psql commands.
--
-- Demo users (users.id = JWT sub):
--   11111111-1111-4111-8111-111111111111  0x1111111111111111111111111111111111111111  rich data set
--   22222222-2222-4222-8222-222222222222  0x2222222222222222222222222222222222222222
--   33333333-3333-4333-8333-333333333333  0x3a0ee71b4904c4aa97bb3535a66c1f4ad323d287
--   44444444-4444-4444-8444-444444444444  0xce7a1ab11ca718374ff695f688f68e8fed9d0092
--   55555555-5555-4555-8555-555555555555  0xd9f8a51099a27f59bb12f9eccea996017ff6fbec
-- Demo prices used for usd_value: ETH/WETH 3150, WBTC 64000, stablecoins 1.

-- ---------------------------------------------------------------------------------------------
-- Users
-- ---------------------------------------------------------------------------------------------
INSERT INTO users (id, wallet_address, created_at) VALUES
  ('11111111-1111-4111-8111-111111111111', '0x1111111111111111111111111111111111111111', now() - interval '90 days'),
  ('22222222-2222-4222-8222-222222222222', '0x2222222222222222222222222222222222222222', now() - interval '75 days'),
  ('33333333-3333-4333-8333-333333333333', '0x3a0ee71b4904c4aa97bb3535a66c1f4ad323d287', now() - interval '70 days'),
  ('44444444-4444-4444-8444-444444444444', '0xce7a1ab11ca718374ff695f688f68e8fed9d0092', now() - interval '65 days'),
  ('55555555-5555-4555-8555-555555555555', '0xd9f8a51099a27f59bb12f9eccea996017ff6fbec', now() - interval '62 days')
ON CONFLICT DO NOTHING;

-- ---------------------------------------------------------------------------------------------
-- ai_agents. First the seed's two sample rows (section 1), fixed: Erratum E01, description is
-- NOT NULL and was missing. Then one agent of every other type, and one retired agent.
-- ---------------------------------------------------------------------------------------------
-- (Beyond the seed's columns: a fixed id, and execution counters so the leaderboard has data.)
INSERT INTO ai_agents (id, agent_type, agent_name, description, capabilities, avg_yield, reputation_score,
                       total_executions, successful_executions, failed_executions, avg_execution_time_ms,
                       verification_status, current_active_users) VALUES
('aaaaaaaa-0000-4000-8000-000000000001', 'yield_optimizer_pro', 'Yield Optimizer Pro v2.1',
 'Allocates across lending and liquidity protocols, compounds rewards automatically and rebalances by risk-adjusted yield.',
 '["cross_protocol_farming", "auto_compounding", "risk_adjusted_allocation"]',
 15.75, 94.8, 48210, 47731, 479, 1320, 'verified', 2),
('aaaaaaaa-0000-4000-8000-000000000002', 'privacy_sentinel', 'Privacy Sentinel Elite',
 'Verifies zero-knowledge proofs, enforces the chosen privacy level and times deposits and withdrawals to maximise the anonymity set.',
 '["zk_verification", "privacy_enforcement", "anonymity_optimization"]',
 0.0, 98.2, 126400, 126388, 12, 210, 'verified', 2)
ON CONFLICT DO NOTHING;

INSERT INTO ai_agents (id, agent_type, agent_name, agent_version, description, capabilities,
                       chain_compatibility, reputation_score, total_executions, successful_executions,
                       failed_executions, avg_execution_time_ms, last_execution_at, avg_yield,
                       total_profit_generated, max_drawdown, sharpe_ratio, pricing_model,
                       subscription_fee_usd, performance_fee_percentage, verification_status,
                       security_audit_score, last_audit_date, active, maintenance_mode,
                       current_active_users, developer_wallet, github_repo_url, created_at)
VALUES
('aaaaaaaa-0000-4000-8000-000000000003', 'risk_shield', 'Risk Shield Guardian', '1.4.0',
 'Watches positions for liquidation risk, depegs and exploit signals and de-risks before losses compound.',
 '["liquidation_protection", "depeg_monitoring", "exploit_detection"]', '["ethereum", "arbitrum"]',
 91.5, 18420, 18311, 109, 840, now() - interval '12 minutes', 6.2000, 412.5, 1.1000, 2.1400,
 'subscription', 29.00, NULL, 'verified', 93.0, now() - interval '80 days', true, false, 2,
 '0x9b2c4f1d8e7a6b5c3d2e1f0a9b8c7d6e5f4a3b2c', 'https://example.org/enigma/risk-shield', now() - interval '200 days'),
('aaaaaaaa-0000-4000-8000-000000000004', 'arbitrage_hunter', 'Arbitrage Hunter X', '3.0.2',
 'Finds cross-DEX price gaps and settles them privately through the pool; skips trades whose gas eats the edge.',
 '["cross_dex_arbitrage", "mev_protection", "gas_optimization"]', '["ethereum", "optimism", "arbitrum"]',
 86.3, 95210, 91877, 3333, 310, now() - interval '3 minutes', 22.4000, 1893.75, 8.5000, 1.6200,
 'performance_fee', NULL, 0.2000, 'verified', 88.5, now() - interval '120 days', true, false, 1,
 '0x4e6f8a1c3b5d7e9f0a2c4e6b8d0f1a3c5e7b9d2f', 'https://example.org/enigma/arbitrage-hunter', now() - interval '160 days'),
('aaaaaaaa-0000-4000-8000-000000000005', 'liquidity_manager', 'Liquidity Manager Prime', '2.2.1',
 'Keeps concentrated-liquidity ranges centred on the price, collects fees and narrows ranges in calm markets.',
 '["concentrated_liquidity", "range_rebalancing", "fee_harvesting"]', '["ethereum", "arbitrum"]',
 89.7, 40315, 39702, 613, 1150, now() - interval '25 minutes', 11.0500, 966.0, 4.2000, 1.8800,
 'hybrid', 19.00, 0.1000, 'verified', 90.0, now() - interval '60 days', true, false, 1,
 '0x7d1e3f5a7c9b1d3f5e7a9c1b3d5f7e9a1c3b5d7f', 'https://example.org/enigma/liquidity-manager', now() - interval '150 days'),
('aaaaaaaa-0000-4000-8000-000000000006', 'strategy_bot', 'Strategy Bot Classic', '1.0.0',
 'Runs simple rule-based strategies (DCA, take-profit, stop-loss) defined by the user in the activation configuration.',
 '["dca", "take_profit", "stop_loss"]', '["ethereum"]',
 78.4, 7312, 7050, 262, 95, now() - interval '1 hour', 8.9000, 154.2, 3.0000, 1.2100,
 'free', NULL, NULL, 'pending_review', 81.0, now() - interval '30 days', true, false, 1,
 '0x2f4a6c8e0b2d4f6a8c0e2b4d6f8a0c2e4b6d8f0a', NULL, now() - interval '100 days'),
('aaaaaaaa-0000-4000-8000-000000000007', 'arbitrage_hunter', 'Arbitrage Hunter v0.9 (retired)', '0.9.7',
 'Superseded by Arbitrage Hunter X. Kept for the history of its past activations; not available for new ones.',
 '["cross_dex_arbitrage"]', '["ethereum"]',
 62.0, 5120, 4410, 710, 520, now() - interval '70 days', 12.0000, 88.0, 14.0000, 0.7400,
 'performance_fee', NULL, 0.2500, 'unverified', 55.0, now() - interval '300 days', false, false, 0,
 '0x4e6f8a1c3b5d7e9f0a2c4e6b8d0f1a3c5e7b9d2f', NULL, now() - interval '400 days')
ON CONFLICT DO NOTHING;

-- ---------------------------------------------------------------------------------------------
-- pool_statistics: one row per (pool_type, chain_id). total_pool_size and volumes in USD.
-- 'main' on Ethereum: 40*0.8425 + 30*3870/5000 + 30*15400/20000 = privacy_score 80.02.
-- ---------------------------------------------------------------------------------------------
INSERT INTO pool_statistics (id, pool_type, pool_name, chain_id, total_pool_size, eth_pool_size,
                             stablecoin_pool_size, other_tokens_pool_size, active_mixers, new_mixers_24h,
                             anonymity_set, total_unique_users, total_deposits, total_withdrawals,
                             deposits_24h, withdrawals_24h, volume_24h, volume_7d, volume_30d,
                             entropy_level, mixing_efficiency, avg_deposit_size, avg_withdrawal_size,
                             median_transaction_time, gas_efficiency_score, last_audit_date, compliance_score)
VALUES
('b0000000-0000-4000-8000-000000000001', 'main', 'Enigma Main Pool (Ethereum)', 1,
 84250000, 21000, 18500000, 2750000, 3870, 142, 15400, 48210, 912400, 887950, 1340, 1295,
 6120000, 41800000, 176500000, 7.85, 92.40, 5430, 5390, interval '4 minutes 30 seconds', 88.10,
 now() - interval '45 days', 96.00),
('b0000000-0000-4000-8000-000000000002', 'main', 'Enigma Main Pool (Optimism)', 10,
 12400000, 2600, 4100000, 500000, 640, 31, 2900, 7350, 120300, 116900, 260, 241,
 880000, 5900000, 24100000, 7.10, 88.00, 1950, 1920, interval '1 minute 10 seconds', 95.50,
 now() - interval '45 days', 95.00),
('b0000000-0000-4000-8000-000000000003', 'main', 'Enigma Main Pool (Arbitrum)', 42161,
 23750000, 5100, 7200000, 485000, 1210, 58, 5600, 12900, 240800, 233100, 410, 388,
 1650000, 11200000, 47300000, 7.35, 90.20, 2870, 2810, interval '55 seconds', 96.80,
 now() - interval '45 days', 95.50),
('b0000000-0000-4000-8000-000000000004', 'high_volume', 'Enigma High Volume Pool', 1,
 142000000, 33000, 32000000, 6050000, 5200, 210, 21000, 61200, 1480200, 1452000, 2210, 2190,
 14800000, 98000000, 410000000, 7.95, 93.10, 9600, 9550, interval '3 minutes', 86.40,
 now() - interval '30 days', 97.00),
('b0000000-0000-4000-8000-000000000005', 'maximum_privacy', 'Enigma Maximum Privacy Pool', 1,
 38600000, 9400, 8200000, 789000, 1850, 44, 18800, 22400, 301500, 290200, 520, 470,
 1900000, 13100000, 55800000, 7.99, 97.60, 4100, 4050, interval '45 minutes', 79.20,
 now() - interval '30 days', 98.50),
('b0000000-0000-4000-8000-000000000006', 'institutional', 'Enigma Institutional Pool', 1,
 265000000, 52000, 96000000, 5200000, 420, 6, 1900, 2300, 18800, 17650, 35, 31,
 21000000, 138000000, 590000000, 7.40, 85.00, 250000, 248000, interval '2 hours', 82.00,
 now() - interval '15 days', 99.00)
ON CONFLICT DO NOTHING;

-- pool_statistics_history: a daily snapshot of the two larger 'main' pools for the last 14 days
-- (the pools grew about 0.4 % a day).
INSERT INTO pool_statistics_history (id, captured_at, pool_statistics_id, pool_type, pool_name, chain_id,
                                     total_pool_size, eth_pool_size, stablecoin_pool_size,
                                     other_tokens_pool_size, active_mixers, new_mixers_24h, anonymity_set,
                                     total_unique_users, total_deposits, total_withdrawals, deposits_24h,
                                     withdrawals_24h, volume_24h, volume_7d, volume_30d, privacy_score)
SELECT md5('enigma-demo:pool-history:' || ps.id || ':' || d)::uuid,
       date_trunc('day', now()) - make_interval(days => d),
       ps.id, ps.pool_type, ps.pool_name, ps.chain_id,
       round(ps.total_pool_size * (1 - 0.004 * d), 2),
       round(ps.eth_pool_size * (1 - 0.004 * d), 4),
       round(ps.stablecoin_pool_size * (1 - 0.004 * d), 2),
       round(ps.other_tokens_pool_size * (1 - 0.004 * d), 2),
       ps.active_mixers - 9 * d, ps.new_mixers_24h, ps.anonymity_set - 35 * d,
       ps.total_unique_users - 40 * d, ps.total_deposits - 1300 * d, ps.total_withdrawals - 1280 * d,
       ps.deposits_24h, ps.withdrawals_24h, ps.volume_24h, ps.volume_7d, ps.volume_30d,
       least(40::numeric, ps.total_pool_size * (1 - 0.004 * d) / 100000000 * 40)
         + least(30::numeric, (ps.active_mixers - 9 * d)::numeric / 5000 * 30)
         + least(30::numeric, (ps.anonymity_set - 35 * d)::numeric / 20000 * 30)
  FROM pool_statistics ps
 CROSS JOIN generate_series(1, 14) AS d
 WHERE ps.id IN ('b0000000-0000-4000-8000-000000000001', 'b0000000-0000-4000-8000-000000000003')
   AND NOT EXISTS (SELECT 1 FROM pool_statistics_history h
                    WHERE h.id = md5('enigma-demo:pool-history:' || ps.id || ':' || d)::uuid);

-- ---------------------------------------------------------------------------------------------
-- privacy_deposits: 20 deposits. age = how long ago it was made.
-- ---------------------------------------------------------------------------------------------
INSERT INTO privacy_deposits (id, user_wallet, chain_id, deposit_tx_hash, withdrawal_tx_hash, amount,
                              token_address, token_symbol, privacy_level, anonymity_set, mixing_rounds,
                              commitment_hash, nullifier_hash, proof_data, verification_status, status,
                              deposit_confirmed_at, mixing_started_at, mixing_completed_at,
                              withdrawal_available_at, processed_at, gas_used, gas_price_gwei, total_fees,
                              privacy_score, unlinkability_score, mixing_efficiency, created_at)
SELECT v.id::uuid, v.wallet, v.chain_id,
       '0x' || encode(sha256(convert_to('enigma-demo:deposit-tx:' || v.id, 'UTF8')), 'hex'),
       CASE WHEN v.status = 'withdrawn'
            THEN '0x' || encode(sha256(convert_to('enigma-demo:withdrawal-tx:' || v.id, 'UTF8')), 'hex') END,
       v.amount,
       CASE v.token WHEN 'ETH'  THEN '0x0000000000000000000000000000000000000000'
                    WHEN 'USDC' THEN '0xa0b86991c6218b36c1d19d4a2e9eb0ce3606eb48'
                    WHEN 'DAI'  THEN '0x6b175474e89094c44da98b954eedeac495271d0f'
                    WHEN 'USDT' THEN '0xdac17f958d2ee523a2206206994597c13d831ec7'
                    WHEN 'WBTC' THEN '0x2260fac5e5542a773aa44fbcfedf7c193bc2c599'
       END,
       v.token, v.level, v.anon_set, v.rounds,
       '0x' || encode(sha256(convert_to('enigma-demo:commitment:' || v.id, 'UTF8')), 'hex'),
       '0x' || encode(sha256(convert_to('enigma-demo:nullifier:' || v.id, 'UTF8')), 'hex'),
       CASE WHEN v.status <> 'pending'
            THEN jsonb_build_object('scheme', 'groth16', 'demo', true) END,
       CASE v.status WHEN 'pending' THEN 'pending' WHEN 'processing' THEN 'pending'
                     WHEN 'failed' THEN 'failed' ELSE 'verified' END,
       v.status,
       CASE WHEN v.status <> 'pending' THEN now() - v.age + interval '2 minutes' END,
       CASE WHEN v.status IN ('processing', 'mixed', 'completed', 'withdrawn')
            THEN now() - v.age + interval '10 minutes' END,
       CASE WHEN v.status IN ('mixed', 'completed', 'withdrawn') THEN now() - v.age + interval '1 hour' END,
       CASE WHEN v.status IN ('mixed', 'completed', 'withdrawn') THEN now() - v.age + interval '25 hours' END,
       CASE WHEN v.status IN ('completed', 'withdrawn', 'failed') THEN now() - v.age + interval '2 days' END,
       nullif(v.gas, 0), v.gwei, round(nullif(v.gas, 0) * v.gwei / 1000000000, 18),
       CASE v.level WHEN 'standard' THEN 72.50 WHEN 'advanced' THEN 86.00 ELSE 95.50 END,
       CASE v.level WHEN 'standard' THEN 70.00 WHEN 'advanced' THEN 84.25 ELSE 96.75 END,
       CASE WHEN v.status IN ('mixed', 'completed', 'withdrawn') THEN 90.00 + v.rounds END,
       now() - v.age
  FROM (VALUES
    -- id                                     wallet                                       chain amount    token   level       anon   rounds status        age                  gas     gwei
    ('d0000000-0000-4000-8000-000000000001', '0x1111111111111111111111111111111111111111', 1,     5.0,      'ETH',  'standard', 12400, 1, 'completed',  interval '45 days',  182000, 21.5),
    ('d0000000-0000-4000-8000-000000000002', '0x1111111111111111111111111111111111111111', 1,     2.5,      'ETH',  'advanced', 13100, 3, 'completed',  interval '38 days',  214000, 18.2),
    ('d0000000-0000-4000-8000-000000000003', '0x1111111111111111111111111111111111111111', 1,     10000,    'USDC', 'maximum',  14800, 5, 'mixed',      interval '20 days',  261000, 15.0),
    ('d0000000-0000-4000-8000-000000000004', '0x1111111111111111111111111111111111111111', 1,     1.25,     'ETH',  'maximum',  15100, 5, 'mixed',      interval '9 days',   259000, 12.8),
    ('d0000000-0000-4000-8000-000000000005', '0x1111111111111111111111111111111111111111', 10,    0.75,     'ETH',  'advanced', 2850,  3, 'processing', interval '2 days',   215000, 0.004),
    ('d0000000-0000-4000-8000-000000000006', '0x1111111111111111111111111111111111111111', 1,     0.5,      'ETH',  'standard', 11900, 1, 'withdrawn',  interval '55 days',  181000, 24.0),
    ('d0000000-0000-4000-8000-000000000007', '0x1111111111111111111111111111111111111111', 1,     2500,     'DAI',  'advanced', 15350, 3, 'pending',    interval '3 hours',  0,      14.1),
    ('d0000000-0000-4000-8000-000000000008', '0x1111111111111111111111111111111111111111', 1,     0.05,     'WBTC', 'maximum',  14500, 5, 'completed',  interval '14 days',  266000, 16.4),
    ('d0000000-0000-4000-8000-000000000009', '0x2222222222222222222222222222222222222222', 1,     1.0,      'ETH',  'standard', 12900, 1, 'completed',  interval '30 days',  180000, 19.9),
    ('d0000000-0000-4000-8000-000000000010', '0x2222222222222222222222222222222222222222', 1,     5000,     'USDC', 'advanced', 14600, 3, 'mixed',      interval '12 days',  221000, 14.3),
    ('d0000000-0000-4000-8000-000000000011', '0x2222222222222222222222222222222222222222', 1,     0.3,      'ETH',  'maximum',  15300, 5, 'processing', interval '1 day',    258000, 11.7),
    ('d0000000-0000-4000-8000-000000000012', '0x2222222222222222222222222222222222222222', 1,     0.8,      'ETH',  'standard', 13600, 1, 'failed',     interval '25 days',  95000,  22.6),
    ('d0000000-0000-4000-8000-000000000013', '0x3a0ee71b4904c4aa97bb3535a66c1f4ad323d287', 1,     20.0,     'ETH',  'advanced', 11800, 3, 'completed',  interval '50 days',  213000, 26.3),
    ('d0000000-0000-4000-8000-000000000014', '0x3a0ee71b4904c4aa97bb3535a66c1f4ad323d287', 1,     25000,    'USDT', 'maximum',  15200, 5, 'mixed',      interval '6 days',   263000, 13.5),
    ('d0000000-0000-4000-8000-000000000015', '0x3a0ee71b4904c4aa97bb3535a66c1f4ad323d287', 42161, 3.0,      'ETH',  'standard', 5400,  1, 'completed',  interval '18 days',  640000, 0.01),
    ('d0000000-0000-4000-8000-000000000016', '0xce7a1ab11ca718374ff695f688f68e8fed9d0092', 1,     0.1,      'ETH',  'standard', 15390, 1, 'pending',    interval '6 hours',  0,      13.9),
    ('d0000000-0000-4000-8000-000000000017', '0xce7a1ab11ca718374ff695f688f68e8fed9d0092', 1,     1500,     'USDC', 'standard', 12700, 1, 'completed',  interval '33 days',  176000, 20.4),
    ('d0000000-0000-4000-8000-000000000018', '0xce7a1ab11ca718374ff695f688f68e8fed9d0092', 1,     4.0,      'ETH',  'advanced', 11700, 3, 'withdrawn',  interval '58 days',  212000, 25.1),
    ('d0000000-0000-4000-8000-000000000019', '0xd9f8a51099a27f59bb12f9eccea996017ff6fbec', 1,     50000,    'USDC', 'maximum',  12600, 5, 'completed',  interval '40 days',  262000, 17.7),
    ('d0000000-0000-4000-8000-000000000020', '0xd9f8a51099a27f59bb12f9eccea996017ff6fbec', 10,    7.5,      'ETH',  'maximum',  2880,  5, 'mixed',      interval '4 days',   257000, 0.003)
  ) AS v(id, wallet, chain_id, amount, token, level, anon_set, rounds, status, age, gas, gwei)
ON CONFLICT DO NOTHING;

-- ---------------------------------------------------------------------------------------------
-- stealth_addresses (lower-case addresses; the keys are fake demo values, not real keys)
-- ---------------------------------------------------------------------------------------------
INSERT INTO stealth_addresses (id, user_wallet, original_address, chain_id, stealth_address, viewing_key,
                               spending_key_encrypted, ephemeral_public_key, zk_proof_commitment,
                               shared_secret_hash, payment_reference, is_used, first_use_tx_hash,
                               total_received, total_sent, balance, one_time_use, generation_method,
                               entropy_source, metadata, created_at, first_used_at)
SELECT v.id::uuid, v.wallet, v.wallet, v.chain_id,
       '0x' || substr(encode(sha256(convert_to('enigma-demo:stealth:' || v.id, 'UTF8')), 'hex'), 1, 40),
       '0x' || encode(sha256(convert_to('enigma-demo:viewing-key:' || v.id, 'UTF8')), 'hex'),
       'demo-not-a-sealed-key:' || encode(sha256(convert_to('enigma-demo:spending:' || v.id, 'UTF8')), 'base64'),
       '0x02' || encode(sha256(convert_to('enigma-demo:ephemeral:' || v.id, 'UTF8')), 'hex'),
       '0x' || encode(sha256(convert_to('enigma-demo:stealth-commitment:' || v.id, 'UTF8')), 'hex'),
       substr(encode(sha256(convert_to('enigma-demo:shared-secret:' || v.id, 'UTF8')), 'hex'), 1, 64),
       v.reference, v.used,
       CASE WHEN v.used THEN '0x' || encode(sha256(convert_to('enigma-demo:stealth-use:' || v.id, 'UTF8')), 'hex') END,
       v.received, v.sent, v.received - v.sent, v.one_time, 'eip5564', 'libsodium randombytes_buf',
       jsonb_build_object('view_tag', v.view_tag, 'scheme_id', 1, 'label', v.label),
       now() - v.age,
       CASE WHEN v.used THEN now() - v.age + interval '6 hours' END
  FROM (VALUES
    ('e0000000-0000-4000-8000-000000000001', '0x1111111111111111111111111111111111111111', 1,     'inv-2026-0412', true,  1.2,  0.5,  false, '0x3c', 'salary',       interval '40 days'),
    ('e0000000-0000-4000-8000-000000000002', '0x1111111111111111111111111111111111111111', 1,     NULL,            false, 0,    0,    false, '0xa7', 'donations',    interval '12 days'),
    ('e0000000-0000-4000-8000-000000000003', '0x1111111111111111111111111111111111111111', 10,    'op-bridge-77',  true,  0.75, 0,    true,  '0x05', 'bridge',       interval '2 days'),
    ('e0000000-0000-4000-8000-000000000004', '0x2222222222222222222222222222222222222222', 1,     NULL,            false, 0,    0,    false, '0xe1', 'freelance',    interval '10 days'),
    ('e0000000-0000-4000-8000-000000000005', '0x3a0ee71b4904c4aa97bb3535a66c1f4ad323d287', 42161, 'arb-otc-3',     true,  3.0,  3.0,  true,  '0x9f', 'otc',          interval '17 days')
  ) AS v(id, wallet, chain_id, reference, used, received, sent, one_time, view_tag, label, age)
ON CONFLICT DO NOTHING;

-- ---------------------------------------------------------------------------------------------
-- user_agents: activations (current_allocation and profits in USD)
-- ---------------------------------------------------------------------------------------------
INSERT INTO user_agents (id, user_id, agent_id, activation_tx_hash, configuration, risk_parameters,
                         allocation_limits, status, activated_at, deactivated_at, total_executions,
                         successful_executions, failed_executions, total_profit, total_fees_paid,
                         current_allocation, current_apr, last_execution_at, last_profit_report_at, created_at)
SELECT v.id::uuid, v.user_id::uuid, v.agent_id::uuid,
       '0x' || encode(sha256(convert_to('enigma-demo:activation:' || v.id, 'UTF8')), 'hex'),
       v.config::jsonb, v.risk::jsonb, v.limits::jsonb, v.status,
       now() - v.age,
       CASE WHEN v.stopped_age IS NOT NULL THEN now() - v.stopped_age END,
       v.execs, v.execs - v.fails, v.fails, v.profit, round(greatest(v.profit, 0) * 0.1, 2),
       v.alloc, v.apr,
       CASE WHEN v.execs > 0 THEN now() - coalesce(v.stopped_age, interval '0') - interval '20 minutes' END,
       CASE WHEN v.execs > 0 THEN date_trunc('day', now() - coalesce(v.stopped_age, interval '0')) END,
       now() - v.age
  FROM (VALUES
    ('c0000000-0000-4000-8000-000000000001', '11111111-1111-4111-8111-111111111111', 'aaaaaaaa-0000-4000-8000-000000000001', 'active',     25000, 1184.32, 15.2000, 1680, 18, interval '56 days', NULL::interval,
     '{"strategy": "balanced", "compound_every": "1 day", "protocols": ["aave", "compound", "curve"]}', '{"max_drawdown_pct": 8, "max_protocol_share": 0.4}', '{"max_allocation_usd": 30000}'),
    ('c0000000-0000-4000-8000-000000000002', '11111111-1111-4111-8111-111111111111', 'aaaaaaaa-0000-4000-8000-000000000002', 'active',     0,     0,       NULL,    820,  1,  interval '41 days', NULL,
     '{"min_anonymity_set": 10000, "withdrawal_delay": "random_6h_48h"}', '{}', '{}'),
    ('c0000000-0000-4000-8000-000000000003', '11111111-1111-4111-8111-111111111111', 'aaaaaaaa-0000-4000-8000-000000000003', 'paused',     8000,  96.50,   5.9000,  410,  2,  interval '20 days', NULL,
     '{"alerts": ["liquidation", "depeg"], "auto_derisk": true}', '{"health_factor_min": 1.6}', '{"max_allocation_usd": 10000}'),
    ('c0000000-0000-4000-8000-000000000004', '22222222-2222-4222-8222-222222222222', 'aaaaaaaa-0000-4000-8000-000000000001', 'active',     6000,  212.80,  14.8000, 890,  11, interval '30 days', NULL,
     '{"strategy": "conservative", "compound_every": "3 days", "protocols": ["aave"]}', '{"max_drawdown_pct": 4}', '{"max_allocation_usd": 8000}'),
    ('c0000000-0000-4000-8000-000000000005', '22222222-2222-4222-8222-222222222222', 'aaaaaaaa-0000-4000-8000-000000000004', 'active',     4000,  390.10,  24.1000, 2210, 96, interval '11 days', NULL,
     '{"dexes": ["uniswap_v3", "curve", "balancer"], "min_edge_bps": 12}', '{"max_trade_usd": 2000}', '{"max_allocation_usd": 5000}'),
    ('c0000000-0000-4000-8000-000000000006', '33333333-3333-4333-8333-333333333333', 'aaaaaaaa-0000-4000-8000-000000000005', 'active',     60000, 2210.40, 11.3000, 1340, 21, interval '48 days', NULL,
     '{"pools": ["ETH/USDC 0.05%"], "range_width_pct": 6}', '{"max_impermanent_loss_pct": 5}', '{"max_allocation_usd": 75000}'),
    ('c0000000-0000-4000-8000-000000000007', '33333333-3333-4333-8333-333333333333', 'aaaaaaaa-0000-4000-8000-000000000001', 'stopped',    0,     540.00,  NULL,    2100, 40, interval '77 days', interval '35 days',
     '{"strategy": "aggressive"}', '{"max_drawdown_pct": 15}', '{}'),
    ('c0000000-0000-4000-8000-000000000008', '44444444-4444-4444-8444-444444444444', 'aaaaaaaa-0000-4000-8000-000000000006', 'active',     1500,  31.20,   8.1000,  52,   1,  interval '26 days', NULL,
     '{"rules": [{"kind": "dca", "token": "ETH", "usd": 50, "every": "1 week"}]}', '{"stop_loss_pct": 20}', '{"max_allocation_usd": 2000}'),
    ('c0000000-0000-4000-8000-000000000009', '44444444-4444-4444-8444-444444444444', 'aaaaaaaa-0000-4000-8000-000000000007', 'terminated', 0,     -12.50,  NULL,    140,  33, interval '80 days', interval '70 days',
     '{}', '{}', '{}'),
    ('c0000000-0000-4000-8000-000000000010', '55555555-5555-4555-8555-555555555555', 'aaaaaaaa-0000-4000-8000-000000000002', 'active',     0,     0,       NULL,    760,  0,  interval '39 days', NULL,
     '{"min_anonymity_set": 15000, "withdrawal_delay": "random_24h_96h"}', '{}', '{}'),
    ('c0000000-0000-4000-8000-000000000011', '55555555-5555-4555-8555-555555555555', 'aaaaaaaa-0000-4000-8000-000000000003', 'active',     50000, 508.00,  6.0000,  980,  4,  interval '38 days', NULL,
     '{"alerts": ["depeg"], "auto_derisk": true}', '{"health_factor_min": 1.8}', '{"max_allocation_usd": 60000}')
  ) AS v(id, user_id, agent_id, status, alloc, profit, apr, execs, fails, age, stopped_age, config, risk, limits)
ON CONFLICT DO NOTHING;

-- ---------------------------------------------------------------------------------------------
-- user_portfolios (values in USD except eth_balance; consistent with the deposits above)
-- ---------------------------------------------------------------------------------------------
INSERT INTO user_portfolios (id, user_wallet, user_id, total_value, total_deposited, total_withdrawn,
                             total_profit, eth_balance, stablecoin_balance, other_tokens_balance,
                             privacy_score, anonymity_level, stealth_addresses_count, active_agents_count,
                             agent_portfolio_value, agent_profit_share, overall_apr, max_drawdown,
                             sharpe_ratio, volatility_score, risk_score, diversification_score,
                             liquidity_score, last_calculated_at, created_at)
VALUES
('f0000000-0000-4000-8000-000000000001', '0x1111111111111111111111111111111111111111', '11111111-1111-4111-8111-111111111111',
 45625.00, 47200.00, 1575.00, 1280.82, 9.5, 12500.00, 3200.00, 88.40, 'maximum', 3, 2,
 25000.00, 12.50, 13.8500, 3.2000, 1.9200, 34.50, 38.00, 72.00, 81.00, now() - interval '15 minutes', now() - interval '90 days'),
('f0000000-0000-4000-8000-000000000002', '0x2222222222222222222222222222222222222222', '22222222-2222-4222-8222-222222222222',
 9095.00, 9095.00, 0, 602.90, 1.3, 5000.00, 0, 79.50, 'anonymous', 1, 2,
 10000.00, 10.00, 17.9000, 5.1000, 1.5500, 41.00, 52.00, 48.00, 74.00, now() - interval '15 minutes', now() - interval '75 days'),
('f0000000-0000-4000-8000-000000000003', '0x3a0ee71b4904c4aa97bb3535a66c1f4ad323d287', '33333333-3333-4333-8333-333333333333',
 97450.00, 97450.00, 0, 2750.40, 23.0, 25000.00, 0, 85.10, 'anonymous', 1, 1,
 60000.00, 10.00, 11.3000, 4.4000, 1.8100, 29.00, 44.00, 55.00, 69.00, now() - interval '15 minutes', now() - interval '70 days'),
('f0000000-0000-4000-8000-000000000004', '0xce7a1ab11ca718374ff695f688f68e8fed9d0092', '44444444-4444-4444-8444-444444444444',
 1815.00, 14415.00, 12600.00, 18.70, 0.1, 1500.00, 0, 64.00, 'private', 0, 1,
 1500.00, 0, 6.2000, 9.8000, 0.6100, 55.00, 61.00, 30.00, 92.00, now() - interval '15 minutes', now() - interval '65 days'),
('f0000000-0000-4000-8000-000000000005', '0xd9f8a51099a27f59bb12f9eccea996017ff6fbec', '55555555-5555-4555-8555-555555555555',
 73625.00, 73625.00, 0, 508.00, 7.5, 50000.00, 0, 95.50, 'maximum', 0, 2,
 50000.00, 10.00, 6.0000, 1.2000, 2.3000, 12.00, 22.00, 40.00, 88.00, now() - interval '15 minutes', now() - interval '62 days')
ON CONFLICT DO NOTHING;

-- ---------------------------------------------------------------------------------------------
-- transactions: 40 rows over the last 60 days. NOT EXISTS on id: the primary key is
-- (id, created_at) and created_at is relative to now(), so ON CONFLICT would not catch a re-run.
-- ---------------------------------------------------------------------------------------------

-- (a) one privacy_deposit transaction per demo deposit (20)
INSERT INTO transactions (id, user_id, user_wallet, tx_type, category, subcategory, amount, token_address,
                          token_symbol, usd_value, privacy_level, confidentiality_score, tx_hash,
                          block_number, gas_used, gas_price_gwei, transaction_fee, zk_proof_hash,
                          verification_status, status, confirmations, tags, metadata, created_at,
                          confirmed_at, failed_at, indexed_at)
SELECT md5('enigma-demo:tx:deposit:' || d.id)::uuid, u.id, d.user_wallet, 'privacy_deposit', 'privacy',
       d.privacy_level, d.amount, d.token_address, d.token_symbol,
       round(d.amount * CASE upper(d.token_symbol) WHEN 'ETH' THEN 3150 WHEN 'WETH' THEN 3150
                                                   WHEN 'WBTC' THEN 64000 ELSE 1 END, 2),
       transaction_privacy_level(d.privacy_level), d.privacy_score, d.deposit_tx_hash,
       CASE WHEN d.status <> 'pending' THEN 23800000 - floor(extract(epoch FROM now() - d.created_at) / 12)::bigint END,
       d.gas_used, d.gas_price_gwei, d.total_fees,
       '0x' || encode(sha256(convert_to('enigma-demo:zk-proof:' || d.id, 'UTF8')), 'hex'),
       d.verification_status,
       CASE d.status WHEN 'pending' THEN 'pending' WHEN 'failed' THEN 'failed' ELSE 'confirmed' END,
       CASE WHEN d.status IN ('pending', 'failed') THEN 0 ELSE 64 END,
       jsonb_build_array('privacy', d.privacy_level, 'chain:' || d.chain_id),
       jsonb_build_object('deposit_id', d.id, 'chain_id', d.chain_id, 'demo', true),
       d.created_at, d.deposit_confirmed_at,
       CASE WHEN d.status = 'failed' THEN d.created_at + interval '3 minutes' END,
       d.created_at + interval '30 seconds'
  FROM privacy_deposits d
  JOIN users u ON u.wallet_address = d.user_wallet
 WHERE d.id::text LIKE 'd0000000-0000-4000-8000-%'
   AND NOT EXISTS (SELECT 1 FROM transactions t WHERE t.id = md5('enigma-demo:tx:deposit:' || d.id)::uuid);

-- (b) one privacy_withdrawal per withdrawn demo deposit (2)
INSERT INTO transactions (id, user_id, user_wallet, tx_type, category, subcategory, amount, token_address,
                          token_symbol, usd_value, privacy_level, confidentiality_score, tx_hash,
                          block_number, gas_used, gas_price_gwei, transaction_fee, zk_proof_hash,
                          nullifier_hash, verification_status, status, confirmations, tags, metadata,
                          created_at, confirmed_at, indexed_at)
SELECT md5('enigma-demo:tx:withdrawal:' || d.id)::uuid, u.id, d.user_wallet, 'privacy_withdrawal', 'privacy',
       d.privacy_level, d.amount, d.token_address, d.token_symbol,
       round(d.amount * CASE upper(d.token_symbol) WHEN 'ETH' THEN 3150 WHEN 'WETH' THEN 3150
                                                   WHEN 'WBTC' THEN 64000 ELSE 1 END, 2),
       transaction_privacy_level(d.privacy_level), d.unlinkability_score, d.withdrawal_tx_hash,
       23800000 - floor(extract(epoch FROM now() - d.processed_at) / 12)::bigint,
       298000, 17.250000000, round(298000 * 17.25 / 1000000000, 18),
       '0x' || encode(sha256(convert_to('enigma-demo:zk-withdrawal-proof:' || d.id, 'UTF8')), 'hex'),
       d.nullifier_hash, 'verified', 'confirmed', 64,
       jsonb_build_array('privacy', 'withdrawal'),
       jsonb_build_object('deposit_id', d.id, 'chain_id', d.chain_id, 'demo', true),
       d.processed_at, d.processed_at + interval '2 minutes', d.processed_at + interval '30 seconds'
  FROM privacy_deposits d
  JOIN users u ON u.wallet_address = d.user_wallet
 WHERE d.id::text LIKE 'd0000000-0000-4000-8000-%' AND d.status = 'withdrawn'
   AND NOT EXISTS (SELECT 1 FROM transactions t WHERE t.id = md5('enigma-demo:tx:withdrawal:' || d.id)::uuid);

-- (c) one stealth_generation per demo stealth address (5)
INSERT INTO transactions (id, user_id, user_wallet, tx_type, category, subcategory, amount, token_symbol,
                          usd_value, privacy_level, confidentiality_score, verification_status, status,
                          confirmations, tags, metadata, created_at, confirmed_at)
SELECT md5('enigma-demo:tx:stealth:' || s.id)::uuid, u.id, s.user_wallet, 'stealth_generation', 'privacy',
       'eip5564', 0, 'ETH', 0, 'anonymous', 91.00, 'verified', 'confirmed', 12,
       jsonb_build_array('stealth', 'eip5564'),
       jsonb_build_object('stealth_address_id', s.id, 'chain_id', s.chain_id, 'demo', true),
       s.created_at, s.created_at
  FROM stealth_addresses s
  JOIN users u ON u.wallet_address = s.user_wallet
 WHERE s.id::text LIKE 'e0000000-0000-4000-8000-%'
   AND NOT EXISTS (SELECT 1 FROM transactions t WHERE t.id = md5('enigma-demo:tx:stealth:' || s.id)::uuid);

-- (d) activations, agent executions, a governance vote, a transfer, a proof (13)
INSERT INTO transactions (id, user_id, user_wallet, tx_type, category, subcategory, amount, token_address,
                          token_symbol, usd_value, privacy_level, confidentiality_score, tx_hash,
                          block_number, gas_used, gas_price_gwei, transaction_fee, verification_status,
                          status, confirmations, agent_id, agent_execution_id, execution_time_ms,
                          priority_level, tags, metadata, created_at, confirmed_at)
SELECT v.id::uuid, u.id, u.wallet_address, v.tx_type, v.category, v.subcategory, v.amount,
       CASE v.token WHEN 'USDC' THEN '0xa0b86991c6218b36c1d19d4a2e9eb0ce3606eb48'
                    ELSE '0x0000000000000000000000000000000000000000' END,
       v.token, round(v.amount * CASE v.token WHEN 'ETH' THEN 3150 ELSE 1 END, 2),
       v.privacy, v.conf,
       CASE WHEN v.status = 'confirmed'
            THEN '0x' || encode(sha256(convert_to('enigma-demo:tx-hash:' || v.id, 'UTF8')), 'hex') END,
       CASE WHEN v.status = 'confirmed' THEN 23800000 - floor(extract(epoch FROM v.age) / 12)::bigint END,
       CASE WHEN v.status = 'confirmed' THEN 142000 END,
       CASE WHEN v.status = 'confirmed' THEN 16.500000000 END,
       CASE WHEN v.status = 'confirmed' THEN round(142000 * 16.5 / 1000000000, 18) END,
       CASE WHEN v.status = 'confirmed' THEN 'verified' ELSE 'pending' END,
       v.status, CASE WHEN v.status = 'confirmed' THEN 48 ELSE 0 END,
       v.agent_id::uuid,
       CASE WHEN v.agent_id IS NOT NULL THEN 'demo-exec-' || right(v.id, 4) END,
       CASE WHEN v.agent_id IS NOT NULL THEN 450 + 37 * right(v.id, 2)::int END,
       CASE WHEN v.tx_type = 'governance_vote' THEN 3 ELSE 5 END,
       jsonb_build_array(v.category, v.tx_type),
       jsonb_build_object('demo', true),
       now() - v.age,
       CASE WHEN v.status = 'confirmed' THEN now() - v.age + interval '90 seconds' END
  FROM (VALUES
    ('70000000-0000-4000-8000-000000000001', '11111111-1111-4111-8111-111111111111', 'aaaaaaaa-0000-4000-8000-000000000001', 'agent_activation',    'agent',      'yield_optimizer_pro', 0,      'ETH',  'private',   80.00, 'confirmed', interval '56 days'),
    ('70000000-0000-4000-8000-000000000002', '11111111-1111-4111-8111-111111111111', 'aaaaaaaa-0000-4000-8000-000000000002', 'agent_activation',    'agent',      'privacy_sentinel',    0,      'ETH',  'private',   80.00, 'confirmed', interval '41 days'),
    ('70000000-0000-4000-8000-000000000003', '11111111-1111-4111-8111-111111111111', 'aaaaaaaa-0000-4000-8000-000000000001', 'yield_harvest',       'defi',       'auto_compound',       0.1250, 'ETH',  'private',   78.50, 'confirmed', interval '28 days'),
    ('70000000-0000-4000-8000-000000000004', '11111111-1111-4111-8111-111111111111', 'aaaaaaaa-0000-4000-8000-000000000001', 'yield_harvest',       'defi',       'auto_compound',       0.1410, 'ETH',  'private',   78.50, 'confirmed', interval '7 days'),
    ('70000000-0000-4000-8000-000000000005', '11111111-1111-4111-8111-111111111111', 'aaaaaaaa-0000-4000-8000-000000000001', 'rebalance',           'defi',       'aave_to_compound',    5000,   'USDC', 'private',   76.00, 'confirmed', interval '15 days'),
    ('70000000-0000-4000-8000-000000000006', '11111111-1111-4111-8111-111111111111', NULL,                                   'governance_vote',     'governance', 'EIP-42 fee switch',   0,      'ETH',  'public',    40.00, 'confirmed', interval '22 days'),
    ('70000000-0000-4000-8000-000000000007', '11111111-1111-4111-8111-111111111111', NULL,                                   'zk_proof_generation', 'privacy',    'groth16',             0,      'ETH',  'maximum',   97.00, 'confirmed', interval '9 days'),
    ('70000000-0000-4000-8000-000000000008', '11111111-1111-4111-8111-111111111111', 'aaaaaaaa-0000-4000-8000-000000000001', 'yield_harvest',       'defi',       'auto_compound',       0.0320, 'ETH',  'private',   78.50, 'pending',   interval '2 hours'),
    ('70000000-0000-4000-8000-000000000009', '22222222-2222-4222-8222-222222222222', 'aaaaaaaa-0000-4000-8000-000000000004', 'agent_activation',    'agent',      'arbitrage_hunter',    0,      'ETH',  'private',   80.00, 'confirmed', interval '11 days'),
    ('70000000-0000-4000-8000-000000000010', '22222222-2222-4222-8222-222222222222', 'aaaaaaaa-0000-4000-8000-000000000004', 'yield_harvest',       'defi',       'arbitrage_profit',    0.0910, 'ETH',  'private',   74.00, 'confirmed', interval '4 days'),
    ('70000000-0000-4000-8000-000000000011', '33333333-3333-4333-8333-333333333333', 'aaaaaaaa-0000-4000-8000-000000000005', 'rebalance',           'defi',       'range_recenter',      12000,  'USDC', 'anonymous', 83.00, 'confirmed', interval '16 days'),
    ('70000000-0000-4000-8000-000000000012', '44444444-4444-4444-8444-444444444444', NULL,                                   'token_transfer',      'transfer',   'erc20',               0.25,   'ETH',  'public',    35.00, 'confirmed', interval '21 days'),
    ('70000000-0000-4000-8000-000000000013', '55555555-5555-4555-8555-555555555555', 'aaaaaaaa-0000-4000-8000-000000000003', 'yield_harvest',       'defi',       'fee_rebate',          150,    'USDC', 'maximum',   93.00, 'confirmed', interval '6 days')
  ) AS v(id, user_id, agent_id, tx_type, category, subcategory, amount, token, privacy, conf, status, age)
  JOIN users u ON u.id = v.user_id::uuid
 WHERE NOT EXISTS (SELECT 1 FROM transactions t WHERE t.id = v.id::uuid);

-- The leaderboard reads the rows above.
SELECT refresh_agent_leaderboard();
