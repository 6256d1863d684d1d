-- The answers of the fake HubSpot to contact creates (nginx.conf beside this file calls them).
--
-- Every handler reads the request body to its end before it answers, as HubSpot does: a server
-- that answers early leaves the rest of the body unread, and the proxy then cannot put that
-- upstream connection back in its pool, which would charge it a TLS handshake per request.
local answers = {}

local STAMP = "2024-06-03T09:30:00.000Z"

-- A created contact as HubSpot returns it (SimplePublicObject), about 275 bytes.
local function created_contact(id, email)
  return table.concat({
    '{"id":"', id, '","properties":{',
    '"createdate":"', STAMP, '","email":"', email, '","hs_object_id":"', id, '",',
    '"lastmodifieddate":"', STAMP, '"},',
    '"createdAt":"', STAMP, '","updatedAt":"', STAMP, '","archived":false}',
  })
end

-- The batch answer does not depend on the request: 100 results (about 27 KB), built once per
-- worker. hubgate, which forwards 99 inputs when it blocks one, gets the same 100 back.
local BATCH_ANSWER
do
  local results = {}
  for i = 1, 100 do
    results[i] = created_contact(tostring(61000000 + i), string.format("buyer%03d@northwind.co", i))
  end
  BATCH_ANSWER = '{"status":"COMPLETE","results":[' .. table.concat(results, ",")
    .. '],"startedAt":"' .. STAMP .. '","completedAt":"2024-06-03T09:30:00.120Z"}'
end

local last_id = 60000000

-- POST /crm/v3/objects/contacts: 201 and a contact with an id never given before.
function answers.create()
  ngx.req.read_body()
  last_id = last_id + 1
  ngx.status = 201
  ngx.print(created_contact(tostring(last_id), "new.contact@northwind.co"))
end

-- POST /crm/v3/objects/contacts/batch/create: 201 and the fixed batch answer.
function answers.batch_create()
  ngx.req.read_body()
  ngx.status = 201
  ngx.print(BATCH_ANSWER)
end

return answers
