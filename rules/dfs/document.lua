-- Checks across the records of one document: repeated records, one event per Event ID, one
-- participant per submission, and the pagination block of retrieval responses.

local SPEC = "DFS API Schema V1.6"

fg.require_api(1)
local util = require("flowguard.util")
local dates = require("flowguard.dates")

-- v[key] when v is a view; nil for a value that is not (the document root or the pagination block
-- may be any JSON value). Records are always views: they are indexed directly.
local get = util.get
local day_of = dates.day_of  -- a dd-mm-yyyy or yyyy-mm-dd date's day number


local PAGED = { "dfs.mpan-portfolio", "dfs.settlement-report", "dfs.absvd-domestic", "dfs.absvd-non-domestic",
                "dfs.exclusion-report" }

return {
  {
    id = "DFS-DUPLICATE-RECORD",
    severity = "warning",
    description = "The same record does not appear twice in one document",
    spec = SPEC .. " §5 (records are submitted in batches; a repeated record is counted or rejected twice)",
    types = { "dfs.*" },
    document = function(records, report)
      -- Native: 64-bit content hashes (key order ignored, numbers by source text) checked for
      -- equality, no fingerprint string per record.
      for _, d in ipairs(records:duplicates()) do
        report{ record = d.duplicate,
                message = ("record %d repeats record %d field for field; expected each record once"):format(d.duplicate, d.first) }
      end
    end,
  },
  {
    id = "DFS-EVENT-CONSISTENT",
    severity = "warning",
    description = "Records with the same Event ID agree on Event Type and Delivery Date",
    spec = SPEC .. " §6 Bid Submission and Weekly Settlement field tables (Event ID, Event Type, Delivery Date)",
    types = { "dfs.bid-submission", "dfs.weekly-settlement", "dfs.bid-results", "dfs.settlement-report",
              "dfs.absvd-domestic", "dfs.absvd-non-domestic" },
    document = function(records, report)
      -- One native call per field (records:column), then plain tables: no view lookup per record.
      local cols = {}
      for _, key in ipairs({ "EventID", "Event ID", "EventType", "Event Type", "Delivery Date" }) do
        cols[key] = records:column(key)
      end
      -- first[id][key] = { value, record index, normalised value }: the first well-formed value seen for that event.
      local first = {}
      local days = {}  -- date text -> day number (false: not a date); batches repeat a few dates
      local function compare(i, id, id_key, key, norm, v)
        local f = first[id][key]
        if not f then
          first[id][key] = { v, i, norm }
        elseif f[3] ~= norm then
          report{ record = i, field = key,
                  message = ("%s is %s but record %d of the same %s %d has %s; expected one %s per event")
                    :format(key, fg.preview(v), f[2], id_key, id, fg.preview(f[1]), key) }
        end
      end
      local event_ids, dates = cols["EventID"], cols["Delivery Date"]
      for i = 1, #records do
        -- Event ID / Event Type keys: the Bid Results response spells them EventID / EventType.
        local id_key, type_key = "Event ID", "Event Type"
        if event_ids[i] ~= nil then id_key, type_key = "EventID", "EventType" end
        local id = cols[id_key][i]
        if math.type(id) == "integer" then
          first[id] = first[id] or {}
          -- Compare event types as text and dates as days (either spelling of a date names one day).
          local t = cols[type_key][i]
          if t == "Upwards" or t == "Downwards" then compare(i, id, id_key, type_key, t, t) end
          local d = dates[i]
          if type(d) == "string" then
            local day = days[d]
            if day == nil then
              day = day_of(d) or false
              days[d] = day
            end
            if day then compare(i, id, id_key, "Delivery Date", day, d) end
          end
        end
      end
    end,
  },
  {
    id = "DFS-PARTICIPANT-CONSISTENT",
    severity = "warning",
    description = "All records of one document name the same Registered DFS Participant",
    spec = SPEC .. " §3 (each participant has its own client credentials) and §6 field tables (Registered DFS Participant)",
    types = { "dfs.*" },
    document = function(records, report)
      local first, first_index
      local participants = records:column("Registered DFS Participant")
      for i = 1, #records do
        local p = participants[i]
        if type(p) == "string" and p ~= "" then
          if not first then
            first, first_index = p, i
          elseif p ~= first then
            report{ record = i, field = "Registered DFS Participant",
                    message = ("Registered DFS Participant is %s but record %d names %s; expected one participant per document")
                      :format(fg.preview(p), first_index, fg.preview(first)) }
          end
        end
      end
    end,
  },
  {
    id = "DFS-PAGINATION",
    severity = "error",
    description = "The pagination block is consistent: 1 <= currentPage <= totalPages, pageSize <= 5,000, totalPages = ceil(totalRecords / pageSize), data holds at most pageSize records",
    spec = SPEC .. " §5, API payload size (at most 5,000 records per GET call) and Concept of Pagination",
    types = PAGED,
    document = function(records, report, root)
      local pg = get(root, "pagination")
      if pg == nil then return end
      local function field(key)
        local v = get(pg, key)
        if math.type(v) == "integer" then return v end
        return nil
      end
      local total, current, size, pages = field("totalRecords"), field("currentPage"), field("pageSize"), field("totalPages")
      local function at(key, message) report{ pointer = "/pagination/" .. key, message = message } end

      if total and total < 0 then at("totalRecords", ("totalRecords is %d; expected 0 or more"):format(total)) end
      if pages and pages < 0 then at("totalPages", ("totalPages is %d; expected 0 or more"):format(pages)) end
      if current and current < 1 then
        at("currentPage", ("currentPage is %d; expected 1 or more (pages are numbered from 1)"):format(current))
      elseif current and pages and pages >= 1 and current > pages then
        at("currentPage", ("currentPage is %d but totalPages is %d; expected a page between 1 and %d"):format(current, pages, pages))
      end
      if size and size < 1 then
        at("pageSize", ("pageSize is %d; expected 1 to 5,000"):format(size))
      elseif size and size > 5000 then
        at("pageSize", ("pageSize is %d; expected at most 5,000 (NESO returns no more than 5,000 records per call)"):format(size))
      end
      if size and size >= 1 and #records > size then
        report{ pointer = "/data", message = ("data holds %d records but pageSize is %d; expected at most %d records on a page"):format(#records, size, size) }
      end
      if total and size and pages and total >= 0 and size >= 1 and pages >= 0 then
        local expected = (total + size - 1) // size
        local ok = pages == expected or (total == 0 and pages == 1)
        if not ok then
          at("totalPages", ("totalPages is %d but %d records at %d per page make %d pages; expected %d")
            :format(pages, total, size, expected, expected))
        end
      end
    end,
  },
}
