-- Message-level data checks for MHHS DIP messages (Elexon DIP API v2.1.0): what the schemas cannot
-- say. docs/dip-checks.md lists every rule, its DIP response code and the choices behind it.
--
-- All checks are document checks: a DIP document is one message or an array of them, and a finding
-- on a nested field needs the message's own pointer ("", "/payload", "/3", "/3/payload"), which is
-- found by matching each record against the document root.
--
-- Field names are looked up ignoring case: the DIP does not enforce field-name case on ingress
-- (SubmitEvents, note on upper/lower case); the schema reports the spelling (schema.key-case).
-- Values whose length or pattern is wrong are left to the schema (one finding per field).

local SPEC = "Elexon DIP API v2.1.0"

-- Run-wide memory of DIP-SENDER-UNIQUE-REFERENCE-REPEATED (see there).
local earlier_references, documents_seen = {}, 0

---------------------------------------------------------------------------------------------------
-- helpers

local function is_view(v) return type(v) == "userdata" and v ~= fg.null end

local function is_array(v) return is_view(v) and #v > 0 end

-- view[key], tolerating case: the exact key first, then any key equal ignoring case.
local function get(view, key)
  if not is_view(view) then return nil end
  local v = view:get(key)
  if v ~= nil then return v, key end
  local want = key:lower()
  for k, x in pairs(view) do
    if type(k) == "string" and k:lower() == want then return x, k end
  end
  return nil
end

-- get() along a path of keys; returns the value and its pointer below `base`.
local function esc(k)
  k = tostring(k)
  if not k:find("[~/]") then return k end  -- the usual key needs no escaping
  return (k:gsub("~", "~0"):gsub("/", "~1"))
end

-- The value at CommonBlock/<block>/<field> and the keys as the message spells them (matched
-- ignoring case, natively: view:dig). The pointer is built only for a finding (at_path).
local function dig(view, k1, k2, k3)
  if not is_view(view) then return nil end
  return view:dig(k1, k2, k3)
end

local function at_path(base, ka, kb, kc)
  return base .. "/" .. esc(ka) .. "/" .. esc(kb) .. "/" .. esc(kc)
end

-- True when view `a` (a record) is the JSON value `b` (a view reached from the root). A record view
-- and a plain view of the same value do not compare equal, but their child views do.
local function same(a, b)
  if not is_view(b) then return false end
  if a == b then return true end
  if #b > 0 then return false end
  for k, v in pairs(a) do
    if is_view(v) then return v == b:get(k) end
  end
  return false
end

-- The pointer of each record (a message payload) in the document: "", "/payload", "/3" or
-- "/3/payload". Records come in document order, so one pass over the root suffices.
local function record_pointers(records, root)
  local out = {}
  if not is_view(root) then return out end
  local n = #root
  if n == 0 then
    for i = 1, #records do
      local r = records[i]
      if same(r, root) then
        out[i] = ""
      else
        for k, v in pairs(root) do
          if same(r, v) then out[i] = "/" .. esc(k); break end
        end
      end
    end
    return out
  end
  local j = 1
  for i = 1, #records do
    local r = records[i]
    while j <= n do
      local item = root[j]
      local found
      if same(r, item) then
        found = "/" .. (j - 1)
      elseif is_view(item) and #item == 0 then
        for k, v in pairs(item) do
          if same(r, v) then found = "/" .. (j - 1) .. "/" .. esc(k); break end
        end
      end
      j = j + 1
      if found then out[i] = found; break end
    end
  end
  return out
end

-- Calls fn(record, pointer, i) for every object record whose pointer is known (a record has none
-- only when it has no object or array member, and then there is nothing here to check).
local function each_message(records, root, fn)
  -- The engine says where each record is (records:record_pointer); work it out only if it does not.
  local ptrs
  if #records > 0 and records:record_pointer(1) ~= nil then
    ptrs = {}
    for i = 1, #records do ptrs[i] = records:record_pointer(i) end
  else
    ptrs = record_pointers(records, root)
  end
  for i = 1, #records do
    local rec = records[i]
    if is_view(rec) and not is_array(rec) and ptrs[i] then fn(rec, ptrs[i], i) end
  end
end

local function set_of(list)
  local s = {}
  for _, k in ipairs(list) do s[k:lower()] = true end
  return s
end

-- A yyyymmdd string that is a real date.
local function real_ymd(s)
  return fg.parse_iso_date(s:sub(1, 4) .. "-" .. s:sub(5, 6) .. "-" .. s:sub(7, 8)) ~= nil
end

-- Seconds since 1970-01-01T00:00:00Z of an ISO 8601 date-time with seconds and an offset
-- ("2022-03-21T19:05:00+00:00", also "Z" and fractional seconds when `lenient`), or nil.
local function days_from_civil(y, m, d)
  y = m <= 2 and y - 1 or y
  local era = (y >= 0 and y or y - 399) // 400
  local yoe = y - era * 400
  local doy = (153 * (m + (m > 2 and -3 or 9)) + 2) // 5 + d - 1
  local doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
  return era * 146097 + doe - 719468
