-- Workload "creates": single contact creates with a 582-byte body, every second one with an
-- email in a blocked domain (see shapes.lua).
local shapes = dofile((debug.getinfo(1, "S").source:sub(2):match("(.*/)") or "./") .. "shapes.lua")
function init() shapes.queue = shapes.creates() end
