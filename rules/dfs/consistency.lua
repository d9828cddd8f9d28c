-- Agreement between fields of one record: zone suffixes, delivered = baseline - metered, settlement
-- periods, UTC times, plausible dates and volumes. Each check judges only values of the right type and
-- shape; malformed values are the schema's or the format rules' findings.

local SPEC = "DFS API Schema V1.6"

fg.require_api(1)
local util = require("flowguard.util")
local dates = require("flowguard.dates")

-- Record checks run on records that are JSON objects only, and an absent key reads as nil, so a
-- field is read directly; these keep only values of the expected Lua type.
local function str(rec, key) return util.str(rec[key]) end
local function num(rec, key) return util.num(rec[key]) end
local function int(rec, key) return util.int(rec[key]) end

local hhmm, date_of, gb_offset, dmy_date = dates.hhmm, dates.format_dmy, dates.gb_offset, dates.dmy

local function zone_name(offset) return offset == 60 and "BST, UTC+1" or "GMT, UTC+0" end

-- For an Upwards event, Delivered <unit> is Baseline <unit> minus Metered <unit> within `tolerance`
-- (the weekly settlement's kWh and the settlement report's MWh differ only in unit and precision).
local function delivered_check(unit, tolerance, format, within)
  local baseline_key, metered_key, delivered_key = "Baseline " .. unit, "Metered " .. unit, "Delivered " .. unit
  return function(rec, report)
    if str(rec, "Event Type") ~= "Upwards" then return end
    local baseline, metered, delivered = num(rec, baseline_key), num(rec, metered_key), num(rec, delivered_key)
    if not baseline or not metered or not delivered then return end
    local expected = baseline - metered
    if math.abs(delivered - expected) > tolerance then
      report(delivered_key, ("%s %s is not %s %s minus %s %s (" .. format .. "); expected them to agree%s for an Upwards event")
        :format(delivered_key, fg.preview(delivered), baseline_key, fg.preview(baseline), metered_key, fg.preview(metered), expected, within))
    end
  end
end

local LAUNCH = "01-11-2022"  -- the Demand Flexibility Service began in winter 2022/23

-- Tables built once, not per record.
local TIME_PAIRS = { { "From_Local", "From_UTC" }, { "To_Local", "To_UTC" } }
local DATETIME_PAIRS = { { "ConflictStart_local", "ConflictStart_UTC" }, { "ConflictEnd_local", "ConflictEnd_UTC" } }

return {
  {
    id = "DFS-ZONE-SUFFIX",
    severity = "warning",
    description = "A DFS Unit ID ending in a zone suffix (\"-Z2\") names the record's Zone",
    spec = SPEC .. " §6, Unit Meter Point Schedule Submission field table (Zone, DFS Unit ID) and §8 samples",
    types = { "dfs.unit-meter-point-schedule", "dfs.mpan-portfolio" },
    -- Native: the digits after a final "-Z" (or "-z") of the unit ID against the integer Zone.
    fields = {
      { check = "zone_suffix", "DFS Unit ID", "Zone" },
    },
  },
  {
    id = "DFS-DELIVERED-KWH",
    severity = "warning",
    description = "For an Upwards event, Delivered kWh equals Baseline kWh minus Metered kWh (within 0.01)",
    spec = SPEC .. " §6, Weekly Settlement Submission field table (Baseline kWh, Metered kWh, Delivered kWh)",
    types = { "dfs.weekly-settlement" },
    record = delivered_check("kWh", 0.01 + 1e-9, "%.2f", " within 0.01 kWh"),
  },
  {
    id = "DFS-DELIVERED-MWH",
    severity = "warning",
    description = "For an Upwards event, Delivered MWh equals Baseline MWh minus Metered MWh (within 0.00001)",
    spec = SPEC .. " §8 Appendix, Summarised Settlement Report API Response Schema and samples",
    types = { "dfs.settlement-report" },
    record = delivered_check("MWh", 0.00001 + 1e-12, "%.5f", ""),
  },
  {
    id = "DFS-SETTLEMENT-PERIOD",
    severity = "error",
    description = "Settlement Period is the GB settlement period of From_Local on the Delivery Date",
    spec = SPEC .. " §8 Appendix, settlement and ABSVD report schemas (Settlement Period, From_Local, Delivery Date)",
    types = { "dfs.settlement-report", "dfs.absvd-domestic", "dfs.absvd-non-domestic" },
    record = function(rec, report)
      local period, from, date = int(rec, "Settlement Period"), str(rec, "From_Local"), dmy_date(rec["Delivery Date"])
      if not period or not from or not date then return end
      if period < 1 or period > 50 then return end  -- not a settlement period at all: the schema's finding
      local expected = fg.settlement_period(from, date)
      if expected and expected ~= period then
        report("Settlement Period", ("Settlement Period is %d but From_Local %s on %s is settlement period %d; expected %d")
          :format(period, fg.preview(from), date, expected, expected))
      end
    end,
  },
  {
    id = "DFS-UTC-OFFSET",
    severity = "warning",
    description = "UTC times are the local times converted with the GB clock (GMT in winter, BST in summer)",
    spec = SPEC .. " §8 Appendix, ABSVD Non-Domestic and Participant Exclusion Report schemas (_local and _UTC fields)",
    types = { "dfs.absvd-non-domestic", "dfs.exclusion-report" },
    record = function(rec, report)
      -- Times of day on a Delivery Date.
      local date = dmy_date(rec["Delivery Date"])
      local days = date and fg.day_number(date)
      local offset = days and gb_offset(days)
      if offset then
        for _, pair in ipairs(TIME_PAIRS) do
          local l, u = str(rec, pair[1]), str(rec, pair[2])
          local lm, um = l and fg.parse_time(l), u and fg.parse_time(u)
          if lm and um and (lm - offset) % 1440 ~= um then
            report(pair[2], ("%s %s is not %s %s in UTC on %s (%s); expected %s")
              :format(pair[2], fg.preview(u), pair[1], fg.preview(l), date, zone_name(offset), fg.preview(hhmm(lm - offset))))
          end
        end
      end
      -- Full date-times.
      for _, pair in ipairs(DATETIME_PAIRS) do
        local l, u = str(rec, pair[1]), str(rec, pair[2])
        local lm, um = l and fg.parse_datetime(l), u and fg.parse_datetime(u)
        local off = lm and gb_offset(lm // 1440)
        if lm and um and off and lm - off ~= um then
          local e = lm - off
          report(pair[2], ("%s %s is not %s %s in UTC (%s); expected %s")
            :format(pair[2], fg.preview(u), pair[1], fg.preview(l), zone_name(off),
                    fg.preview(date_of(e // 1440) .. " " .. hhmm(e % 1440))))
        end
      end
    end,
  },
  {
    id = "DFS-DATE-TOO-EARLY",
    severity = "error",
    description = "Submission and delivery dates are not before the Demand Flexibility Service began (01-11-2022)",
    spec = SPEC .. " §2 Introduction (DFS launched in winter 2022/23) and §8 Example 1 (incorrect submission date)",
    types = { "dfs.*" },
    fields = {
      { check = "not_before", arg = LAUNCH, "Submission Date", "Delivery Date" },  -- either date spelling
    },
  },
  {
    id = "DFS-VOLUME-POSITIVE",
    severity = "warning",
    description = "A bid offers a positive volume (DFS Volume MW greater than 0)",
    spec = SPEC .. " §6, Bid Submission field table (DFS Volume MW)",
    types = { "dfs.bid-submission" },
    fields = {
      { check = "positive", "DFS Volume MW" },
    },
  },
}
