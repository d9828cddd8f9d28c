#!/usr/bin/env python3
"""Regenerates the per-variant DIP corpus: tests/corpus/dip/<IF>/<EventCode>/{valid,invalid}.json
and their .expected.json, from schemas/dip (index.json and the variant schemas).

A convenience for maintainers only: the generated files are committed, and neither the build nor
the tests run this script (Python is not guaranteed on users' machines or in CI).

    python3 tests/corpus/dip/generate.py            # from the repository root

* valid.json: a minimal message the variant schema accepts: the required properties only (plus
  CommonBlock.M0 where the variant declares it, so MPAN checks run), each value synthesised from its
  schema: enums, patterns, lengths, bounds, formats, with realistic identifiers (senderUniqueReference,
  transactionID, DIP IDs, MPAN cores with valid check digits, ISO 8601 date-times).
* invalid.json: the valid message with one mutation; the mutations rotate over the variants
  (missing required property, enum, wrong type, unknown property, too long, MPAN check digit,
  DIP ID, senderUniqueReference date), so together they cover schema findings and rules.

Topic cases (tests/corpus/dip/<topic>/<case>.json: key case, unknown variants, payload wrappers
and arrays, repeated senderUniqueReference, timestamps, identifiers) are built by topics() from the
IF-031 [MSApp] valid message.
"""
import copy
import json
import os
import re
import sys

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
SCHEMAS = os.path.join(ROOT, "schemas", "dip")
OUT = os.path.join(ROOT, "tests", "corpus", "dip")

MPAN_WEIGHTS = [3, 5, 7, 13, 17, 19, 23, 29, 31, 37, 41, 43]


def mpan(first12):
    return first12 + str(sum(int(d) * w for d, w in zip(first12, MPAN_WEIGHTS)) % 11 % 10)


def ident_digits(interface):
    """'IF-031' -> ('IF-', '031'); 'REP-002A' -> ('REP-', '002')."""
    m = re.match(r"^(IF|REP)-(\d{3,4})", interface)
    return m.group(1) + "-", m.group(2)


