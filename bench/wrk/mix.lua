-- Workload "mix": what an integration that mostly reads sends. In every 20 requests, 16 reads,
-- 3 single creates and 1 batch create, spread out (see shapes.lua for each request).
local shapes = dofile((debug.getinfo(1, "S").source:sub(2):match("(.*/)") or "./") .. "shapes.lua")

local PATTERN = "RRRRCRRRBRRRCRRRRRCR"    -- R read, C create, B batch

function init()
  local pools = { R = shapes.reads(), C = shapes.creates(), B = shapes.batches() }
  local taken = { R = 0, C = 0, B = 0 }
  shapes.queue = {}
  -- 32 rounds of the pattern: every create is sent three times and every batch 16 times,
  -- so half of the creates and half of the batches sent are blocked ones.
  for _ = 1, 32 do
    for kind in PATTERN:gmatch(".") do
      local pool = pools[kind]
      taken[kind] = taken[kind] % #pool + 1
      shapes.queue[#shapes.queue + 1] = pool[taken[kind]]
    end
  end
end
