-- Field formats the DFS schemas cannot express: MPAN check digits, dates and times that exist,
-- half-hour boundaries and decimal places. All native checks: they run without entering Lua, and
-- the engine skips a field that already has a schema finding (wrong length, wrong characters).

local SPEC = "DFS API Schema V1.6"

-- Types whose dates are dd-mm-yyyy (the Summarised Settlement Report's Delivery Date is yyyy-mm-dd).
local DMY_TYPES = {
  "dfs.unit-meter-point-schedule", "dfs.bid-submission", "dfs.weekly-settlement", "dfs.mpan-forecast",
  "dfs.mpan-portfolio", "dfs.bid-results", "dfs.absvd-domestic", "dfs.absvd-non-domestic",
}

return {
  {
    id = "DFS-MPAN-CHECK-DIGIT",
    severity = "error",
    description = "Every MPAN is a 13-digit MPAN core whose last digit is the correct check digit",
    spec = SPEC .. " §6 field tables (Import MPAN, Export MPAN: 13 digits) and §8 Appendix response schemas",
    types = { "dfs.*" },
    fields = {
      { check = "mpan", "Import MPAN", "Export MPAN", "MPAN", "Import Mpan", "Export Mpan" },
    },
  },
  {
    id = "DFS-DATE-DMY",
    severity = "error",
    description = "dd-mm-yyyy dates exist in the calendar",
    spec = SPEC .. " §6 field tables (must be a valid date in dd-mm-yyyy format)",
    types = DMY_TYPES,
    fields = {
      { check = "date_dmy", "Submission Date", "Delivery Date", "MPANs Effective From", "MPANs Effective To",
        "Consent Effective From", "Consent Effective To" },
    },
  },
  {
    id = "DFS-DATE-ISO",
    severity = "error",
    description = "The Summarised Settlement Report's yyyy-mm-dd Delivery Date exists in the calendar",
    spec = SPEC .. " §8 Appendix, Summarised Settlement Report API Response Schema (Delivery Date, format date)",
    types = { "dfs.settlement-report" },
    fields = {
      { check = "date_iso", "Delivery Date" },
    },
  },
  {
    id = "DFS-TIME-HHMM",
    severity = "error",
    description = "HH:MM times are real clock times, 00:00 to 23:59",
    spec = SPEC .. " §6 field tables (From_Local, To_Local: digits and one colon, e.g. 14:30) and §8 Appendix",
    types = { "dfs.*" },
    fields = {
      { check = "time_hhmm", "From_Local", "To_Local", "From_UTC", "To_UTC" },
    },
  },
  {
    id = "DFS-HALF-HOUR",
    severity = "error",
    description = "Event windows start and end on settlement-period (half-hour) boundaries",
    spec = SPEC .. " §6 field tables (From_Local, To_Local, e.g. 14:30, 22:00) and §8 samples (one settlement period per window)",
    types = { "dfs.*" },
    fields = {
      { check = "half_hour", "From_Local", "To_Local", "From_UTC", "To_UTC" },
    },
  },
  {
    id = "DFS-DATETIME",
    severity = "error",
    description = "dd-mm-yyyy HH:MM date-times exist",
    spec = SPEC .. " §6 Unit Meter Point Schedule field table (Timestamp Subscribed) and §8 Appendix, Participant Exclusion Report",
    types = { "dfs.*" },
    fields = {
      { check = "datetime_dmy_hm", "Timestamp Subscribed", "ConflictStart_local", "ConflictEnd_local",
        "ConflictStart_UTC", "ConflictEnd_UTC" },
    },
  },
  {
    id = "DFS-KWH-DECIMALS",
    severity = "error",
    description = "kWh values have at most 2 decimal places",
    spec = SPEC .. " §6 Weekly Settlement and Consolidated MPAN Forecast field tables (max 2 decimal places)",
    types = { "dfs.weekly-settlement", "dfs.mpan-forecast" },
    fields = {
      { check = "max_decimals", arg = 2, "Baseline kWh", "Metered kWh", "Delivered kWh" },
    },
  },
  {
    id = "DFS-PRICE-DECIMALS",
    severity = "error",
    description = "Utilisation prices have at most 1 decimal place",
    spec = SPEC .. " §6 Weekly Settlement field table (max 1 decimal place) and version history 1.3 (bids can contain one decimal figure)",
    types = { "dfs.weekly-settlement", "dfs.bid-submission" },
    fields = {
      { check = "max_decimals", arg = 1, "Accepted Utilisation Price GBP per MWh", "Utilisation price GBP per MWh" },
    },
  },
  {
    id = "DFS-BID-VOLUME-DECIMALS",
    severity = "warning",
    description = "Bid volumes have at most 1 decimal place",
    spec = SPEC .. " version history 1.3 (bids can contain one decimal figure)",
    types = { "dfs.bid-submission" },
    fields = {
      { check = "max_decimals", arg = 1, "DFS Volume MW" },
    },
  },
}
