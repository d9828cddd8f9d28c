#!/usr/bin/env python3
"""Regenerates the dip-policy corpus messages and expected findings (run from anywhere).

Each message is the smallest instance of its schema (schemas/dip/<IF>/<event>.schema.json: required
members only) with the CommonBlock set for the scenario, so the only findings are the policy rules'.
The scenarios and their expected findings are listed below; tests/core/registry/policy_rules_test.cpp
checks them against the rules, and that every message is schema-valid.
"""
import json
import os

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", "..", ".."))


def mpan(first12):
    primes = [3, 5, 7, 13, 17, 19, 23, 29, 31, 37, 41, 43]
    return first12 + str(sum(int(d) * p for d, p in zip(first12, primes)) % 11 % 10)


PATTERNS = {
    r"^\d{13}?$": mpan("141234567890"),
    r"^[A-Z]{4}$": "ABCD",
    r"^\d{4,4}$": "1234",
    r"^\d{1,2}$": "1",
    r"^-?\d{1,9}\.\d{3}$": "1.000",
    r"^S-((IF|REP)-)?\d{3,4}-[0-9a-fA-F]{10}-[A-Z]{3,5}-\d{8}-[a-zA-Z0-9]+$": "S-IF-001-1000000000-SUP-20250901-1",
}


def minimal(schema, defs):
    if "$ref" in schema:
        return minimal(defs[schema["$ref"].split("/")[-1]], defs)
    for key in ("oneOf", "anyOf"):
        if key in schema:
            return minimal(schema[key][0], defs)
    if "allOf" in schema:
        out = {}
        for s in schema["allOf"]:
            out.update(minimal(s, defs))
        return out
    if "enum" in schema:
        return next(v for v in schema["enum"] if v is not None)
    t = schema.get("type", "object")
    if isinstance(t, list):
        t = next(x for x in t if x != "null")
    if t == "object":
        props = schema.get("properties", {})
        return {k: minimal(props[k], defs) for k in schema.get("required", []) if k in props}
    if t == "array":
        return [minimal(schema.get("items", {}), defs) for _ in range(schema.get("minItems", 0))]
    if t in ("number", "integer"):
        return schema.get("minimum", 1)
    if t == "boolean":
        return False
    if "pattern" in schema:
        return PATTERNS[schema["pattern"]]
    lo, hi = schema.get("minLength", 1), schema.get("maxLength", 10)
    if lo == hi == 25:
        return "2025-09-01T10:00:00+01:00"
    if lo <= 10 <= hi and schema.get("format") == "date":
        return "2025-09-01"
    return "X" * max(lo, 1)


def fix_ids(v):
    """Fields named ...DIPID get a DIP ID rather than filler."""
    if isinstance(v, dict):
        for k, x in v.items():
            if k.endswith("DIPID") and isinstance(x, str):
                v[k] = "1000000001"
            else:
                fix_ids(x)
    elif isinstance(v, list):
        for x in v:
            fix_ids(x)


def message(interface, event, sender, role, ts, corr, primary, secondary=(), dcp=None, response=None):
    path = os.path.join(ROOT, "schemas", "dip", interface, event + ".schema.json")
    schema = json.load(open(path))
    msg = minimal(schema, schema.get("definitions", {}))
    fix_ids(msg)
    cb = msg["CommonBlock"]
    s1 = cb["S1"]
    day = ts[:10].replace("-", "")
    s1.update({
        "environmentTag": "SIT",
        "subText": "flowguard dip-policy corpus",
        "senderUniqueReference": "S-%s-%s-%s-%s-%s" % (interface, sender, role, day, corr.replace("-", "")[-8:]),
        "senderTimestamp": ts,
        "senderDIPID": sender,
        "senderRoleID": role,
        "senderCorrelationID": corr,
        "DIPConnectionProviderID": dcp,
    })
    cb["A0"] = {"primaryRecipients": list(primary), "secondaryRecipients": list(secondary), "always": []}
    if interface == "IF-032":  # IF-035 carries its outcome in the event code and has no R0
        cb["R0"] = {"responseCode": response or "A", "responseMessages": []}
    return msg


T = "2025-09-01T10:00:00+01:00"
SUP, SUP_OLD, REGS, MSS, ADS, ADS_OLD = "2300000018", "2300000019", "2200000000", "1200000049", "1100000017", "1100000018"
SDS, SDS_UNPAIRED, MDR, MDR_OPTED, MDR_OLD = "1400000012", "1400000013", "1500000023", "1500000024", "1500000025"


def f(rule, severity, path):
    return {"rule": rule, "severity": severity, "path": path}


