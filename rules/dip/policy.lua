-- DIP market policy: who may send and receive what, judged against the market registry
-- (`--registry FILE` or `--registry default`; docs/registry.md). The engine hands the registry to
-- rules as fg.data.registry; without it every rule here returns at once (message-level checks
-- only). All times are judged at the message's CommonBlock.S1.senderTimestamp.
--
-- Registry shape used here (docs/registry.md, "The JSON rules see"):
--   participants[dip_id] = { dip_role, from, to, effective_from, effective_to, dcp = { {dip_id, from, to}... } }
--   channels[interface]  = { ingress = {...}, egress = {...}, roles_unknown, name }
--   opt_outs[dip_id]     = { {interface, event_code, from, to, effective_from, effective_to}... }
--   pairings[sds_dip_id] = { {mdr, from, to}... }
--   complete             = true when participants lists every DIP ID
-- `from`/`to` are UTC seconds since 1970, `to` exclusive.

fg.require_api(2)  -- dip.filter
local dip = require("flowguard.dip")
local util = require("flowguard.util")
local get, join, contains = util.get, util.join, util.contains

local function registry()
  local data = fg.data
  if data == nil then return nil end
  return data.registry
end

local function active(w, t)
  local from, to = get(w, "from"), get(w, "to")
  return type(from) == "number" and type(to) == "number" and from <= t and t < to
end

local function window_text(w)
  local to = get(w, "effective_to")
  return ("%s to %s"):format(get(w, "effective_from") or "?", to or "open end")
end

-- Calls check(m, reg, report) for each DIP message (CommonBlock with S0 and S1, keys spelt as the
-- spec spells them) when a registry is loaded; m is flowguard.dip's message (m.time: the
-- senderTimestamp in UTC seconds, when it is a DT-003 date-time that exists).
-- `only`, a dip.filter, passes the messages where check can report (natively; nil: all).
local function each_message(check, only)
  return function(records, report)
    local reg = registry()
    if reg == nil then return end
    for m in dip.each(records, "exact", only, reg) do
      if m.is_message then check(m, reg, report) end
    end
  end
end

-- The path of a CommonBlock field (and item k of it) for report{record =, path =}.
local function at(block, key, k)
  return { "CommonBlock", block, key, k }
end

local function channel_label(m, channel)
  local name = get(channel, "name")
  return name and ("%s (%s)"):format(m.interface, name) or m.interface
end

-- Participant `id` when effective at `t`; else nil and why.
local function effective(reg, id, t)
  local p = get(get(reg, "participants"), id)
  if p == nil then
    if get(reg, "complete") == true then return nil, "is not in the registry" end
    return nil, nil  -- unknown, not judged
  end
  if not active(p, t) then
    return nil, ("is effective %s (%s), not at the senderTimestamp"):format(window_text(p), get(p, "dip_role") or "?")
  end
  return p
end

