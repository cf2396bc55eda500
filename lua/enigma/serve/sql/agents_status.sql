-- Activation $1's status and failures, locked for an operator's change (`enigma agents pause|resume`).
select status, consecutive_failures, last_error from user_agents where id = $1 for update