# name: (message, why, expected findings)
CASES = {
    "sender-role-allowed": (message("IF-031", "MSApp", SUP, "SUP", T, "CI-20250901-SR1", [REGS]),
                            "a supplier sends IF-031 to the registration service: SUP is IF-031's ingress role, REGS its egress role", []),
    "sender-role-refused": (message("IF-031", "MSApp", MSS, "MSS", T, "CI-20250901-SR2", [REGS]),
                            "a metering service sends IF-031, whose only ingress role code is SUP",
                            [f("DIP-POLICY-SENDER-ROLE", "error", "/CommonBlock/S1/senderRoleID")]),
    "sender-role-mismatch": (message("IF-027", "ConsumptionAmendment", MSS, "SUP", T, "CI-20250901-SR3", [SDS]),
                             "senderRoleID SUP from a DIP ID the registry lists as MSS",
                             [f("DIP-POLICY-SENDER-ROLE", "error", "/CommonBlock/S1/senderRoleID")]),
    "recipient-role-allowed": (message("IF-027", "ConsumptionAmendment", SUP, "SUP", T, "CI-20250901-RR1", [SDS, ADS]),
                               "IF-027 to an SDS and an ADS, both egress role codes of IF-027", []),
    "recipient-role-refused": (message("IF-027", "ConsumptionAmendment", SUP, "SUP", T, "CI-20250901-RR2", [SDS, MDR]),
                               "IF-027 to an MDR, which is not an egress role code of IF-027",
                               [f("DIP-POLICY-RECIPIENT-ROLE", "error", "/CommonBlock/A0/primaryRecipients/1")]),
    "sender-dipid-refused": (message("IF-031", "MSApp", SUP_OLD, "SUP", T, "CI-20250901-SD1", [REGS]),
                             "the sender DIP ID's effective window ended on 2025-06-30",
                             [f("DIP-POLICY-SENDER-DIPID", "error", "/CommonBlock/S1/senderDIPID")]),
    "sender-dipid-unknown": (message("IF-031", "MSApp", "2300000099", "SUP", T, "CI-20250901-SD2", [REGS]),
                             "a sender DIP ID the (complete) registry does not list",
                             [f("DIP-POLICY-SENDER-DIPID", "error", "/CommonBlock/S1/senderDIPID")]),
    "recipient-dipid-refused": (message("IF-027", "ConsumptionAmendment", SUP, "SUP", T, "CI-20250901-RD1", [SDS, ADS_OLD]),
                                "the second primary recipient's effective window ended on 2025-01-31",
                                [f("DIP-POLICY-RECIPIENT-DIPID", "error", "/CommonBlock/A0/primaryRecipients/1")]),
    "dcp-allowed": (message("IF-031", "MSApp", SUP, "SUP", T, "CI-20250901-DC1", [REGS], dcp="9000000002"),
                    "sent through the DCP nominated for the supplier in 2025", []),
    "dcp-refused": (message("IF-031", "MSApp", SUP, "SUP", T, "CI-20250901-DC2", [REGS], dcp="9000000003"),
                    "sent through a DCP that is not the one nominated for the supplier",
                    [f("DIP-POLICY-DCP", "error", "/CommonBlock/S1/DIPConnectionProviderID")]),
    "dcp-not-nominated": (message("IF-031", "MSApp", SUP, "SUP", "2025-11-15T09:00:00+00:00", "CI-20251115-DC3", [REGS], dcp="9000000002"),
                          "the supplier's DCP nomination ended on 2025-10-31",
                          [f("DIP-POLICY-DCP", "error", "/CommonBlock/S1/DIPConnectionProviderID")]),
    "pairing-allowed": (message("IF-061", "MDRStart", SDS, "SDS", T, "CI-20250901-PA1", [MDR]),
                        "IF-061 from an SDS to the MDR it is paired with", []),
    "pairing-refused": (message("IF-061", "MDRStart", SDS_UNPAIRED, "SDS", T, "CI-20250901-PA2", [MDR]),
                        "IF-061 from an SDS to an MDR it is not paired with",
                        [f("DIP-POLICY-PAIRING", "error", "/CommonBlock/A0/primaryRecipients/0")]),
    "pairing-expired": (message("IF-061", "MDRStart", SDS, "SDS", "2025-11-15T09:00:00+00:00", "CI-20251115-PA3", [MDR]),
                        "IF-061 after the pairing's window ended on 2025-10-31",
                        [f("DIP-POLICY-PAIRING", "error", "/CommonBlock/A0/primaryRecipients/0")]),
    "pairing-reply-refused": (message("IF-062", "MDRStartResponse", MDR, "MDR", T, "CI-20250901-PA4", [SDS_UNPAIRED]),
                              "IF-062 from an MDR to an SDS that has not paired with it",
                              [f("DIP-POLICY-PAIRING", "error", "/CommonBlock/A0/primaryRecipients/0")]),
    "routing-opt-out": (message("IF-006", "MeterInstall", MSS, "MSS", T, "CI-20250901-RO1", [REGS], [MDR_OPTED, MDR, MDR_OLD]),
                        "IF-006 [MeterInstall] whose secondary recipients include an MDR opted out of it and an MDR no longer effective: both are dropped (info)",
                        [f("DIP-POLICY-ROUTING", "info", "/CommonBlock/A0/secondaryRecipients")]),
    "routing-before-opt-out": (message("IF-006", "MeterInstall", MSS, "MSS", "2025-03-01T09:00:00+00:00", "CI-20250301-RO2", [REGS], [MDR_OPTED, MDR]),
                               "the same before the opt-out's window starts (2025-03-07 10:40): nothing is dropped", []),
}