return {
  {
    id = "DIP-POLICY-SENDER-ROLE",
    code = "MSG1010",
    severity = "error",
    description = "The sender's role code is an ingress role of the interface and the sender DIP ID's role",
    spec = "DIP message channels (ingress role codes); DIP response code MSG1010 Sender Role Invalid",
    types = { "dip.*" },
    document = each_message(function(m, reg, report)
      if m.sender_role == nil or m.interface == nil then return end
      local path = at("S1", "senderRoleID")
      local channel = get(get(reg, "channels"), m.interface)
      if channel ~= nil and get(channel, "roles_unknown") ~= true then
        local ingress = get(channel, "ingress")
        if ingress ~= nil and #ingress > 0 and not contains(ingress, m.sender_role) then
          report{ record = m.index, path = path, message = ("senderRoleID %s may not send on %s, expected one of its ingress role codes: %s")
            :format(fg.preview(m.sender_role), channel_label(m, channel), join(ingress)) }
        end
      end
      local p = m.sender and get(get(reg, "participants"), m.sender)
      local role = p and get(p, "dip_role")
      if role ~= nil and role ~= m.sender_role then
        report{ record = m.index, path = path, message = ("senderRoleID %s but sender DIP ID %s has DIP role code %s in the registry, expected %s")
          :format(fg.preview(m.sender_role), m.sender, role, role) }
      end
    end, dip.filter("policy_sender_role")),
  },
  {
    id = "DIP-POLICY-RECIPIENT-ROLE",
    code = "MSG1032",
    severity = "error",
    description = "Each primary recipient's DIP role code is an egress role of the interface",
    spec = "DIP message channels (egress role codes); DIP response code MSG1032 Primary Recipient(s) DIP Role ID Invalid",
    types = { "dip.*" },
    document = each_message(function(m, reg, report)
      local channel = m.interface and get(get(reg, "channels"), m.interface)
      if channel == nil or get(channel, "roles_unknown") == true then return end
      local egress = get(channel, "egress")
      if egress == nil or #egress == 0 then return end
      for k, id in ipairs(m.primary) do
        local p = id and get(get(reg, "participants"), id)
        local role = p and get(p, "dip_role")
        if role ~= nil and not contains(egress, role) then
          report{ record = m.index, path = at("A0", "primaryRecipients", k),
            message = ("primary recipient %s has DIP role code %s, which may not receive %s, expected one of its egress role codes: %s")
              :format(id, role, channel_label(m, channel), join(egress)) }
        end
      end
    end, dip.filter("policy_recipient_role")),
  },
  {
    id = "DIP-POLICY-SENDER-DIPID",
    code = "MSG1009",
    severity = "error",
    description = "The sender DIP ID is effective at the senderTimestamp",
    spec = "DIP ID effective dates (a DIP ID outside them neither sends nor receives); DIP response code MSG1009 Sender DIP ID Invalid",
    types = { "dip.*" },
    document = each_message(function(m, reg, report)
      if m.sender == nil or m.time == nil then return end
      local p, why = effective(reg, m.sender, m.time)
      if p == nil and why ~= nil then
        report{ record = m.index, path = at("S1", "senderDIPID"),
          message = ("sender DIP ID %s %s %s, expected a DIP ID effective when it sends"):format(m.sender, why, m.timestamp) }
      end
    end, dip.filter("policy_sender_dipid")),
  },
  {
    id = "DIP-POLICY-RECIPIENT-DIPID",
    code = "MSG1031",
    severity = "error",
    description = "Each primary recipient DIP ID is effective at the senderTimestamp",
    spec = "DIP ID effective dates (a DIP ID outside them neither sends nor receives); DIP response code MSG1031 Primary Recipient(s) DIP Participant ID Invalid",
    types = { "dip.*" },
    document = each_message(function(m, reg, report)
      if m.time == nil then return end
      for k, id in ipairs(m.primary) do
        if id then
          local p, why = effective(reg, id, m.time)
          if p == nil and why ~= nil then
            report{ record = m.index, path = at("A0", "primaryRecipients", k),
              message = ("primary recipient DIP ID %s %s %s, expected a DIP ID effective when the message is sent"):format(id, why, m.timestamp) }
          end
        end
      end
    end, dip.filter("policy_recipient_dipid")),
  },
  {
    id = "DIP-POLICY-DCP",
    code = "MSG1011",
    severity = "error",
    description = "A DIPConnectionProviderID is the DCP nominated for the sender DIP ID at the senderTimestamp",
    spec = "DIP Connection Provider nomination per DIP ID; DIP response code MSG1011 Connection Provider ID Invalid",
    types = { "dip.*" },
    document = each_message(function(m, reg, report)
      if m.dcp == nil or m.sender == nil or m.time == nil then return end
      local path = at("S1", "DIPConnectionProviderID")
      local participants = get(reg, "participants")
      local p = get(participants, m.sender)
      if p == nil then
        if get(reg, "complete") == true then
          report{ record = m.index, path = path, message = ("DIPConnectionProviderID %s for sender DIP ID %s, which is not in the registry, expected a sender with a nominated DCP")
            :format(m.dcp, m.sender) }
        end
        return
      end
      local current
      local nominations = get(p, "dcp")
      for k = 1, (nominations and #nominations or 0) do
        if active(nominations[k], m.time) then current = nominations[k] end
      end
      if current == nil then
        report{ record = m.index, path = path, message = ("DIPConnectionProviderID %s, but sender DIP ID %s has no DCP nominated at %s, expected null")
          :format(m.dcp, m.sender, m.timestamp) }
      elseif get(current, "dip_id") ~= m.dcp then
        report{ record = m.index, path = path, message = ("DIPConnectionProviderID %s is not the DCP nominated for sender DIP ID %s at %s, expected %s (nominated %s)")
          :format(m.dcp, m.sender, m.timestamp, get(current, "dip_id"), window_text(current)) }
      else
        local dcp = get(participants, m.dcp)
        if dcp ~= nil and not active(dcp, m.time) then
          report{ record = m.index, path = path, message = ("DCP DIP ID %s is effective %s, not at %s, expected a DCP DIP ID effective when it sends")
            :format(m.dcp, window_text(dcp), m.timestamp) }
        end
      end
    end, dip.filter("policy_dcp")),
  },
  {
    id = "DIP-POLICY-PAIRING",
    severity = "error",
    description = "IF-061 onwards between an SDS and an MDR need an active SDS-MDR pairing",
    spec = "SDS-MDR pairing (IF-061 onwards), set by the SDS with an effective window",
    types = { "dip.*" },
    document = each_message(function(m, reg, report)
      local n = m.interface and tonumber(m.interface:match("^IF%-(%d%d%d)$"))
      if n == nil or n < 61 or m.sender == nil or m.time == nil then return end
      local participants = get(reg, "participants")
      local sender_role = get(get(participants, m.sender), "dip_role") or m.sender_role
      if sender_role ~= "SDS" and sender_role ~= "MDR" then return end
      for k, id in ipairs(m.primary) do
        local role = id and get(get(participants, id), "dip_role")
        if (sender_role == "SDS" and role == "MDR") or (sender_role == "MDR" and role == "SDS") then
          local sds, mdr = m.sender, id
          if sender_role == "MDR" then sds, mdr = id, m.sender end
          local found, paired = false, nil
          local list = get(get(reg, "pairings"), sds)
          for j = 1, (list and #list or 0) do
            if get(list[j], "mdr") == mdr then
              paired = list[j]
              if active(list[j], m.time) then found = true end
            end
          end
          if not found then
            local why = paired and ("their pairing is effective %s"):format(window_text(paired)) or "they are not paired"
            report{ record = m.index, path = at("A0", "primaryRecipients", k),
              message = ("%s between SDS %s and MDR %s at %s, but %s, expected an SDS-MDR pairing effective then")
                :format(m.interface, sds, mdr, m.timestamp, why) }
          end
        end
      end
    end, dip.filter("policy_pairing")),
  },
  {
    id = "DIP-POLICY-ROUTING",
    severity = "info",
    description = "Resolved recipients: secondary recipients opted out of the event code, or not effective, are dropped",
    spec = "DIP opt-out preferences per DIP ID, interface and event code; DIP ID effective dates",
    types = { "dip.*" },
    document = each_message(function(m, reg, report)
      if m.time == nil or #m.secondary == 0 then return end
      local kept, dropped = {}, {}
      for _, id in ipairs(m.secondary) do
        if id then
          local why
          for _, pref in ipairs(get(get(reg, "opt_outs"), id) or {}) do
            if get(pref, "interface") == m.interface and get(pref, "event_code") == m.event_code and active(pref, m.time) then
              why = ("opted out of %s %s %s"):format(m.interface, m.event_code, window_text(pref))
            end
          end
          if why == nil then
            local p, not_effective = effective(reg, id, m.time)
            if p == nil and not_effective ~= nil then why = "DIP ID " .. not_effective end
          end
          if why then dropped[#dropped + 1] = ("%s (%s)"):format(id, why) else kept[#kept + 1] = id end
        end
      end
      if #dropped == 0 then return end
      local primary = {}
      for _, id in ipairs(m.primary) do if id then primary[#primary + 1] = id end end
      report{ record = m.index, path = at("A0", "secondaryRecipients"),
        message = ("resolved recipients of %s %s at %s: primary %s; secondary %s; dropped %s")
          :format(m.interface, m.event_code or "?", m.timestamp,
            #primary > 0 and join(primary) or "none", #kept > 0 and join(kept) or "none", table.concat(dropped, "; ")) }
    end, dip.filter("policy_routing")),
  },
}
