-- wrk script for the refresh-token grant with rotation (RFC 6749 §6, RFC 9700 §4.14).
-- Every refresh token is single-use: each thread keeps a pool of live tokens, takes one
-- for each request and puts back the one the answer rotates it into.
--   WRK_TOKENS_FILE: one refresh token per line (more than the connections per thread)
--   WRK_CLIENT_ID:   the public client the tokens were issued to
--   WRK_CASE_LUA:    bench/case.lua, whose done() prints the RESULT line
dofile(os.getenv("WRK_CASE_LUA"))  -- done(): the same RESULT line as every case
local client_id = os.getenv("WRK_CLIENT_ID") or "bench-public"
local counter = 0
local all = {}

for line in io.lines(os.getenv("WRK_TOKENS_FILE")) do
  if line ~= "" then table.insert(all, line) end
end

function setup(thread)
  counter = counter + 1
  thread:set("id", counter)
  thread:set("pool_text", "")
  local mine = {}
  for i = counter, #all, 2 do table.insert(mine, all[i]) end  -- wrk -t2: every other token
  thread:set("pool_text", table.concat(mine, "\n"))
end

function init(args)
  pool = {}
  for token in string.gmatch(pool_text, "[^\n]+") do table.insert(pool, token) end
  empty = 0
end

function request()
  local token = table.remove(pool)
  if token == nil then
    empty = empty + 1
    token = "cxr_pool_exhausted"
  end
  return wrk.format("POST", nil, {["Content-Type"] = "application/x-www-form-urlencoded"},
    "grant_type=refresh_token&client_id=" .. client_id .. "&refresh_token=" .. token)
end

function response(status, headers, body)
  local token = string.match(body, '"refresh_token":"([^"]+)"')
  if token then table.insert(pool, token) end
end
