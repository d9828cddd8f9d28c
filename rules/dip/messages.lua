-- Message-level data checks for MHHS DIP messages (Elexon DIP API v2.1.0): what the schemas cannot
-- say. docs/dip-checks.md lists every rule, its DIP response code and the choices behind it.
--
-- All checks are document checks over one shared walk of the document's messages (flowguard.dip:
-- dip.each, found once per document for every rule here), reporting by the message's record and
-- the path of keys below it (report{record = m.index, path = {...}}: the engine spells the keys as
-- the message does).
--
-- Field names are looked up ignoring case: the DIP does not enforce field-name case on ingress
-- (SubmitEvents, note on upper/lower case); the schema reports the spelling (schema.key-case).
-- Values whose length or pattern is wrong are left to the schema (one finding per field).

local SPEC = "Elexon DIP API v2.1.0"

fg.require_api(2)  -- dip.filter, dip.reference_repeats
local dip = require("flowguard.dip")
local dates = require("flowguard.dates")
local mpan = require("flowguard.mpan")
local util = require("flowguard.util")

local show = fg.preview

-- Run-wide memory of DIP-SENDER-UNIQUE-REFERENCE-REPEATED (see there).
local references = dip.reference_memory()

-- Which messages each rule needs to see, decided natively (dip.filter: a message it skips is one
-- where its rule cannot report; the rule still decides on the rest).
local ONLY = {
  reference_date = dip.filter("reference_date"),
  correlation_id = dip.filter("correlation_id"),
  transaction_id = dip.filter("transaction_id"),
  timestamp = dip.filter("timestamp"),
  timestamp_after = dip.filter("timestamp_after"),
}

---------------------------------------------------------------------------------------------------
-- field sets (from the DataCatalogue data items the v2.1.0 schemas use)

-- DT-002/DT-002N MPAN: DI-063 MPANCore, DI-038 linkedImportExportMPAN, DI-073 principalMPAN,
-- DI-074 subsidiaryMPAN, DI-075 primaryMPAN, DI-079 secondaryMPAN.
local MPAN_FIELDS = util.lower_set { "MPANCore", "linkedImportExportMPAN", "principalMPAN", "subsidiaryMPAN",
                             "primaryMPAN", "secondaryMPAN" }

