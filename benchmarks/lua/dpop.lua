-- A GET with a DPoP-bound token (Authorization from -H) and, each time, the next of the fresh
-- proofs in BENCH_PROOFS (one a line, each usable once): a proof used twice would be refused.
dofile(os.getenv("BENCH_LUA_DIR") .. "/report.lua")
local proofs = {}
for line in io.lines(os.getenv("BENCH_PROOFS")) do
  proofs[#proofs + 1] = line
end
local used = 0
function request()
  used = used % #proofs + 1
  wrk.headers["DPoP"] = proofs[used]
  return wrk.format()
end
