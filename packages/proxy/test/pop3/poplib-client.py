"""Drives python's poplib (a real POP3 client) through steps given as JSON; prints JSON results.

argv: host port mode steps-json, mode = plain | stls | ssl. Each step is [name, *args]; a step's
result, or {"error": text} if poplib raised, is collected in order.
"""
import json
import poplib
import ssl
import sys

host, port, mode, steps = sys.argv[1], int(sys.argv[2]), sys.argv[3], json.loads(sys.argv[4])
unverified = ssl._create_unverified_context()
if mode == "ssl":
    pop = poplib.POP3_SSL(host, port, context=unverified, timeout=10)
else:
    pop = poplib.POP3(host, port, timeout=10)
results = [{"welcome": pop.getwelcome().decode()}]


def text(lines):
    return [line.decode("utf-8", "replace") for line in lines]


actions = {
    "stls": lambda: pop.stls(context=unverified).decode(),
    "capa": lambda: {k: v for k, v in pop.capa().items()},
    "user": lambda name: pop.user(name).decode(),
    "pass": lambda password: pop.pass_(password).decode(),
    "stat": lambda: list(pop.stat()),
    "list": lambda: text(pop.list()[1]),
    "retr": lambda n: text(pop.retr(n)[1]),
    "quit": lambda: pop.quit().decode(),
}
for name, *args in steps:
    try:
        results.append(actions[name](*args))
    except poplib.error_proto as e:
        results.append({"error": str(e.args[0].decode() if isinstance(e.args[0], bytes) else e.args[0])})
print(json.dumps(results))