class Synth:
    def __init__(self, schema, variant, n):
        self.schema = schema
        self.defs = schema.get("definitions", {})
        self.variant = variant
        self.n = n  # variant number, for unique references

    def resolve(self, node):
        for _ in range(32):
            if isinstance(node, dict) and "$ref" in node:
                node = self.defs[node["$ref"].split("/")[-1]]
            else:
                return node
        raise RuntimeError("deep $ref")

    def named(self, key, node):
        """Realistic values for identifiers the rules look at."""
        iface = self.variant["interface"]
        pre, digits = ident_digits(iface)
        types = node.get("type")
        if key == "senderUniqueReference":
            return "S-%s%s-0123456789-SUP-20250317-%05dA" % (pre, digits, self.n)
        if key == "senderCorrelationID":
            return "CI-20250317-%013d" % (1234567890000 + self.n)
        if key == "transactionID":
            return "T-%s-1009012345-SUP-20250317-1234CC%010d" % (iface, self.n)
        if key == "senderRoleID":
            return "SUP"
        if key.lower().endswith("dipid") or key == "DIPConnectionProviderID":
            return "1009012345" if key != "DIPConnectionProviderID" else None
        if node.get("pattern") == "^\\d{13}?$":
            return mpan("200005653597")
        if node.get("minLength") == 25 and node.get("maxLength") == 25:
            return "2025-03-17T17:08:14+00:00"
        return Ellipsis

    def pattern_value(self, p, node):
        if p.startswith("^S-"):
            return self.named("senderUniqueReference", node)
        if p == "^\\d{13}?$":
            return mpan("200005653597")
        if p == "^[A-Z]{4}$":
            return "ABCD"
        m = re.match(r"^\^(-\?)?\\d\{(\d+),(\d+)\}\\\.\\d\{(\d+)\}\$$", p)
        if m:
            return "1." + "0" * int(m.group(4))
        m = re.match(r"^\^\\d\{(\d+)(,(\d+))?\}\$$", p)
        if m:
            return "1" * int(m.group(1))
        raise RuntimeError("no sample for pattern " + p)

    def value(self, node, key=None):
        node = self.resolve(node)
        if "enum" in node:
            vals = [v for v in node["enum"] if v is not None]
            return vals[0] if vals else None
        if "const" in node:
            return node["const"]
        types = node.get("type", "object" if "properties" in node else "string")
        if isinstance(types, list):
            nonnull = [t for t in types if t != "null"]
            if key is not None:
                named = self.named(key, dict(node, type=nonnull[0] if nonnull else "null"))
                if named is not Ellipsis:
                    return named
            if "null" in types:
                return None
            types = nonnull[0]
        if types == "object":
            out = {}
            props = node.get("properties", {})
            keys = list(node.get("required", []))
            if key == "CommonBlock" and "M0" in props and "M0" not in keys:
                keys.append("M0")
            for k in keys:
                out[k] = self.value(props.get(k, {}), k)
            return out
        if types == "array":
            return [self.value(node.get("items", {})) for _ in range(node.get("minItems", 0))]
        if types == "boolean":
            return False
        if types in ("integer", "number"):
            v = node.get("minimum", node.get("exclusiveMinimum", -1) + 1 if "exclusiveMinimum" in node else 1)
            if "maximum" in node and v > node["maximum"]:
                v = node["maximum"]
            return int(v) if types == "integer" else v
        # string
        if key is not None:
            named = self.named(key, node)
            if named is not Ellipsis:
                return named
        if "pattern" in node:
            return self.pattern_value(node["pattern"], node)
        if node.get("format") == "email":
            return "ops@example.com"
        if node.get("format") == "date":
            return "2025-03-17"
        if node.get("format") == "date-time":
            return "2025-03-17T17:08:14+00:00"
        lo = node.get("minLength", 1)
        return "X" * max(lo, 1) if node.get("maxLength", 99) >= max(lo, 1) else "X" * node["maxLength"]


def ptr(*keys):
    return "".join("/" + str(k).replace("~", "~0").replace("/", "~1") for k in keys)


def first_required_object(msg, schema, synth):
    """(path, key) of a required property inside CustomBlock (depth-first), else inside S1."""
    def walk(node, inst, path):
        node = synth.resolve(node)
        if not isinstance(inst, dict):
            return None
        req = node.get("required", [])
        props = node.get("properties", {})
        for k in req:
            if k in inst and isinstance(inst[k], dict):
                found = walk(props.get(k, {}), inst[k], path + [k])
                if found:
                    return found
        for k in req:
            if k in inst and not isinstance(inst[k], (dict, list)):
                return (path, k)
        return (path, req[0]) if req and req[0] in inst else None
    cb = schema["properties"].get("CustomBlock")
    if cb and "CustomBlock" in msg:
        found = walk(cb, msg["CustomBlock"], ["CustomBlock"])
        if found:
            return found
    return (["CommonBlock", "S1"], "senderRoleID")


def get(msg, path):
    for k in path:
        msg = msg[k]
    return msg


