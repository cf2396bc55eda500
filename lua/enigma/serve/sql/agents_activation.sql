-- Activation $1's status, failures and last error, whatever its status (`enigma agents tick`
-- says why one that is not active does not tick). agent_executor sees every activation; the
-- tick rows join the user, whom it sees only while the user has an active activation.
select id, status, consecutive_failures, last_error from user_agents where id = $1
