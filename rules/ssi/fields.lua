-- Field checks the SSI schemas cannot express: MPAN core check digits, date-times that exist, and
-- effective periods that do not end before they start. They apply at every depth (related and
-- linked MPANs, migration statuses), so they walk each record in a document check and report by
-- JSON pointer. A value of the wrong type or shape is left alone: that is the schema's finding.

local MPAN_REF = "SSI MPAN API schema reference"
local MS_REF = "SSI Metering Service API overview"

-- Keys holding an MPAN core, at any depth ("id" only at the top of a record).
local MPAN_KEYS = { mpan_id = true, primary_mpan = true, mpan_core = true, import_mpan = true }

-- Keys holding a date-time: *_efd, *_etd, *_date, effective_from, effective_to, updated.
local function is_datetime_key(key)
  return key == "updated" or key == "effective_from" or key == "effective_to" or key:sub(-4) == "_efd"
    or key:sub(-4) == "_etd" or key:sub(-5) == "_date"
end

-- Periods that must not end before they start (checked in whichever object holds both keys).
local PERIODS = {
  { "metering_service_efd", "metering_service_etd" },
  { "data_service_efd", "data_service_etd" },
  { "customer_direct_contract_metering_service_efd", "customer_direct_contract_metering_service_etd" },
  { "customer_direct_contract_data_service_efd", "customer_direct_contract_data_service_etd" },
  { "supply_start_date", "supply_end_date" },
  { "effective_from", "effective_to" },
  { "outgoing_metering_service_effective_from_date", "outgoing_metering_service_effective_to_date" },
  { "outgoing_data_service_effective_from_date", "outgoing_data_service_effective_to_date" },
}

fg.require_api(1)
local util = require("flowguard.util")
local dates = require("flowguard.dates")
local mpan = require("flowguard.mpan")

local esc = util.escape
-- An MPAN value as 13 digits, or nil when it is not a 13-digit whole number (the schema's finding).
local mpan_digits = mpan.digits

-- An ISO 8601 extended date-time of the schema's shape: nil when the shape differs (the schema's
-- finding); false plus the reason when the shape is right but the value does not exist; else UTC
-- seconds (a value without an offset is read as UTC).
local function parse_datetime(s) return dates.utc_seconds(s, "iso") end

-- Calls visit(object, pointer, depth) for the record and every object nested in it. Kinds come from
-- the parent (an empty array and an empty object look alike as views).
local walk_array
local function walk_object(obj, pointer, depth, visit)
  visit(obj, pointer, depth)
  for key in pairs(obj) do
    local kind = obj:kind(key)
    if kind == "object" then walk_object(obj:get(key), pointer .. "/" .. esc(key), depth + 1, visit)
    elseif kind == "array" then walk_array(obj:get(key), pointer .. "/" .. esc(key), depth + 1, visit) end
  end
end
walk_array = function(arr, pointer, depth, visit)
  for i = 1, #arr do
    local kind = arr:kind(i)
    if kind == "object" then walk_object(arr[i], pointer .. "/" .. (i - 1), depth + 1, visit)
    elseif kind == "array" then walk_array(arr[i], pointer .. "/" .. (i - 1), depth + 1, visit) end
  end
end

-- A record is an object view unless the document is malformed (then the schema says so).
local function each_object(records, root, visit)
  for i = 1, #records do
    local rec = records[i]
    if util.is_view(rec) and #rec == 0 and #rec:keys() > 0 then walk_object(rec, records:record_pointer(i), 0, visit) end
  end
end

return {
  {
    id = "SSI-MPAN-CHECK-DIGIT",
    severity = "error",
    description = "Every MPAN (id, mpan_id, related and linked MPANs) ends with the correct MPAN core check digit",
    spec = MPAN_REF .. " (MPAN values are 13-digit numbers; id, primary_mpan, mpan_core, import_mpan); " .. MS_REF .. " (mpan_id)",
    types = { "ssi.*" },
    document = function(records, report, root)
      each_object(records, root, function(obj, pointer, depth)
        for key, v in pairs(obj) do
          if MPAN_KEYS[key] or (key == "id" and depth == 0) then
            local digits = mpan_digits(v)
            if digits and not mpan.is_core(digits) then
              report{ pointer = pointer .. "/" .. key,
                      message = ("%q is %s: its check digit is %s, expected %d (MPAN core check digit)")
                        :format(key, digits, digits:sub(13), mpan.check_digit(digits:sub(1, 12))) }
            end
          end
        end
      end)
    end,
  },
  {
    id = "SSI-DATETIME",
    severity = "error",
    description = "ISO 8601 date-times exist (a real calendar date, a time of day, a UTC offset within +/-23:59)",
    spec = MPAN_REF .. " (string(datetime): ISO 8601 datetime); " .. MS_REF .. " (metering_service_efd)",
    types = { "ssi.*" },
    document = function(records, report, root)
      each_object(records, root, function(obj, pointer)
        for key, v in pairs(obj) do
          if type(v) == "string" and is_datetime_key(key) then
            local ok, why = parse_datetime(v)
            if ok == false then
              report{ pointer = pointer .. "/" .. esc(key),
                      message = ("%q is %s: %s; expected a date-time that exists"):format(key, fg.preview(v), why) }
            end
          end
        end
      end)
    end,
  },
  {
    id = "SSI-EFFECTIVE-ORDER",
    severity = "error",
    description = "Effective periods do not end before they start (efd/etd, supply start/end, effective_from/to)",
    spec = MPAN_REF .. " (effective from / effective to, start / end date-times)",
    types = { "ssi.*" },
    document = function(records, report, root)
      each_object(records, root, function(obj, pointer)
        for _, pair in ipairs(PERIODS) do
          local from_s, to_s = obj:get(pair[1]), obj:get(pair[2])
          local from, to = parse_datetime(from_s), parse_datetime(to_s)
          if from and to and to < from then
            report{ pointer = pointer .. "/" .. pair[2],
                    message = ("%q %s is before %q %s; expected the period to end on or after its start")
                      :format(pair[2], fg.preview(to_s), pair[1], fg.preview(from_s)) }
          end
        end
      end)
    end,
  },
}
