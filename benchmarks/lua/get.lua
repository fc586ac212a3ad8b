-- A plain GET of the URL given to wrk; headers (Cookie, Authorization) come from -H.
dofile(os.getenv("BENCH_LUA_DIR") .. "/report.lua")
