-- For the engine's per-call settings tests: a record rule that says what the call's data is, so
-- a test can see what every rule host (the workers' too) had for that call.
return {
  {
    id = "TEST-CALL-DATA", severity = "info", description = "says what the call's data is, for records with amount 7",
    spec = "engine request tests", types = { "test.order" },
    record = function(rec, report)
      if rec.amount ~= 7 then return end
      local headers = fg.data.headers
      report("amount", ("now %s header %s state %s"):format(fg.data.options.now,
          tostring(headers and headers["X-Test"]), tostring(fg.state.enabled())))
    end,
  },
}
