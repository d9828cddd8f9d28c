# A real JUnit consumer's view of `flowguard check --format junit` (xml.etree, strict XML 1.0):
# prints "suites tests failures errors" and, per failing case, "FAIL suite rule message".
import sys
import xml.etree.ElementTree as ET

root = ET.parse(sys.argv[1]).getroot()
assert root.tag == "testsuites", root.tag
suites = root.findall("testsuite")
tests = failures = errors = 0
lines = []
for s in suites:
    cases = s.findall("testcase")
    assert int(s.get("tests")) == len(cases), (s.get("name"), s.get("tests"), len(cases))
    f = [c for c in cases if c.find("failure") is not None]
    e = [c for c in cases if c.find("error") is not None]
    assert int(s.get("failures")) == len(f) and int(s.get("errors")) == len(e)
    tests += len(cases)
    failures += len(f)
    errors += len(e)
    for c in f:
        lines.append("FAIL %s %s %s" % (s.get("name"), c.get("name"), c.find("failure").get("message")))
    for c in e:
        lines.append("ERROR %s %s %s" % (s.get("name"), c.get("name"), c.find("error").get("message")))
assert int(root.get("tests")) == tests and int(root.get("failures")) == failures
print(len(suites), tests, failures, errors)
for l in lines:
    print(l)
