-- HubSpot CRM v3 contact requests for the bench workloads, and the one line run.sh reads from
-- every wrk run. Each workload script loads this file, sets `shapes.queue` in init(), and wrk
-- then sends the queue's requests in turn, over and over, on each of its connections.
local shapes = {}

local HEADERS = {
  ["Authorization"] = "Bearer pat-na1-00000000-1111-2222-3333-444444444444",
  ["Content-Type"] = "application/json",
  ["Accept"] = "application/json",
  ["User-Agent"] = "crm-sync-worker/2.3",
}

local ALLOWED_DOMAIN = "northwind.co"
local BLOCKED_DOMAIN = "example.org"    -- blocked by bench/rules.yaml

local function json_object(pairs_in_order)
  local out = {}
  for i, kv in ipairs(pairs_in_order) do
    out[i] = string.format('"%s":"%s"', kv[1], kv[2])
  end
  return "{" .. table.concat(out, ",") .. "}"
end

-- One contact's properties, about 395 bytes. The email is the fifth of fifteen fields, so a
-- reader has to get past other fields to find it. `single` adds the two fields (about 55 bytes)
-- a one-contact create carries on top of a batch input.
local function properties(n, domain, single)
  local fields = {
    { "firstname", "Avery" },
    { "lastname", "Quinn-" .. n },
    { "company", "Northwind Traders" },
    { "jobtitle", "Director of Operations" },
    { "email", string.format("avery.quinn.%05d@%s", n, domain) },
    { "phone", string.format("+1 (555) 014-%04d", n % 10000) },
    { "address", string.format("%d Harbor Road, Floor 3", 200 + n % 700) },
    { "city", "Portland" },
    { "state", "OR" },
    { "zip", "97201" },
    { "country", "United States" },
    { "industry", "WHOLESALE" },
    { "lifecyclestage", "lead" },
    { "hs_lead_status", "NEW" },
    { "website", "https://www.northwind.co" },
  }
  if single then
    fields[#fields + 1] = { "mobilephone", "+1 (555) 015-0042" }
    fields[#fields + 1] = { "annualrevenue", "12400000" }
  end
  return json_object(fields)
end

-- 64 GETs of one contact each, all different ids.
function shapes.reads()
  local queue = {}
  for i = 1, 64 do
    local path = string.format("/crm/v3/objects/contacts/%d?properties=email,firstname,lastname&archived=false",
      2000 + 53 * i)
    queue[i] = wrk.format("GET", path, HEADERS)
  end
  return queue
end

-- 32 single creates, each body 582 bytes (581 when blocked): properties and one association to
-- a company. The even ones have an email in the blocked domain.
function shapes.creates()
  local queue = {}
  for i = 1, 32 do
    local domain = (i % 2 == 0) and BLOCKED_DOMAIN or ALLOWED_DOMAIN
    local body = string.format('{"properties":%s,"associations":[{"to":{"id":"%d"},"types":'
      .. '[{"associationCategory":"HUBSPOT_DEFINED","associationTypeId":279}]}]}',
      properties(i, domain, true), 7000 + i)
    queue[i] = wrk.format("POST", "/crm/v3/objects/contacts", HEADERS, body)
  end
  return queue
end

-- 2 batch creates of 100 inputs (about 41 KB each). The second has a blocked email in its
-- last input, where a gate only finds it after reading the whole body.
function shapes.batches()
  local queue = {}
  for b = 1, 2 do
    local inputs = {}
    for i = 1, 100 do
      local domain = (b == 2 and i == 100) and BLOCKED_DOMAIN or ALLOWED_DOMAIN
      inputs[i] = '{"properties":' .. properties(1000 * b + i, domain, false) .. "}"
    end
    local body = '{"inputs":[' .. table.concat(inputs, ",") .. "]}"
    queue[b] = wrk.format("POST", "/crm/v3/objects/contacts/batch/create", HEADERS, body)
  end
  return queue
end

-- wrk asks for each request to send through this global; one wrk thread, so one counter.
local sent = 0
function request()
  sent = sent + 1
  return shapes.queue[(sent - 1) % #shapes.queue + 1]
end

-- wrk calls this global once at the end; run.sh parses the BENCH line.
function done(summary, latency, _)
  local seconds = summary.duration / 1e6
  local e = summary.errors
  io.write(string.format(
    "BENCH requests=%d seconds=%.3f rps=%.1f p50_ms=%.3f p99_ms=%.3f http_errors=%d socket_errors=%d\n",
    summary.requests, seconds, summary.requests / seconds, latency:percentile(50) / 1e3,
    latency:percentile(99) / 1e3, e.status, e.connect + e.read + e.write + e.timeout))
end

return shapes