# The appointment flow (run with --flows over the folder, in senderTimestamp order).
FLOW = []


def flow(minute, interface, event, corr, why, findings, response=None):
    ts = "2025-09-02T09:%02d:00+01:00" % minute
    if interface == "IF-031":
        msg = message(interface, event, SUP, "SUP", ts, corr, [REGS])
    else:
        msg = message(interface, event, REGS, "REGS", ts, corr, [SUP], response=response)
    if minute == 14:  # a new message on a finished process: its own reference, the old correlation id
        s1 = msg["CommonBlock"]["S1"]
        s1["senderUniqueReference"] = s1["senderUniqueReference"][:-8] + "02REUSED"
    FLOW.append(("%02d-%s-%s" % (minute, interface, event), msg, why, findings))


I, E, P = "info", "error", "/CommonBlock/S1/senderCorrelationID"
R = "DIP-FLOW-APPOINTMENT"
flow(1, "IF-031", "MSApp", "CI-FLOW-20250902-SUCCESS", "process starts, awaiting IF-032", [f(R, I, P)])
flow(2, "IF-031", "MSApp", "CI-FLOW-20250902-REJECTED", "process starts, awaiting IF-032", [f(R, I, P)])
flow(3, "IF-031", "MSApp", "CI-FLOW-20250902-LAPSED", "process starts, awaiting IF-032", [f(R, I, P)])
flow(4, "IF-031", "MSApp", "CI-FLOW-20250902-SKIP", "process starts, awaiting IF-032", [f(R, I, P)])
flow(5, "IF-032", "MSAppInitialResp", "CI-FLOW-20250902-SUCCESS", "initial response A, awaiting IF-035", [f(R, I, P)], response="A")
flow(6, "IF-032", "MSAppInitialResp", "CI-FLOW-20250902-REJECTED", "initial response R: the process ends Failed", [f(R, I, P)], response="R")
flow(7, "IF-032", "MSAppInitialResp", "CI-FLOW-20250902-LAPSED", "initial response A, awaiting IF-035", [f(R, I, P)], response="A")
flow(8, "IF-036", "MSAppActive", "CI-FLOW-20250902-SKIP", "IF-036 while the process awaits IF-032: out of order", [f(R, E, P)])
flow(9, "IF-035", "MSAppAccepted", "CI-FLOW-20250902-SUCCESS", "appointment accepted, awaiting IF-036", [f(R, I, P)])
flow(10, "IF-035", "MSAppLapsed", "CI-FLOW-20250902-LAPSED", "appointment lapsed (L): the process ends Failed", [f(R, I, P)], response="L")
flow(11, "IF-036", "MSAppActive", "CI-FLOW-20250902-SUCCESS", "appointment active: the process ends Success", [f(R, I, P)])
flow(12, "IF-035", "MSAppAccepted", "CI-FLOW-20250902-REJECTED", "IF-035 for a process that already ended Failed", [f(R, E, P)], response="A")
flow(13, "IF-032", "MSAppInitialResp", "CI-FLOW-20250902-UNKNOWN", "IF-032 for a correlation id no IF-031 started", [f(R, E, P)], response="A")
flow(14, "IF-031", "MSApp", "CI-FLOW-20250902-SUCCESS", "IF-031 reusing the correlation id of a finished process", [f(R, E, P)])


def write(path, obj):
    with open(path, "w") as out:
        json.dump(obj, out, indent=2)
        out.write("\n")


def type_of(msg):
    s0 = msg["CommonBlock"]["S0"]
    return "dip.%s.%s" % (s0["interfaceID"], s0["eventCode"].strip("[]"))


for name, (msg, why, findings) in CASES.items():
    write(os.path.join(HERE, name + ".json"), msg)
    write(os.path.join(HERE, name + ".expected.json"),
          {"type": type_of(msg), "registry": "registry.yaml", "why": why, "findings": findings})

for name, msg, why, findings in FLOW:
    write(os.path.join(HERE, "flows", name + ".json"), msg)
    write(os.path.join(HERE, "flows", name + ".expected.json"),
          {"type": type_of(msg), "registry": "../registry.yaml", "options": {"flows": True}, "why": why, "findings": findings})
