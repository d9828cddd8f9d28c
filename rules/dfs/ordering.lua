-- Things that must come before other things: event windows, effective periods, exclusion conflicts.
-- Values that do not parse are left alone (their format is another rule's or the schema's finding).
-- Windows and effective periods are native pair checks (no Lua per record); a conflict must end
-- strictly after it starts, which datetime_order (FROM not after TO) does not say, so that stays here.

local SPEC = "DFS API Schema V1.6"

fg.require_api(1)
local util = require("flowguard.util")

local function check_datetimes(rec, report, from_key, to_key)
  -- Record checks run on records that are JSON objects only; an absent key reads as nil.
  local from_s, to_s = util.str(rec[from_key]), util.str(rec[to_key])
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
    fields = {
      { check = "time_order", "From_Local", "To_Local" },  -- an end of "00:00" is midnight at the end of the day
      { check = "time_order", "From_UTC", "To_UTC" },
    },
  },
  {
    id = "DFS-EFFECTIVE-ORDER",
    severity = "error",
    description = "MPANs Effective From is not after MPANs Effective To; Consent Effective From is not after Consent Effective To",
    spec = SPEC .. " §6, Unit Meter Point Schedule Submission field table",
    types = { "dfs.unit-meter-point-schedule", "dfs.mpan-portfolio" },
    fields = {
      { check = "date_order", "MPANs Effective From", "MPANs Effective To" },
      { check = "date_order", "Consent Effective From", "Consent Effective To" },
    },
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
