-- One field against another: related and linked MPANs against the MPAN they belong to, MPANs
-- listed twice, and appointment-request keys flowguard does not know. Values of the wrong type are
-- left alone (the schema's finding).

local MPAN_SPEC = "SSI MPAN API schema reference"

fg.require_api(1)
local mpan_value = require("flowguard.mpan").number  -- an integral number as an integer, else nil

-- The object at obj[key] as a view, or nil (absent, null, or not an object).
local function object_at(obj, key)
  if obj:kind(key) == "object" then return obj:get(key) end
  return nil
end

local function array_at(obj, key)
  if obj:kind(key) == "array" then return obj:get(key) end
  return nil
end

-- The items of an array that are objects, with their 0-based indexes.
local function objects_of(arr)
  local out = {}
  if not arr then return out end
  for i = 1, #arr do
    if arr:kind(i) == "object" then out[#out + 1] = { index = i - 1, value = arr[i] } end
  end
  return out
end

-- Runs check(rec, at) on every object record of an ssi.mpan document; at(suffix, message) reports
-- at the record's pointer plus suffix.
local function each_mpan(records, root, report, check)
  for i = 1, #records do
    local rec = records[i]
    if type(rec) == "userdata" and rec ~= fg.null and #rec == 0 then
      local base = records:record_pointer(i)
      check(rec, function(suffix, message) report{ pointer = base .. suffix, message = message } end)
    end
  end
end

local APPOINTMENT_KEYS = {
  mpan_id = true, metering_service_mpid = true, metering_service_dip_id = true, metering_service_efd = true,
  appointment_scenario = true, contract_reference = true,
}


-- An MPAN listed twice with the same effective_from in one list of relationships (`list`, the
-- pointer of the array below the record) is reported at the repeat; `seen` remembers first places.
local function flag_repeat(seen, item, core, where, list, what, at)
  local key = core .. "|" .. tostring(item.value.effective_from)
  if seen[key] then
    at(("/%s/%d"):format(list, item.index),
       ("%s repeats MPAN %d with the same effective_from as %s[%d]; expected each %s once")
         :format(where, core, list:match("[^/]+$"), seen[key], what))
  else
    seen[key] = item.index
  end
end
return {
  {
    id = "SSI-RELATED-PRIMARY",
    severity = "error",
    description = "related_mpans.primary_mpan is the MPAN the response is about (its id)",
    spec = MPAN_SPEC .. ", related_mpans nested object (primary_mpan: MPAN returned by query)",
    types = { "ssi.mpan" },
    document = function(records, report, root)
      each_mpan(records, root, report, function(rec, at)
        local related = object_at(rec, "related_mpans")
        if not related then return end
        local id, primary = mpan_value(rec.id), mpan_value(related.primary_mpan)
        if id and primary and id ~= primary then
          at("/related_mpans/primary_mpan",
             ("related_mpans.primary_mpan is %d but the response is about MPAN %d (id); expected the queried MPAN")
               :format(primary, id))
        end
      end)
    end,
  },
  {
    id = "SSI-RELATED-SECONDARY",
    severity = "warning",
    description = "A secondary MPAN is not the primary MPAN itself and is not listed twice for the same start",
    spec = MPAN_SPEC .. ", related_mpans nested object (secondary_mpans[])",
    types = { "ssi.mpan" },
    document = function(records, report, root)
      each_mpan(records, root, report, function(rec, at)
        local related = object_at(rec, "related_mpans")
        if not related then return end
        local primary = mpan_value(related.primary_mpan)
        local seen = {}
        for _, item in ipairs(objects_of(array_at(related, "secondary_mpans"))) do
          local core = mpan_value(item.value.mpan_core)
          if core then
            local where = ("related_mpans.secondary_mpans[%d].mpan_core"):format(item.index)
            if core == primary then
              at(("/related_mpans/secondary_mpans/%d/mpan_core"):format(item.index),
                 ("%s is %d, the primary MPAN itself; expected a different MPAN"):format(where, core))
            end
            flag_repeat(seen, item, core, where, "related_mpans/secondary_mpans", "relationship", at)
          end
        end
      end)
    end,
  },
  {
    id = "SSI-LINKED-MPANS",
    severity = "warning",
    description = "Linked MPANs include the MPAN itself, and no export MPAN is the import MPAN or listed twice",
    spec = MPAN_SPEC .. ", linked_mpans nested object (import_mpan, export_mpans[])",
    types = { "ssi.mpan" },
    document = function(records, report, root)
      each_mpan(records, root, report, function(rec, at)
        local linked = object_at(rec, "linked_mpans")
        if not linked then return end
        local id, import = mpan_value(rec.id), mpan_value(linked.import_mpan)
        local member = id ~= nil and id == import
        local seen = {}
        for _, item in ipairs(objects_of(array_at(linked, "export_mpans"))) do
          local core = mpan_value(item.value.mpan_core)
          if core then
            local where = ("linked_mpans.export_mpans[%d].mpan_core"):format(item.index)
            if core == id then member = true end
            if core == import then
              at(("/linked_mpans/export_mpans/%d/mpan_core"):format(item.index),
                 ("%s is %d, the import MPAN itself; expected an export MPAN"):format(where, core))
            end
            flag_repeat(seen, item, core, where, "linked_mpans/export_mpans", "link", at)
          end
        end
        if id and import and not member then
          at("/linked_mpans", ("MPAN %d (id) is neither linked_mpans.import_mpan (%d) nor one of its export MPANs; expected the links of this MPAN")
            :format(id, import))
        end
      end)
    end,
  },
  {
    id = "SSI-MPAN-LIST-DUPLICATE",
    severity = "warning",
    description = "An MPAN appears once in the MPAN list",
    spec = MPAN_SPEC .. ", List Response Schema (MpanResponseSchema)",
    types = { "ssi.mpan-list" },
    document = function(records, report)
      local seen = {}
      for i = 1, #records do
        local rec = records[i]
        local id = type(rec) == "userdata" and rec ~= fg.null and #rec == 0 and mpan_value(rec:get("id")) or nil
        if id then
          if seen[id] then
            report{ record = i, field = "id",
                    message = ("MPAN %d is listed again (first at mpans[%d]); expected each MPAN once"):format(id, seen[id] - 1) }
          else
            seen[id] = i
          end
        end
      end
    end,
  },
  {
    id = "SSI-APPOINT-UNKNOWN-FIELD",
    severity = "warning",
    description = "The appointment request carries only the fields flowguard knows (others are probably misspelt and ignored)",
    spec = "SSI Metering Service API overview, POST /metering-services/v1/{mpid}/appoint (body fields: docs/ssi-spec-notes.md)",
    types = { "ssi.ms-appointment-request" },
    record = function(rec, report)
      for _, key in ipairs(rec:keys()) do
        if not APPOINTMENT_KEYS[key] then
          report(key, ("unknown key %q; expected only mpan_id, metering_service_mpid, metering_service_dip_id, metering_service_efd, appointment_scenario, contract_reference")
            :format(key))
        end
      end
    end,
  },
}
