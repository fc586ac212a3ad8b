-- POST a JSON login body (BENCH_BODY) to the URL given to wrk, as fast as the server answers.
dofile(os.getenv("BENCH_LUA_DIR") .. "/report.lua")
wrk.method = "POST"
wrk.body = os.getenv("BENCH_BODY")
wrk.headers["Content-Type"] = "application/json"