def mutations(msg, schema, synth):
    """Applicable mutations: (name, mutate(msg) -> (why, [findings]))."""
    out = []

    def missing(m):
        path, key = first_required_object(m, schema, synth)
        del get(m, path)[key]
        return ("required %s removed from %s" % (key, path[-1]),
                [{"rule": "schema.required", "severity": "error", "path": ptr(*path), "code": "MSG1001"}])
    out.append(("missing-required", missing))

    def enum(m):
        m["CommonBlock"]["S1"]["environmentTag"] = "PROD"
        return ("environmentTag PROD (the enum is PRD, SITB, SIT, UIT, DEV)",
                [{"rule": "schema.enum", "severity": "error", "path": "/CommonBlock/S1/environmentTag", "code": "MSG1001"}])
    out.append(("enum", enum))

    def wrong_type(m):
        m["CommonBlock"]["S1"]["senderTimestamp"] = 20250317170814
        return ("senderTimestamp is a number",
                [{"rule": "schema.type", "severity": "error", "path": "/CommonBlock/S1/senderTimestamp", "code": "MSG1001"}])
    out.append(("type", wrong_type))

    def unknown(m):
        m["CommonBlock"]["S1"]["senderName"] = "Example Supplier"
        return ("S1 has a property the spec does not define",
                [{"rule": "schema.additionalProperties", "severity": "error", "path": "/CommonBlock/S1/senderName", "code": "MSG1001"}])
    out.append(("unknown-property", unknown))

    if "M0" in msg["CommonBlock"] and isinstance(msg["CommonBlock"]["M0"].get("MPANCore"), str):
        def bad_mpan(m):
            core = m["CommonBlock"]["M0"]["MPANCore"]
            m["CommonBlock"]["M0"]["MPANCore"] = core[:12] + str((int(core[12]) + 1) % 10)
            return ("MPANCore with a wrong check digit",
                    [{"rule": "DIP-MPAN-CHECK-DIGIT", "severity": "error", "path": "/CommonBlock/M0/MPANCore", "code": "RCP1061"}])
        out.append(("mpan-check-digit", bad_mpan))

    def too_long(m):
        m["CommonBlock"]["S1"]["subText"] = "x" * 501
        return ("subText of 501 characters (at most 500)",
                [{"rule": "schema.maxLength", "severity": "error", "path": "/CommonBlock/S1/subText", "code": "MSG1001"}])
    out.append(("max-length", too_long))

    def dip_id(m):
        m["CommonBlock"]["S1"]["senderDIPID"] = "10090ABCDE"
        return ("senderDIPID with letters (a DIP ID is 10 digits)",
                [{"rule": "DIP-DIP-ID", "severity": "error", "path": "/CommonBlock/S1/senderDIPID", "code": "MSG1009"}])
    out.append(("dip-id", dip_id))

    def sur_date(m):
        s1 = m["CommonBlock"]["S1"]
        s1["senderUniqueReference"] = s1["senderUniqueReference"].replace("-20250317-", "-20252313-")
        return ("senderUniqueReference dated 2025-23-13, as in the spec's own example",
                [{"rule": "DIP-SENDER-UNIQUE-REFERENCE", "severity": "warning", "path": "/CommonBlock/S1/senderUniqueReference"}])
    out.append(("sur-date", sur_date))
    return out


def write(path, value):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    text = json.dumps(value, indent=2, ensure_ascii=False) + "\n"
    old = open(path, encoding="utf-8").read() if os.path.exists(path) else None
    if old != text:
        with open(path, "w", encoding="utf-8") as f:
            f.write(text)


