-- Rules for the test that document rules running beside the record stage (several jobs) report
-- what they report after it (one job).
return {
  {
    id = "TEST-ORDER-REPEATS", severity = "warning", description = "records repeat",
    spec = "test spec §3", types = { "test.order" },
    document = function(records, report)
      for _, d in ipairs(records:duplicates()) do
        report{ record = d.duplicate, message = ("record %d repeats record %d"):format(d.duplicate, d.first) }
      end
      report{ message = ("%d records"):format(#records) }
    end,
  },
  {
    -- Fails on a record late in the batch (in the second job's range): its document check must then
    -- report nothing, as when it is skipped after the record stage.
    id = "TEST-HALF-BROKEN", severity = "error", description = "a rule whose record check fails late",
    spec = "test spec §4", types = { "test.order" },
    record = function(rec, report)
      if rec.id == 3001 then error("record 3001 is too much") end
      if rec.id == 5 then report("id", "id 5 seen") end
    end,
    document = function(records, report)
      report{ message = "the document check ran" }
    end,
  },
  {
    -- Fails early (in the first chunk of records) and would report again later: after its failure
    -- it is skipped, so the later record reports nothing with any number of jobs.
    id = "TEST-EARLY-BROKEN", severity = "error", description = "a rule whose record check fails early",
    spec = "test spec §5", types = { "test.order" },
    record = function(rec, report)
      if rec.id == 101 then error("record 101 is too much") end
      if rec.id == 50 or rec.id == 2500 then report("id", ("id %d seen"):format(rec.id)) end
    end,
  },
}
