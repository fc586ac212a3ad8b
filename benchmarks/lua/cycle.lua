-- A GET that cycles through the credentials in BENCH_HEADERS, one "Name: value" a line (16 bearer
-- tokens, or 8 session cookies): each request carries the next one, as many clients would.
dofile(os.getenv("BENCH_LUA_DIR") .. "/report.lua")
local sets = {}
local file = os.getenv("BENCH_HEADERS")
if file ~= nil and file ~= "" then
  for line in io.lines(file) do
    local name, value = line:match("^([^:]+):%s*(.*)$")
    if name ~= nil then
      sets[#sets + 1] = {name, value}
    end
  end
end
local used = 0
function request()
  if #sets == 0 then
    return wrk.format()
  end
  used = used % #sets + 1
  wrk.headers[sets[used][1]] = sets[used][2]
  return wrk.format()
end