def topics():
    base = json.load(open(os.path.join(OUT, "IF-031", "MSApp", "valid.json")))
    T = "dip.IF-031.MSApp"

    def msg(n=0):
        m = copy.deepcopy(base)
        s1 = m["CommonBlock"]["S1"]
        s1["senderUniqueReference"] = s1["senderUniqueReference"][:-6] + "%05dT" % n
        return m

    def case(topic, name, doc, why, findings, type_name=T, **extra):
        write(os.path.join(OUT, topic, name + ".json"), doc)
        exp = {"type": type_name, "why": why, "findings": findings}
        exp.update(extra)
        write(os.path.join(OUT, topic, name + ".expected.json"), exp)

    def f(rule, severity, path, code=None):
        d = {"rule": rule, "severity": severity, "path": path}
        if code:
            d["code"] = code
        return d

    # key case
    m = msg(1)
    s0 = m["CommonBlock"]["S0"]
    m["CommonBlock"]["S0"] = {"InterfaceID": s0["interfaceID"], "schemaVersion": s0["schemaVersion"], "EVENTCODE": s0["eventCode"]}
    s1 = m["CommonBlock"]["S1"]
    s1["SenderUniqueReference"] = s1.pop("senderUniqueReference")
    case("key-case", "discriminators-and-s1", m,
         "S0 discriminators and a S1 key in another case: recognised and accepted, one warning per key",
         [f("schema.key-case", "warning", "/CommonBlock/S0/InterfaceID"),
          f("schema.key-case", "warning", "/CommonBlock/S0/EVENTCODE"),
          f("schema.key-case", "warning", "/CommonBlock/S1/SenderUniqueReference")])
    m = msg(2)
    m["CommonBlock"]["M0"] = {"mpancore": "2000056535972", "distributorDIPID": "1009012345", "GSPGroupID": "_A"}
    m["CommonBlock"]["S1"]["senderuniquereference"] = m["CommonBlock"]["S1"].pop("senderUniqueReference").replace("-20250317-", "-20251301-")
    case("key-case", "rules-read-any-case", m,
         "rules find fields whatever their case: the MPAN check digit and the reference date are still checked",
         [f("schema.key-case", "warning", "/CommonBlock/M0/mpancore"),
          f("schema.key-case", "warning", "/CommonBlock/S1/senderuniquereference"),
          f("DIP-MPAN-CHECK-DIGIT", "error", "/CommonBlock/M0/mpancore", "RCP1061"),
          f("DIP-SENDER-UNIQUE-REFERENCE", "warning", "/CommonBlock/S1/senderuniquereference")])

    # unknown variants
    m = msg(3)
    m["CommonBlock"]["S0"]["eventCode"] = "[MSAppointment]"
    case("unknown-variant", "event-code", m,
         "IF-031 has no [MSAppointment] event (MSApp, DSApp): reported at the eventCode, naming IF-031's own events",
         [f("type.unknown-variant", "error", "/CommonBlock/S0/eventCode", "RCP1003")], type_name="dip", recognisable=False)
    m = msg(26)
    m["CommonBlock"]["S0"]["eventCode"] = "[MSAppointment]"
    case("unknown-variant", "event-code-in-array", [{"payload": msg(27)}, {"payload": m}],
         "the second message of a DIPMessageArray has an eventCode IF-031 does not have: reported inside its pointer",
         [f("type.unknown-variant", "error", "/1/payload/CommonBlock/S0/eventCode", "RCP1003")], type_name="dip",
         recognisable=False)
    m = msg(4)
    m["CommonBlock"]["S0"]["interfaceID"] = "IF-099"
    case("unknown-variant", "interface", m, "there is no interface IF-099",
         [f("type.unknown-variant", "error", "", "RCP1003")], type_name="dip", recognisable=False)

    # wrappers and arrays
    case("envelope", "payload-wrapper", {"payload": msg(5)}, "one message under \"payload\"", [])
    bad = msg(7)
    bad["CommonBlock"]["M0"]["MPANCore"] = "2000056535970"
    case("envelope", "message-array", [{"payload": msg(6)}, {"payload": bad}, msg(8)],
         "a DIPMessageArray body: two wrapped messages and a bare one; the second has a wrong MPAN check digit",
         [f("DIP-MPAN-CHECK-DIGIT", "error", "/1/payload/CommonBlock/M0/MPANCore", "RCP1061")])
    m2 = msg(10)
    m2["CommonBlock"]["S1"]["subText"] = ""
    case("envelope", "schema-in-array", [msg(9), {"payload": m2}],
         "schema findings point into the message that has them",
         [f("schema.minLength", "error", "/1/payload/CommonBlock/S1/subText", "MSG1001")])

    # repeated senderUniqueReference
    a, b, c = msg(11), msg(12), msg(11)
    case("sender-unique-reference", "repeated-in-document", [{"payload": a}, {"payload": b}, {"payload": c}],
         "the third message reuses the first one's senderUniqueReference",
         [f("DIP-SENDER-UNIQUE-REFERENCE-REPEATED", "error", "/2/payload/CommonBlock/S1/senderUniqueReference", "MSG1006")])
    m = msg(13)
    m["CommonBlock"]["S1"]["senderUniqueReference"] = "S-IF-031-0123456789-SUP-20250229-1A"
    case("sender-unique-reference", "not-a-leap-year", m, "2025-02-29 does not exist",
         [f("DIP-SENDER-UNIQUE-REFERENCE", "warning", "/CommonBlock/S1/senderUniqueReference")])
    m = msg(14)
    m["CommonBlock"]["S1"]["senderUniqueReference"] = "S-031-ABCDEF0123-MSS-20240229-x9"
    case("sender-unique-reference", "short-form", m, "interface without IF-, hex sender part, 2024-02-29 exists", [])

    # timestamps
    m = msg(15)
    m["CommonBlock"]["S1"]["senderTimestamp"] = "2099-03-17T17:08:14+00:00"
    case("timestamps", "sender-in-future", m, "senderTimestamp in 2099, far beyond the 300 s skew",
         [f("DIP-TIMESTAMP-FUTURE", "error", "/CommonBlock/S1/senderTimestamp", "RCP1008")])
    m = msg(16)
    m["CommonBlock"]["S1"]["senderTimestamp"] = "2025-02-30T17:08:14+01:00"
    case("timestamps", "sender-not-a-date", m, "30 February",
         [f("DIP-TIMESTAMP", "error", "/CommonBlock/S1/senderTimestamp", "MSG1007")])
    m = msg(17)
    m["CommonBlock"]["S1"]["senderTimestamp"] = "2025-03-17T24:08:14+00:00"
    case("timestamps", "sender-hour-24", m, "hour 24",
         [f("DIP-TIMESTAMP", "error", "/CommonBlock/S1/senderTimestamp", "MSG1007")])

    # identifiers
    def d0(txn, ts="2025-03-17T17:08:15+00:00"):
        return {"transactionID": txn, "transactionTimestamp": ts, "publicationID": "PUB-001",
                "initialCorrelationID": None, "replayIndicator": False, "serviceTicketURL": None}
    m = msg(18)
    m["CommonBlock"]["D0"] = d0("T-IF-031-2300000018-SUP-20250317-65693C1F82CF3000")
    case("identifiers", "transaction-valid", m, "a D0 block with a well-formed transaction ID", [])
    m = msg(19)
    m["CommonBlock"]["D0"] = d0("T-IF-019-2300000018-SUP-20250317-65693C1F82CF3000")
    case("identifiers", "transaction-other-interface", m, "transactionID names IF-019 on an IF-031 message",
         [f("DIP-TRANSACTION-ID", "error", "/CommonBlock/D0/transactionID", "RCP1043")])
    m = msg(20)
    m["CommonBlock"]["D0"] = d0("T-IF-031-0123456789-SUP-20221301-1234CC0123456789", "2099-01-01T00:00:00+00:00")
    case("identifiers", "transaction-bad-date-future-timestamp", m,
         "transactionID dated month 13; transactionTimestamp in 2099",
         [f("DIP-TRANSACTION-ID", "error", "/CommonBlock/D0/transactionID", "RCP1043"),
          f("DIP-TIMESTAMP-FUTURE", "error", "/CommonBlock/D0/transactionTimestamp", "RCP1045")])
    m = msg(21)
    m["CommonBlock"]["D0"] = d0("TXN-42")
    case("identifiers", "transaction-format", m, "not the published T-... format",
         [f("DIP-TRANSACTION-ID", "error", "/CommonBlock/D0/transactionID", "RCP1043")])
    # Interfaces with a letter suffix (REP-002A/B, REP-003A) cannot be named in identifiers: the
    # senderUniqueReference pattern allows only digits after IF-/REP- (DT-995), so REP-002 is right.
    rep = json.load(open(os.path.join(OUT, "REP-002A", "DUoSEmbeddedLDSOAggData", "valid.json")))
    rep_type = "dip.REP-002A.DUoSEmbeddedLDSOAggData"

    def rep_msg(n):  # a reference of its own: one run checks the whole corpus (MSG1006 across documents)
        m = copy.deepcopy(rep)
        s1 = m["CommonBlock"]["S1"]
        s1["senderUniqueReference"] = s1["senderUniqueReference"][:-6] + "%05dR" % n
        return m
    m = rep_msg(1)
    m["CommonBlock"]["D0"] = d0("T-REP-002-2300000018-SUP-20250317-65693C1F82CF3000")
    case("identifiers", "transaction-letter-suffix", m,
         "transactionID names REP-002 on a REP-002A message: identifiers cannot carry the letter", [], type_name=rep_type)
    m = rep_msg(2)
    m["CommonBlock"]["D0"] = d0("T-REP-003-2300000018-SUP-20250317-65693C1F82CF3000")
    case("identifiers", "transaction-letter-suffix-other", m, "transactionID names REP-003 on a REP-002A message",
         [f("DIP-TRANSACTION-ID", "error", "/CommonBlock/D0/transactionID", "RCP1043")], type_name=rep_type)
    m = msg(22)
    m["CommonBlock"]["S1"]["senderCorrelationID"] = "CI-BP09-20220401-1234567890123"
    case("identifiers", "correlation-with-process", m, "the portal guide's form, with a process segment", [])
    m = msg(23)
    m["CommonBlock"]["S1"]["senderCorrelationID"] = "my-correlation-1"
    case("identifiers", "correlation-format", m, "not CI-[<process>-]yyyymmdd-<ref>",
         [f("DIP-SENDER-CORRELATION-ID", "warning", "/CommonBlock/S1/senderCorrelationID", "MSG1012")])
    m = msg(24)
    m["CommonBlock"]["S1"]["senderCorrelationID"] = "CI-20221340-1"
    case("identifiers", "correlation-date", m, "month 13",
         [f("DIP-SENDER-CORRELATION-ID", "warning", "/CommonBlock/S1/senderCorrelationID", "MSG1012")])
    m = msg(25)
    m["CommonBlock"]["S1"]["DIPConnectionProviderID"] = "90000000X8"
    m["CommonBlock"]["A0"] = {"primaryRecipients": ["1200000047"], "secondaryRecipients": ["25000000OO", None], "always": []}
    m["CustomBlock"]["B070"]["proposedMeteringServiceDIPID"] = "12-0000047"
    case("identifiers", "dip-ids", m, "DIP IDs with letters or punctuation in S1, the A0 recipients and a custom block",
         [f("DIP-DIP-ID", "error", "/CommonBlock/S1/DIPConnectionProviderID", "MSG1011"),
          f("DIP-DIP-ID", "error", "/CommonBlock/A0/secondaryRecipients/0", "MSG1033"),
          f("DIP-DIP-ID", "error", "/CustomBlock/B070/proposedMeteringServiceDIPID")])


def main():
    index = json.load(open(os.path.join(SCHEMAS, "index.json")))
    count = 0
    for n, v in enumerate(index["variants"]):
        schema = json.load(open(os.path.join(SCHEMAS, v["schema"])))
        synth = Synth(schema, v, n)
        msg = synth.value(schema)
        type_name = "dip.%s.%s" % (v["interface"], v["eventCode"].strip("[]"))
        folder = os.path.join(OUT, v["interface"], v["eventCode"].strip("[]"))
        write(os.path.join(folder, "valid.json"), msg)
        write(os.path.join(folder, "valid.expected.json"),
              {"type": type_name, "why": "minimal message synthesised from the variant schema", "findings": []})
        muts = mutations(msg, schema, synth)
        name, mutate = muts[n % len(muts)]
        bad = copy.deepcopy(msg)
        why, findings = mutate(bad)
        write(os.path.join(folder, "invalid.json"), bad)
        write(os.path.join(folder, "invalid.expected.json"),
              {"type": type_name, "why": "%s: %s" % (name, why), "findings": findings})
        count += 1
    topics()
    print("%d variants (and the topic cases) written under %s" % (count, os.path.relpath(OUT, ROOT)))


if __name__ == "__main__":
    sys.exit(main())