end

local function epoch_seconds(s, lenient)
  if type(s) ~= "string" then return nil end
  local date, hh, mi, ss, rest = s:match("^(%d%d%d%d%-%d%d%-%d%d)T(%d%d):(%d%d):(%d%d)(.*)$")
  if not date then return nil end
  local y, m, d = fg.parse_iso_date(date)
  if not y then return nil end
  hh, mi, ss = tonumber(hh), tonumber(mi), tonumber(ss)
  if hh > 23 or mi > 59 or ss > 59 then return nil end
  local offset = 0
  if lenient then rest = rest:gsub("^%.%d+", "") end
  if lenient and rest == "Z" then
    offset = 0
  else
    local sign, oh, om = rest:match("^([+-])(%d%d):(%d%d)$")
    if not sign then return nil end
    oh, om = tonumber(oh), tonumber(om)
    if oh > 14 or om > 59 then return nil end
    offset = (oh * 60 + om) * 60 * (sign == "-" and -1 or 1)
  end
  return days_from_civil(y, m, d) * 86400 + hh * 3600 + mi * 60 + ss - offset
end

local function show(v) return fg.preview(v) end

---------------------------------------------------------------------------------------------------
-- field sets (from the DataCatalogue data items the v2.1.0 schemas use)

-- DT-002/DT-002N MPAN: DI-063 MPANCore, DI-038 linkedImportExportMPAN, DI-073 principalMPAN,
-- DI-074 subsidiaryMPAN, DI-075 primaryMPAN, DI-079 secondaryMPAN.
local MPAN_FIELDS = set_of { "MPANCore", "linkedImportExportMPAN", "principalMPAN", "subsidiaryMPAN",
                             "primaryMPAN", "secondaryMPAN" }

-- DT-006/DT-006N DIP participant IDs (10 digits), with the DIP's code where it has one.
local DIP_ID_CODES = {
  senderdipid = "MSG1009",             -- DI-997 Participant Sender DIPID
  dipconnectionproviderid = "MSG1011", -- DI-996
  primaryrecipients = "MSG1031",       -- A0 addressing block
  secondaryrecipients = "MSG1033",
  always = "MSG1035",
}
local DIP_ID_FIELDS = set_of {
  "senderDIPID", "DIPConnectionProviderID", "primaryRecipients", "secondaryRecipients", "always",
  "LDSODIPID", "SDSNominatedMDRDIPID", "assignedMDRDIPID", "currentSupplierDIPID",
  "deAppointedDataServiceDIPID", "deAppointedMeteringServiceDIPID", "distributorDIPID",
  "incomingDataServiceDIPID", "incomingMeteringServiceDIPID", "incomingSupplierDIPID",
  "incumbentMeteringServiceDIPID", "issuingDataServiceDIPID", "outgoingSupplierDIPID",
  "proposedDataServiceDIPID", "proposedMeteringServiceDIPID",
  "serviceProviderAppointmentRequestingSupplierDIPID", "settlementImpactedDataServiceDIPID",
  "settlementImpactedSupplierDIPID", "supplierDIPID", "currentDataServiceDIPID",
  "currentMeteringServiceDIPID", "customerDirectContractDataServiceDIPID",
  "customerDirectContractMeteringServiceDIPID", "importExportMPANSupplierDIPID",
  "supplierNominatedMDRDIPID",
}

---------------------------------------------------------------------------------------------------
-- rules

