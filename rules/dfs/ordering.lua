-- Things that must come before other things: event windows, effective periods, exclusion conflicts.
-- Values that do not parse are left alone (their format is another rule's or the schema's finding).

local SPEC = "DFS API Schema V1.6"

local function index(t, k) return t[k] end

-- rec[key] when rec is an object view; nil for anything else (a record that is not an object).
local function get(rec, key)
  local ok, v = pcall(index, rec, key)
  if ok then return v end
  return nil
end

local function str(rec, key)
  local v = get(rec, key)
  if type(v) == "string" then return v end
  return nil
end

-- Minutes after midnight of an HH:MM window end; "00:00" as an end means midnight at the end of the day.
local function window_end(s)
  local m = fg.parse_time(s)
  if m == 0 then return 1440 end
  return m
end

local function check_window(rec, report, from_key, to_key)
  local from_s, to_s = str(rec, from_key), str(rec, to_key)
  if not from_s or not to_s then return end
  local from, to = fg.parse_time(from_s), window_end(to_s)
  if from and to and to <= from then
    report(to_key, ("%s %s is not after %s %s; expected the window to end after it starts (an end of \"00:00\" means midnight at the end of the day)")
      :format(to_key, fg.preview(to_s), from_key, fg.preview(from_s)))
  end
end

local function check_dates(rec, report, from_key, to_key)
  local from_s, to_s = str(rec, from_key), str(rec, to_key)
  if not from_s or not to_s then return end
  local from, to = fg.day_number(from_s), fg.day_number(to_s)
  if from and to and to < from then
    report(to_key, ("%s %s is before %s %s; expected it on or after that date")
      :format(to_key, fg.preview(to_s), from_key, fg.preview(from_s)))
  end
end

local function check_datetimes(rec, report, from_key, to_key)
  local from_s, to_s = str(rec, from_key), str(rec, to_key)
  if not from_s or not to_s then return end
  local from, to = fg.parse_datetime(from_s), fg.parse_datetime(to_s)
  if from and to and to <= from then
    report(to_key, ("%s %s is not after %s %s; expected the conflict to end after it starts")
      :format(to_key, fg.preview(to_s), from_key, fg.preview(from_s)))
  end
end

return {
  {
    id = "DFS-WINDOW-ORDER",
    severity = "error",
    description = "From_Local is before To_Local (and From_UTC before To_UTC)",
    spec = SPEC .. " §6 field tables (From_Local, To_Local) and §8 Appendix, ABSVD Non-Domestic (From_UTC, To_UTC)",
    types = { "dfs.*" },
    record = function(rec, report)
      check_window(rec, report, "From_Local", "To_Local")
      check_window(rec, report, "From_UTC", "To_UTC")
    end,
  },
  {
    id = "DFS-EFFECTIVE-ORDER",
    severity = "error",
    description = "MPANs Effective From is not after MPANs Effective To; Consent Effective From is not after Consent Effective To",
    spec = SPEC .. " §6, Unit Meter Point Schedule Submission field table",
    types = { "dfs.unit-meter-point-schedule", "dfs.mpan-portfolio" },
    record = function(rec, report)
      check_dates(rec, report, "MPANs Effective From", "MPANs Effective To")
      check_dates(rec, report, "Consent Effective From", "Consent Effective To")
    end,
  },
  {
    id = "DFS-CONFLICT-ORDER",
    severity = "error",
    description = "An exclusion conflict ends after it starts (local and UTC)",
    spec = SPEC .. " §8 Appendix, Participant Exclusion Report API Response Schema",
    types = { "dfs.exclusion-report" },
    record = function(rec, report)
      check_datetimes(rec, report, "ConflictStart_local", "ConflictEnd_local")
      check_datetimes(rec, report, "ConflictStart_UTC", "ConflictEnd_UTC")
    end,
  },
}
