-- wrk_post.lua - the raw HTTP limit for one SOAP invoke: wrk replays, on
-- every kept-alive connection, the exact request upnpcp sends.
--
--   wrk -t2 -c16 -d5s -s bench/wrk_post.lua URL -- REQUEST_FILE
--
-- REQUEST_FILE holds the request bytes as the control point sends them
-- (`ucp_bench_invoke --dump-request FILE`, which captures one
-- ucp_invoke_url on a socket of its own and sets Host to URL's authority;
-- ucp_bench_invoke runs wrk this way itself). The request is built once per
-- thread (wrk's static path: no Lua per request, no response parsing).
-- Without a file: SwitchPower:1 GetStatus as upnpcp sends it, on URL's
-- path, with wrk's Host header.
-- At the end one line for ucp_bench_invoke:
--   UCP_WRK requests=N duration_us=D p50_us=A p99_us=B connect=..
--   read=.. write=.. status=.. timeout=..
-- (status counts responses >= 400: every request must answer 200).

local type_sp = "urn:schemas-upnp-org:service:SwitchPower:1"

function init(args)
  local file = args[1] or os.getenv("UCP_WRK_REQUEST")
  if file then
    local f = assert(io.open(file, "rb"))
    local raw = f:read("*a")
    f:close()
    assert(raw:find("\r\n\r\n", 1, true), file .. ": not an HTTP request")
    -- wrk.init() calls init(), then wrk.format() once: the request bytes.
    wrk.format = function() return raw end
    return
  end
  wrk.method = "POST"
  wrk.headers["User-Agent"] = "Linux UPnP/1.1 upnpcp/0.1.0"
  wrk.headers["Accept"] = "*/*"
  wrk.headers["Content-Type"] = 'text/xml; charset="utf-8"'
  wrk.headers["SOAPACTION"] = '"' .. type_sp .. '#GetStatus"'
  wrk.body = '<?xml version="1.0" encoding="utf-8"?>' ..
    '<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/" ' ..
    's:encodingStyle="http://schemas.xmlsoap.org/soap/encoding/">' ..
    '<s:Body><u:GetStatus xmlns:u="' .. type_sp .. '"></u:GetStatus>' ..
    '</s:Body></s:Envelope>'
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "UCP_WRK requests=%d duration_us=%d p50_us=%d p99_us=%d connect=%d " ..
    "read=%d write=%d status=%d timeout=%d\n",
    summary.requests, summary.duration, latency:percentile(50),
    latency:percentile(99), e.connect, e.read, e.write, e.status, e.timeout))
end
