-- pipeline16.lua: a wrk script that sends 16 pipelined `GET /` requests per
-- write, for the benches' "16-deep pipelined GET" rows.
init = function(args)
  local r = {}
  for i = 1, 16 do r[i] = wrk.format("GET", "/") end
  req = table.concat(r)
end
request = function() return req end
