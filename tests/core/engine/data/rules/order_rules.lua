return {
  {
    id = "TEST-WHEN-DATE", severity = "error", description = "when is a real dd-mm-yyyy date",
    spec = "test spec §1.2", types = { "test.order" },
    fields = { { check = "date_dmy", "when" } },
  },
  {
    id = "TEST-AMOUNT-DECIMALS", severity = "warning", description = "amount has at most 2 decimals",
    spec = "test spec §1.3", types = { "test.*" },
    fields = { { check = "max_decimals", arg = 2, "amount" } },
  },
  {
    id = "TEST-BIG-AMOUNT", severity = "warning", description = "amounts over 1000 are unusual",
    spec = "test spec §1.4", types = { "test.order" },
    record = function(rec, report)
      if type(rec.amount) == "number" and rec.amount > 1000 then
        report("amount", "amount " .. rec:raw("amount") .. " is over 1000")
      end
    end,
  },
  {
    id = "TEST-LOOPS", severity = "error", description = "a broken rule that never ends",
    spec = "none", types = { "test.report" },
    record = function(rec, report) while true do end end,
  },
  {
    id = "TEST-REPORT-COUNT", severity = "info", description = "counts records",
    spec = "test spec §2", types = { "test.report" },
    document = function(records, report, root)
      report{ pointer = "/data", message = "report has " .. #records .. " records" }
    end,
  },
}
