-- Workload "batch": batch creates of 100 inputs (41 KB), every second batch with one blocked
-- email in its last input (see shapes.lua).
local shapes = dofile((debug.getinfo(1, "S").source:sub(2):match("(.*/)") or "./") .. "shapes.lua")
function init() shapes.queue = shapes.batches() end