-- DT-006/DT-006N DIP participant IDs (10 digits), with the DIP's code where it has one.
local DIP_ID_CODES = {
  senderdipid = "MSG1009",             -- DI-997 Participant Sender DIPID
  dipconnectionproviderid = "MSG1011", -- DI-996
  primaryrecipients = "MSG1031",       -- A0 addressing block
  secondaryrecipients = "MSG1033",
  always = "MSG1035",
}
local DIP_ID_FIELDS = util.lower_set {
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

ONLY.dip_ids = dip.filter("dip_id_keys", DIP_ID_FIELDS)
ONLY.mpans = dip.filter("mpan_keys", MPAN_FIELDS)

---------------------------------------------------------------------------------------------------
-- rules

-- The path of a CommonBlock field, for report{record =, path =}.
local PATH = {
  reference = { "CommonBlock", "S1", "senderUniqueReference" },
  correlation = { "CommonBlock", "S1", "senderCorrelationID" },
  timestamp = { "CommonBlock", "S1", "senderTimestamp" },
  transaction = { "CommonBlock", "D0", "transactionID" },
  transaction_timestamp = { "CommonBlock", "D0", "transactionTimestamp" },
}

-- The two timestamps: message field, its time, the key, the code for DIP-TIMESTAMP and for
-- DIP-TIMESTAMP-FUTURE.
local TIMESTAMPS = {
  { "timestamp", "time", "senderTimestamp", "MSG1007", "RCP1008" },
  { "transaction_timestamp", "transaction_time", "transactionTimestamp", "RCP1044", "RCP1045" },
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
    document = function(records, report)
      for m in dip.each(records, nil, ONLY.reference_date) do
        local v = m.reference
        local ymd = v and v:match("^S%-[%u%-]*%d%d%d%d?%-%x+%-%u+%-(%d%d%d%d%d%d%d%d)%-%w+$")
        if ymd and not dates.real_ymd(ymd) then
          report { record = m.index, path = PATH.reference, message = ("senderUniqueReference %s has date %s, which does not exist; "
              .. "expected yyyymmdd, the date the sender created the reference"):format(show(v), ymd) }
        end
      end
    end,
  },
  -- References seen in earlier documents: with a window from the application (a server's
  -- CheckRequest::references, fg.state.enabled()), it answers for earlier accepted documents and
  -- keeps this document's references only if the document is accepted, so nothing here grows.
  -- Without one, this file's reference memory remembers every earlier document of the run: rule
  -- files live as long as the engine, so one `flowguard check` over many files sees a reference
  -- repeated across them. The walk, the window's questions and the memory are native
  -- (dip.reference_repeats); only the repeats come back.
  {
    id = "DIP-SENDER-UNIQUE-REFERENCE-REPEATED",
    severity = "error",
    code = "MSG1006",
    description = "no senderUniqueReference is used by two messages of one document or one run",
    spec = SPEC .. ", ResponseCodes MSG1006 (Sender Unique Reference Duplicated)",
    types = { "dip.*" },
    document = function(records, report)
      for _, r in ipairs(dip.reference_repeats(records, references)) do
        local v = r.reference
        if r.first_pointer then
          report { record = r.index, path = PATH.reference, message = ("senderUniqueReference %s is already used by the message at %s; "
              .. "the DIP rejects a repeated reference"):format(show(v), r.first_pointer == "" and "the document root" or r.first_pointer) }
        elseif r.seen then
          report { record = r.index, path = PATH.reference, message = ("senderUniqueReference %s is %s; "
              .. "the DIP rejects a repeated reference"):format(show(v), r.seen) }
        else
          report { record = r.index, path = PATH.reference, message = ("senderUniqueReference %s is already used by a message of an earlier "
              .. "document in this run (document %d); the DIP rejects a repeated reference"):format(show(v), r.document) }
        end
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
    document = function(records, report)
      for m in dip.each(records, nil, ONLY.correlation_id) do
        local v = m.correlation
        if v and v ~= "" then
          local ymd = v:match("^CI%-(%d%d%d%d%d%d%d%d)%-%w+$") or v:match("^CI%-%w+%-(%d%d%d%d%d%d%d%d)%-%w+$")
          if not ymd then
            report { record = m.index, path = PATH.correlation, message = ("senderCorrelationID %s does not follow the published format "
                .. "CI-[<process>-]yyyymmdd-<letters and digits> (e.g. CI-20220401-1234567890123)"):format(show(v)) }
          elseif not dates.real_ymd(ymd) then
            report { record = m.index, path = PATH.correlation, message = ("senderCorrelationID %s has date %s, which does not exist; expected yyyymmdd")
                :format(show(v), ymd) }
          end
        end
      end
    end,
  },
  {
    id = "DIP-TRANSACTION-ID",
    severity = "error",
    code = "RCP1043",
    description = "transactionID follows T-<interface>-<DIP ID>-<ROLE>-yyyymmdd-<ref> with a real date and the message's interface",
    spec = SPEC .. ", DataTypes DT-014-DIPTransactionID (example T-IF-006-0123456789-SUP-20220401-1234CC0123456789)",
    types = { "dip.*" },
    document = function(records, report)
      for m in dip.each(records, nil, ONLY.transaction_id) do
        local v = m.transaction
        if v and #v <= 65 then
          -- captures: interface ("IF-019"), its prefix, DIP ID, role, date
          local iface, prefix, dipid, role, ymd = v:match("^T%-((%u+)%-%d+%u?)%-(%d+)%-(%u+)%-(%d%d%d%d%d%d%d%d)%-%w+$")
          if not iface or (prefix ~= "IF" and prefix ~= "REP") or #dipid ~= 10 or #role < 3 or #role > 5 then
            report { record = m.index, path = PATH.transaction, message = ("transactionID %s does not follow the published format "
                .. "T-<interface>-<10-digit DIP ID>-<role>-yyyymmdd-<reference>"):format(show(v)) }
          else
            if not dates.real_ymd(ymd) then
              report { record = m.index, path = PATH.transaction, message = ("transactionID %s has date %s, which does not exist; expected yyyymmdd")
                  :format(show(v), ymd) }
            end
            -- Identifiers cannot carry an interface's letter suffix (DT-995's pattern allows only digits
            -- after IF-/REP-), so REP-002 is how a REP-002A or REP-002B message names its interface.
            local interface = m.interface
            if interface and interface ~= iface and interface:match("^(.-)%u$") ~= iface then
              report { record = m.index, path = PATH.transaction, message = ("transactionID %s names interface %s but the message is %s")
                  :format(show(v), iface, interface) }
            end
          end
        end
      end
    end,
  },
  {
    id = "DIP-DIP-ID",
    severity = "error",
    description = "DIP participant IDs (sender, connection provider, recipients, service DIP IDs) are 10 digits",
    spec = SPEC .. ", DataTypes DT-006-DIPParticipantID (e.g. 1009012345)",
    types = { "dip.*" },
    document = function(records, report)
      for m in dip.each(records, nil, ONLY.dip_ids) do
        -- Every member named like a DIP ID field at any depth (found natively: rec:find_keys).
        for _, hit in ipairs(m.record:find_keys(m.pointer, DIP_ID_FIELDS)) do
          local v, key = hit.value, hit.key
          -- null (DT-006N) and wrong lengths are the schema's to report
          if type(v) == "string" and #v == 10 and not v:match("^%d+$") then
            report { pointer = hit.pointer, code = DIP_ID_CODES[key:lower()],
                     message = ("%s %s is not a DIP ID; expected 10 digits"):format(key, show(v)) }
          end
        end
      end
    end,
  },
  {
    id = "DIP-MPAN-CHECK-DIGIT",
    severity = "error",
    code = "RCP1061",
    description = "every MPAN core in the message (MPANCore, related and linked MPANs) has a valid check digit",
    spec = SPEC .. ", DataTypes DT-002-MPAN; MRA MPAN core check digit",
    types = { "dip.*" },
    document = function(records, report)
      for m in dip.each(records, nil, ONLY.mpans) do
        for _, hit in ipairs(m.record:find_keys(m.pointer, MPAN_FIELDS)) do
          local v = hit.value
          if type(v) == "string" and v:match("^%d%d%d%d%d%d%d%d%d%d%d%d%d$") and not mpan.is_core(v) then
            report { pointer = hit.pointer, message = ("%s %s has check digit %s; expected %s"):format(
                hit.key, show(v), v:sub(13), tostring(mpan.check_digit(v:sub(1, 12)))) }
          end
        end
      end
    end,
  },
  {
    id = "DIP-TIMESTAMP",
    severity = "error",
    code = "MSG1007",
    description = "senderTimestamp and transactionTimestamp are real ISO 8601 date-times yyyy-mm-ddThh:mm:ss+hh:mm",
    spec = SPEC .. ", DataTypes DT-003-DateTime (e.g. 2022-03-21T19:05:00+00:00)",
    types = { "dip.*" },
    document = function(records, report)
      for m in dip.each(records, nil, ONLY.timestamp) do
        for _, f in ipairs(TIMESTAMPS) do
          local v = m[f[1]]
          if v and #v == 25 and not m[f[2]] then
            report { record = m.index, path = PATH[f[1]], code = f[4], message = ("%s %s is not a date-time that exists; expected "
                .. "yyyy-mm-ddThh:mm:ss+hh:mm"):format(f[3], show(v)) }
          end
        end
      end
    end,
  },
  {
    id = "DIP-TIMESTAMP-FUTURE",
    severity = "error",
    code = "RCP1008",
    description = "senderTimestamp (and transactionTimestamp) are not in the future beyond the allowed clock skew",
    spec = SPEC .. ", ResponseCodes RCP1008 (Sender Sent Date/Time is in the Future)",
    types = { "dip.*" },
    document = function(records, report)
      local options = fg.data and fg.data.options
      if not util.is_view(options) then return end  -- no clock supplied: nothing to compare with
      local now_text = dip.get(options, "now")
      local now = dates.utc_seconds(now_text, "dip-clock")
      if not now then return end
      local skew = dip.get(options, "timestamp_skew_seconds")
      if type(skew) ~= "number" or skew < 0 then skew = 300 end
      for m in dip.each(records, nil, ONLY.timestamp_after, now + skew) do
        for _, f in ipairs(TIMESTAMPS) do
          local t = m[f[2]]
          if t and t > now + skew then
            report { record = m.index, path = PATH[f[1]], code = f[5], message = ("%s %s is %d s in the future (now %s, allowed skew %d s)")
                :format(f[3], show(m[f[1]]), t - now, now_text, skew) }
          end
        end
      end
    end,
  },
}
