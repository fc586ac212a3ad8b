-- A paced GET: each connection waits BENCH_DELAY_MS between an answer and its next request, so
-- the load stays below saturation and the latencies measure service time, not queueing.
dofile(os.getenv("BENCH_LUA_DIR") .. "/report.lua")
local pause = tonumber(os.getenv("BENCH_DELAY_MS") or "0")
function delay()
  return pause
end
