-- Example house rules for DFS bid submissions: a starting point for your own (sdk/docs/rule-api.md).
-- Their tests are the cases in ../cases; run them with
--   flowguard test --rules examples/rule-tests/rules examples/rule-tests/cases

fg.require_api(1)
local util = require("flowguard.util")

return {
  {
    id = "ACME-MAX-VOLUME",
    severity = "warning",
    description = "A bid offers at most 10 MW from one DFS unit (our units are smaller; more is a typo)",
    spec = "ACME trading desk policy TD-7 (unit capacities)",
    types = { "dfs.bid-submission" },
    record = function(rec, report)
      local mw = util.num(rec["DFS Volume MW"])
      if mw and mw > 10 then
        report("DFS Volume MW", ("\"DFS Volume MW\" is %s; expected at most 10 MW for one unit"):format(rec:raw("DFS Volume MW")))
      end
    end,
  },
  {
    id = "ACME-ONE-EVENT",
    severity = "error",
    description = "A submission bids for one DFS event only (we submit one file per event)",
    spec = "ACME trading desk policy TD-2 (one file per event)",
    types = { "dfs.bid-submission" },
    document = function(records, report)
      local events = records:column("Event ID")
      local first = events[1]
      for i = 2, #records do
        if events[i] ~= nil and first ~= nil and events[i] ~= first then
          report{ record = i, field = "Event ID",
                  message = ("\"Event ID\" is %s; expected %s, the event of record 1"):format(tostring(events[i]), tostring(first)) }
        end
      end
    end,
  },
  {
    id = "ACME-UNIT-PREFIX",
    severity = "error",
    description = "DFS Unit IDs are ours: they start with ACME-",
    spec = "ACME trading desk policy TD-1 (unit naming)",
    types = { "dfs.bid-submission" },
    record = function(rec, report)
      local unit = util.str(rec["DFS Unit ID"])
      if unit and unit:sub(1, 5) ~= "ACME-" then
        report("DFS Unit ID", ("\"DFS Unit ID\" is %s; expected a unit id starting with ACME-"):format(fg.preview(unit)))
      end
    end,
  },
}
