-- The service-provider appointment flow across messages, by correlation id:
--   IF-031 [MSApp]/[DSApp]            the supplier asks for an appointment  -> awaiting IF-032
--   IF-032 [..AppInitialResp]          responseCode R: the process ends Failed; else -> awaiting IF-035
--   IF-035 [..AppAccepted/Rejected/Lapsed]  R or L: Failed; A: -> awaiting IF-036
--   IF-036 [..AppActive]               the process ends Success
-- A message out of this order, for a correlation id no IF-031 started, or for a finished process
-- is an error; every step taken is an info finding.
--
-- It runs only when the engine is asked to follow flows (`--flows`, fg.data.options.flows == true),
-- in which case the engine checks all files in senderTimestamp order with one rule host, so the
-- state below (this file's globals) carries from one message to the next.
-- Correlation id: CommonBlock.S1.senderCorrelationID, else CommonBlock.D0.initialCorrelationID.

processes = {}  -- correlation id -> { kind = "MS"|"DS", state = "awaiting IF-032"|..., ended = "Failed"|"Success"|nil, at = "IF-032" }

fg.require_api(1)
local dip = require("flowguard.dip")
local util = require("flowguard.util")
local text = util.text  -- a non-empty string, else nil

local function flows_enabled()
  local data = fg.data
  return data ~= nil and util.get(util.get(data, "options"), "flows") == true
end

-- The step a message is: interface, kind (MS/DS) and, for responses, the outcome code. Keys are
-- read as the spec spells them (dip.each(records, "exact")).
local function step(m)
  local interface, code = text(m.interface), text(m.event_code)
  if interface == nil or code == nil then return nil end
  local kind, rest = code:match("^%[([MD]S)App(.*)%]$")
  if kind == nil then return nil end
  local response = text(m.response_code)
  if interface == "IF-031" and rest == "" then return interface, kind, code end
  if interface == "IF-032" and rest == "InitialResp" then return interface, kind, code, response end
  if interface == "IF-035" then
    local outcome = ({ Accepted = "A", Rejected = "R", Lapsed = "L" })[rest]
    if outcome then return interface, kind, code, response or outcome end
  end
  if interface == "IF-036" and rest == "Active" then return interface, kind, code end
  return nil
end

local function expected_next(state)
  return state:match("^awaiting (.*)$") or state
end

return {
  {
    id = "DIP-FLOW-APPOINTMENT",
    severity = "info",
    description = "Service-provider appointment flow IF-031 -> IF-032 -> IF-035 -> IF-036 by correlation id (with --flows)",
    spec = "Metering Service Appointment process (IF-031 MSApp, IF-032 R ends Failed, IF-035 R/L Failed and A continues, IF-036 Success)",
    types = {
      "dip.IF-031.MSApp", "dip.IF-031.DSApp",
      "dip.IF-032.MSAppInitialResp", "dip.IF-032.DSAppInitialResp",
      "dip.IF-035.MSAppAccepted", "dip.IF-035.MSAppRejected", "dip.IF-035.MSAppLapsed",
      "dip.IF-035.DSAppAccepted", "dip.IF-035.DSAppRejected", "dip.IF-035.DSAppLapsed",
      "dip.IF-036.MSAppActive", "dip.IF-036.DSAppActive",
    },
    document = function(records, report)
      if not flows_enabled() then return end
      for m in dip.each(records, "exact") do
        local interface, kind, code, response = step(m)
        local id = text(m.correlation) or text(m.initial_correlation)
        if interface ~= nil and id ~= nil then
          local at = { "CommonBlock", "S1", "senderCorrelationID" }
          local function info(what) report{ record = m.index, path = at, message = ("process %s: %s"):format(id, what) } end
          local function fail(what) report{ record = m.index, path = at, severity = "error", message = ("process %s: %s"):format(id, what) } end
          local p = processes[id]
          local label = ("%s %s"):format(interface, code)
          if interface == "IF-031" then
            if p == nil then
              processes[id] = { kind = kind, state = "awaiting IF-032" }
              info(label .. " received, awaiting IF-032")
            elseif p.ended then
              fail(("%s for a process that already ended %s at %s, expected a new correlation id"):format(label, p.ended, p.at))
            else
              fail(("%s for a process already started (%s), expected a new correlation id"):format(label, p.state))
            end
          elseif p == nil then
            fail(("%s, but no IF-031 started this process, expected IF-031 [%sApp] first"):format(label, kind))
          elseif p.ended then
            fail(("%s for a process that already ended %s at %s, expected no further messages"):format(label, p.ended, p.at))
          elseif p.state ~= "awaiting " .. interface then
            fail(("%s out of order: the process is %s, expected %s"):format(label, p.state, expected_next(p.state)))
          elseif interface == "IF-032" then
            if response == "R" then
              p.ended, p.at, p.state = "Failed", interface, "Failed"
              info(label .. " rejected the request (responseCode R), process Failed")
            else
              p.state = "awaiting IF-035"
              info(("%s received (responseCode %s), awaiting IF-035"):format(label, response or "absent"))
            end
          elseif interface == "IF-035" then
            if response == "R" or response == "L" then
              p.ended, p.at, p.state = "Failed", interface, "Failed"
              info(("%s: appointment %s (responseCode %s), process Failed"):format(label, response == "R" and "rejected" or "lapsed", response))
            else
              p.state = "awaiting IF-036"
              info(("%s: appointment accepted (responseCode %s), awaiting IF-036"):format(label, response or "absent"))
            end
          else  -- IF-036
            p.ended, p.at, p.state = "Success", interface, "Success"
            info(label .. " received, process Success")
          end
        end
      end
    end,
  },
}
