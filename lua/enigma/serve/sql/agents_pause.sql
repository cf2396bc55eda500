-- Pauses the activations a tick asked to pause: $1 is a JSON array of {id, user_id}; only the
-- user's own active activations are touched.
update user_agents ua set status = 'paused'
  from jsonb_to_recordset($1::jsonb) as x(id uuid, user_id uuid)
 where ua.id = x.id and ua.user_id = x.user_id and ua.status = 'active'