return {
  {
    id = "DIP-SENDER-UNIQUE-REFERENCE",
    severity = "warning",
    description = "senderUniqueReference carries a date that exists (S-[IF-]nnn-<10 hex>-<ROLE>-yyyymmdd-<ref>)",
    spec = SPEC .. ", DataTypes DT-995-SenderUniqueReference",
    types = { "dip.*" },
    document = function(records, report, root)
      each_message(records, root, function(rec, base)
        local v, ka, kb, kc = dig(rec, "CommonBlock", "S1", "senderUniqueReference")
        if type(v) ~= "string" then return end
        local ymd = v:match("^S%-[%u%-]*%d%d%d%d?%-%x+%-%u+%-(%d%d%d%d%d%d%d%d)%-%w+$")
        if ymd and not real_ymd(ymd) then
          report { pointer = at_path(base, ka, kb, kc), message = ("senderUniqueReference %s has date %s, which does not exist; "
              .. "expected yyyymmdd, the date the sender created the reference"):format(show(v), ymd) }
        end
      end)
    end,
  },
  -- References seen in earlier documents: with a window from the application (a server's
  -- CheckRequest::references, fg.state.enabled()), it answers for earlier accepted documents and
  -- keeps this document's references only if the document is accepted, so nothing here grows.
  -- Without one, this file's upvalues remember every earlier document of the run: rule files live
  -- as long as the engine, so one `flowguard check` over many files sees a reference repeated
  -- across them.
  {
    id = "DIP-SENDER-UNIQUE-REFERENCE-REPEATED",
    severity = "error",
    code = "MSG1006",
    description = "no senderUniqueReference is used by two messages of one document or one run",
    spec = SPEC .. ", ResponseCodes MSG1006 (Sender Unique Reference Duplicated)",
    types = { "dip.*" },
    document = function(records, report, root)
      local state = fg.state
      local window = state.enabled()
      local first, order = {}, {}
      each_message(records, root, function(rec, base)
        local v, ka, kb, kc = dig(rec, "CommonBlock", "S1", "senderUniqueReference")
        if type(v) ~= "string" or v == "" then return end
        if first[v] then
          report { pointer = at_path(base, ka, kb, kc), message = ("senderUniqueReference %s is already used by the message at %s; "
              .. "the DIP rejects a repeated reference"):format(show(v), first[v] == "" and "the document root" or first[v]) }
          return
        end
        if window then
          local seen = state.reference_seen(v)
          if seen then
            report { pointer = at_path(base, ka, kb, kc), message = ("senderUniqueReference %s is %s; "
                .. "the DIP rejects a repeated reference"):format(show(v), seen) }
          end
        elseif earlier_references[v] then
          report { pointer = at_path(base, ka, kb, kc), message = ("senderUniqueReference %s is already used by a message of an earlier "
              .. "document in this run (document %d); the DIP rejects a repeated reference"):format(show(v), earlier_references[v]) }
        end
        first[v] = base
        order[#order + 1] = v
      end)
      if window then
        for _, v in ipairs(order) do state.remember_reference(v) end
        return
      end
      documents_seen = documents_seen + 1
      for _, v in ipairs(order) do
        if not earlier_references[v] then earlier_references[v] = documents_seen end
      end
    end,
  },
  {
    id = "DIP-SENDER-CORRELATION-ID",
    severity = "warning",
    code = "MSG1012",
    description = "senderCorrelationID follows the published CI-[<process>-]yyyymmdd-<ref> with a real date",
    spec = SPEC .. ", DataTypes DT-011N-CorrelationID (example CI-20220401-...)",
    types = { "dip.*" },
    document = function(records, report, root)
      each_message(records, root, function(rec, base)
        local v, ka, kb, kc = dig(rec, "CommonBlock", "S1", "senderCorrelationID")
        if type(v) ~= "string" or v == "" then return end
        local ymd = v:match("^CI%-(%d%d%d%d%d%d%d%d)%-%w+$") or v:match("^CI%-%w+%-(%d%d%d%d%d%d%d%d)%-%w+$")
        if not ymd then
          report { pointer = at_path(base, ka, kb, kc), message = ("senderCorrelationID %s does not follow the published format "
              .. "CI-[<process>-]yyyymmdd-<letters and digits> (e.g. CI-20220401-1234567890123)"):format(show(v)) }
        elseif not real_ymd(ymd) then
          report { pointer = at_path(base, ka, kb, kc), message = ("senderCorrelationID %s has date %s, which does not exist; expected yyyymmdd")
              :format(show(v), ymd) }
        end
      end)
    end,
  },
  {
    id = "DIP-TRANSACTION-ID",
    severity = "error",
    code = "RCP1043",
    description = "transactionID follows T-<interface>-<DIP ID>-<ROLE>-yyyymmdd-<ref> with a real date and the message's interface",
    spec = SPEC .. ", DataTypes DT-014-DIPTransactionID (example T-IF-006-0123456789-SUP-20220401-1234CC0123456789)",
    types = { "dip.*" },
    document = function(records, report, root)
      each_message(records, root, function(rec, base)
        local v, ka, kb, kc = dig(rec, "CommonBlock", "D0", "transactionID")
        if type(v) ~= "string" or #v > 65 then return end
        -- captures: interface ("IF-019"), its prefix, DIP ID, role, date
        local iface, prefix, dipid, role, ymd
        iface, prefix, dipid, role, ymd = v:match("^T%-((%u+)%-%d+%u?)%-(%d+)%-(%u+)%-(%d%d%d%d%d%d%d%d)%-%w+$")
        if not iface or (prefix ~= "IF" and prefix ~= "REP") or #dipid ~= 10 or #role < 3 or #role > 5 then
          report { pointer = at_path(base, ka, kb, kc), message = ("transactionID %s does not follow the published format "
              .. "T-<interface>-<10-digit DIP ID>-<role>-yyyymmdd-<reference>"):format(show(v)) }
          return
        end
        if not real_ymd(ymd) then
          report { pointer = at_path(base, ka, kb, kc), message = ("transactionID %s has date %s, which does not exist; expected yyyymmdd")
              :format(show(v), ymd) }
        end
        local interface = dig(rec, "CommonBlock", "S0", "interfaceID")
        if type(interface) == "string" and interface ~= iface then
          report { pointer = at_path(base, ka, kb, kc), message = ("transactionID %s names interface %s but the message is %s")
              :format(show(v), iface, interface) }
        end
      end)
    end,
  },
  {
    id = "DIP-DIP-ID",
    severity = "error",
    description = "DIP participant IDs (sender, connection provider, recipients, service DIP IDs) are 10 digits",
    spec = SPEC .. ", DataTypes DT-006-DIPParticipantID (e.g. 1009012345)",
    types = { "dip.*" },
    document = function(records, report, root)
      each_message(records, root, function(rec, base)
        -- Every member named like a DIP ID field at any depth (found natively: rec:find_keys).
        for _, hit in ipairs(rec:find_keys(base, DIP_ID_FIELDS)) do
          local v, key = hit.value, hit.key
          -- null (DT-006N) and wrong lengths are the schema's to report
          if type(v) == "string" and #v == 10 and not v:match("^%d+$") then
            report { pointer = hit.pointer, code = DIP_ID_CODES[key:lower()],
                     message = ("%s %s is not a DIP ID; expected 10 digits"):format(key, show(v)) }
          end
        end
      end)
    end,
  },
  {
    id = "DIP-MPAN-CHECK-DIGIT",
    severity = "error",
    code = "RCP1061",
    description = "every MPAN core in the message (MPANCore, related and linked MPANs) has a valid check digit",
    spec = SPEC .. ", DataTypes DT-002-MPAN; MRA MPAN core check digit",
    types = { "dip.*" },
    document = function(records, report, root)
      each_message(records, root, function(rec, base)
        for _, hit in ipairs(rec:find_keys(base, MPAN_FIELDS)) do
          local v = hit.value
          if type(v) == "string" and v:match("^%d%d%d%d%d%d%d%d%d%d%d%d%d$") and not fg.is_mpan(v) then
            report { pointer = hit.pointer, message = ("%s %s has check digit %s; expected %s"):format(
                hit.key, show(v), v:sub(13), tostring(fg.mpan_check_digit(v:sub(1, 12)))) }
          end
        end
      end)
    end,
  },
  {
    id = "DIP-TIMESTAMP",
    severity = "error",
    code = "MSG1007",
    description = "senderTimestamp and transactionTimestamp are real ISO 8601 date-times yyyy-mm-ddThh:mm:ss+hh:mm",
    spec = SPEC .. ", DataTypes DT-003-DateTime (e.g. 2022-03-21T19:05:00+00:00)",
    types = { "dip.*" },
    document = function(records, report, root)
      each_message(records, root, function(rec, base)
        for _, f in ipairs { { "S1", "senderTimestamp", "MSG1007" }, { "D0", "transactionTimestamp", "RCP1044" } } do
          local v, ka, kb, kc = dig(rec, "CommonBlock", f[1], f[2])
          if type(v) == "string" and #v == 25 and not epoch_seconds(v) then
            report { pointer = at_path(base, ka, kb, kc), code = f[3], message = ("%s %s is not a date-time that exists; expected "
                .. "yyyy-mm-ddThh:mm:ss+hh:mm"):format(f[2], show(v)) }
          end
        end
      end)
    end,
  },
  {
    id = "DIP-TIMESTAMP-FUTURE",
    severity = "error",
    code = "RCP1008",
    description = "senderTimestamp (and transactionTimestamp) are not in the future beyond the allowed clock skew",
    spec = SPEC .. ", ResponseCodes RCP1008 (Sender Sent Date/Time is in the Future)",
    types = { "dip.*" },
    document = function(records, report, root)
      local options = fg.data and fg.data.options
      if not is_view(options) then return end  -- no clock supplied: nothing to compare with
      local now = epoch_seconds(get(options, "now"), true)
      if not now then return end
      local skew = get(options, "timestamp_skew_seconds")
      if type(skew) ~= "number" or skew < 0 then skew = 300 end
      each_message(records, root, function(rec, base)
        for _, f in ipairs { { "S1", "senderTimestamp", "RCP1008" }, { "D0", "transactionTimestamp", "RCP1045" } } do
          local v, ka, kb, kc = dig(rec, "CommonBlock", f[1], f[2])
          local t = epoch_seconds(v)
          if t and t > now + skew then
            report { pointer = at_path(base, ka, kb, kc), code = f[3], message = ("%s %s is %d s in the future (now %s, allowed skew %d s)")
                :format(f[2], show(v), t - now, get(options, "now"), skew) }
          end
        end
      end)
    end,
  },
}
