-- The HTTP headers of the metering-service appointment request (POST
-- /metering-services/v1/{mpid}/appoint), given with `flowguard check --header NAME=VALUE` and seen
-- here as fg.data.headers. Header names are case-insensitive (HTTP). Without any --header the
-- headers are not checked: the body alone is what the file holds.

local SPEC = "SSI Metering Service API overview (appoint request headers)"

local function header(name)
  local headers = fg.data.headers
  if not headers then return nil, false end
  local wanted = name:lower()
  for _, key in ipairs(headers:keys()) do
    if key:lower() == wanted then return headers[key], true end
  end
  return nil, true
end

local UUID = "^%x%x%x%x%x%x%x%x%-%x%x%x%x%-%x%x%x%x%-%x%x%x%x%-%x%x%x%x%x%x%x%x%x%x%x%x$"

return {
  {
    id = "SSI-HEADER-API-KEY",
    severity = "error",
    description = "the appoint request carries an X-API-KEY header that is a UUID",
    spec = SPEC,
    types = { "ssi.ms-appointment-request" },
    document = function(records, report, root)
      local value, given = header("X-API-KEY")
      if not given then return end
      if value == nil then
        report { pointer = "", message = "the X-API-KEY header is missing; expected the API key, a UUID (8-4-4-4-12 hexadecimal digits)" }
      elseif not value:match(UUID) then
        report { pointer = "", message = ("the X-API-KEY header is %s; expected a UUID (8-4-4-4-12 hexadecimal digits)"):format(fg.preview(value)) }
      end
    end,
  },
  {
    id = "SSI-HEADER-IDEMPOTENCY-KEY",
    severity = "error",
    description = "the appoint request carries a non-empty X-IDEMPOTENCY-KEY header",
    spec = SPEC,
    types = { "ssi.ms-appointment-request" },
    document = function(records, report, root)
      local value, given = header("X-IDEMPOTENCY-KEY")
      if not given then return end
      if value == nil or value:match("^%s*$") then
        report { pointer = "", message = "the X-IDEMPOTENCY-KEY header is missing or empty; expected a fresh unique value per appointment (a UUID is a good choice), repeated only when retrying" }
      end
    end,
  },
}
