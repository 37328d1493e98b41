"""`h2ogpte-keys mcp` through the official Python MCP SDK, against a fake
h2oGPTe: the tools and their schemas, reads, writes refused without
--allow-writes, a rotation planned and applied by its digest (confirmed by
repeating it, and by elicitation), its secrets in the sink and in no
response or log, and hostile requests answered with errors while the
process keeps serving.

Usage: mcp_check.py BIN SERVER_URL ADMIN_KEY WORKDIR (a fake server with
user u-1 named alice).
"""

import asyncio
import json
import os
import stat
import subprocess
import sys

from mcp import ClientSession, MCPError, StdioServerParameters, stdio_client
from mcp import types

BIN, URL, KEY, WORK = sys.argv[1:5]
ENV = {**os.environ, "H2OGPTE_SERVER_URL": URL, "H2OGPTE_API_KEY": KEY,
       "XDG_STATE_HOME": os.path.join(WORK, "state"), "XDG_CONFIG_HOME": os.path.join(WORK, "config")}
SECRETS = os.path.join(WORK, "secrets")
os.makedirs(SECRETS, mode=0o700, exist_ok=True)
os.chmod(SECRETS, 0o700)
with open(os.path.join(WORK, "users.csv"), "w") as f:
    f.write("alice,u-1\n")
with open(os.path.join(WORK, "policy.toml"), "w") as f:
    f.write("expiring_within_days = 60\nmax_lifetime_days = 90\n")

transcript = []  # every request and answer the model would see
passed = 0


def check(cond, what):
    global passed
    if not cond:
        raise SystemExit(f"FAILED: {what}")
    passed += 1


def cli(*args):
    out = subprocess.run([BIN, *args], env=ENV, capture_output=True, text=True, check=True)
    return out.stdout


def short(value):
    """A transcript's copy of an argument: long strings cut."""
    if isinstance(value, str) and len(value) > 80:
        return value[:40] + f"... ({len(value)} characters)"
    return value


async def call(s, name, args):
    """A tool call as the model makes it: the answer's text, or the error's."""
    shown = {k: short(v) for k, v in args.items()}
    try:
        r = await s.call_tool(name, args)
        text = "".join(c.text for c in r.content if getattr(c, "type", "") == "text")
        transcript.append({"call": name, "arguments": shown, "result": text, "is_error": r.is_error})
        return (json.loads(text) if text.startswith("{") else text), r.is_error
    except MCPError as e:
        transcript.append({"call": name, "arguments": shown, "error": e.message})
        return e.message, True


async def session(extra, body, elicit=None):
    log = open(os.path.join(WORK, "mcp-stderr.log"), "a")
    params = StdioServerParameters(command=BIN, args=["mcp", *extra], env=ENV)
    async with stdio_client(params, errlog=log) as streams:
        async with ClientSession(streams[0], streams[1], elicitation_callback=elicit) as s:
            await s.initialize()
            await body(s)


async def reads(s):
    tools = {t.name: t for t in (await s.list_tools()).tools}
    check(set(tools) == {"whoami", "list_keys", "show_key", "audit", "plan", "apply_plan"}, f"tools {set(tools)}")
    check(all(t.input_schema.get("type") == "object" for t in tools.values()), "input schemas")
    check(tools["list_keys"].output_schema is not None, "list_keys has an output schema")
    me, err = await call(s, "whoami", {})
    check(not err and len(me["keys"]) == 1 and me["server"].startswith(URL), f"whoami {me}")
    page, err = await call(s, "list_keys", {"limit": 2})
    check(not err and len(page["keys"]) == 2 and page["next_cursor"] == 2, f"list_keys {page}")
    rest, err = await call(s, "list_keys", {"limit": 200, "cursor": page["next_cursor"]})
    check(not err and rest["next_cursor"] is None, "the cursor ends")
    alice, err = await call(s, "list_keys", {"user": "alice", "state": "active"})
    check(not err and len(alice["keys"]) == 2, f"alice's keys {alice}")
    audit, err = await call(s, "audit", {"user": "alice"})
    check(not err and {f["finding"] for f in audit["findings"]} == {"expiring-soon"}, f"audit {audit}")
    plan, err = await call(s, "plan", {"user": "alice"})
    check(not err and plan["changes"] == {"rotate": 2} and not plan["writes_allowed"], f"plan {plan}")
    refused, err = await call(s, "apply_plan", {"digest": plan["digest"], "confirm": plan["digest"]})
    check(err and "--allow-writes" in refused, f"writes are off: {refused}")


async def writes(s):
    plan, _ = await call(s, "plan", {"user": "alice"})
    digest = plan["digest"]
    check(plan["writes_allowed"] and plan["changes"] == {"rotate": 2}, f"plan {plan}")
    ask, err = await call(s, "apply_plan", {"digest": digest})
    check(err and "confirmation needed" in ask and "127.0.0.1" in ask, f"names the server: {ask}")
    wrong, err = await call(s, "apply_plan", {"digest": digest, "confirm": "yes"})
    check(err and "confirmation needed" in wrong, "a wrong confirm changes nothing")
    huge, err = await call(s, "apply_plan", {"digest": "x" * 1_000_000})
    check(err and "256" in huge, "an oversize digest is refused")
    unknown, err = await call(s, "apply_plan", {"digest": "0" * 64, "confirm": "0" * 64})
    check(err and "no plan with this digest" in unknown, "an invented digest is refused")
    done, err = await call(s, "apply_plan", {"digest": digest, "confirm": digest})
    check(not err and [r["result"] for r in done["rows"]] == ["done", "done"], f"applied {done}")
    check(all(SECRETS in r["detail"] for r in done["rows"]), "each row says where the secret went")
    again, err = await call(s, "apply_plan", {"digest": digest, "confirm": digest})
    check(err and "no plan with this digest" in again, "a plan is applied once")
    after, _ = await call(s, "plan", {"user": "alice"})
    check(after["changes"] == {}, f"nothing left to do: {after}")


async def elicited(s):
    cli("create", "--user", "u-1", "--name", "third", "--expires-in", "30 days", "--secret-file", os.path.join(WORK, "third"), "-q")
    plan, _ = await call(s, "plan", {"user": "alice"})
    done, err = await call(s, "apply_plan", {"digest": plan["digest"]})
    check(not err and [r["result"] for r in done["rows"]] == ["done"], f"confirmed by elicitation: {done}")


async def accept(context, params):
    transcript.append({"elicitation": params.message})
    return types.ElicitResult(action="accept", content={"apply": True})


async def decline(context, params):
    transcript.append({"elicitation": params.message})
    return types.ElicitResult(action="decline")


async def declined(s):
    cli("create", "--user", "u-1", "--name", "fourth", "--expires-in", "30 days", "--secret-file", os.path.join(WORK, "fourth"), "-q")
    plan, _ = await call(s, "plan", {"user": "alice"})
    no, err = await call(s, "apply_plan", {"digest": plan["digest"]})
    check(err and "did not agree" in no, f"declined: {no}")


async def hostile(s):
    for name, args, words in [
        ("no_such_tool", {}, ""),
        ("list_keys", {"limit": 100000}, "limit"),
        ("list_keys", {"limit": "five"}, ""),
        ("list_keys", {"bogus": 1}, ""),
        ("list_keys", {"filter": "x" * 10000}, "256"),
        ("list_keys", {"filter": "a", "user": "b"}, "not both"),
        ("list_keys", {"state": "zombie"}, ""),
        ("show_key", {"id": "../../admin"}, "no key"),
        ("show_key", {"id": ""}, "between"),
        ("show_key", {}, ""),
        ("apply_plan", {"digest": "x" * 1_000_000}, "--allow-writes"),
        ("apply_plan", {"digest": None}, ""),
    ]:
        answer, err = await call(s, name, args)
        check(err, f"{name} {str(args)[:60]} is refused: {str(answer)[:200]}")
        check(words in str(answer), f"{name} says {words!r}: {str(answer)[:200]}")
    odd, err = await call(s, "audit", {"user": "\u0000\u202e"})
    check(not err and odd["keys_checked"] == 0, f"control characters are only text: {odd}")
    me, err = await call(s, "whoami", {})
    check(not err, "the process keeps serving")


async def main():
    for name in ["first", "second"]:
        cli("create", "--user", "u-1", "--name", name, "--expires-in", "30 days", "--secret-file", os.path.join(WORK, name), "-q")
    policy = ["--policy", os.path.join(WORK, "policy.toml")]
    await session(policy, reads)
    sink = ["--allow-writes", "--secret-dir", SECRETS, "--user-map", os.path.join(WORK, "users.csv"),
            "--policy", os.path.join(WORK, "policy.toml")]
    await session(sink, writes)
    await session(sink, elicited, elicit=accept)
    await session(sink, declined, elicit=decline)
    await session([], hostile)
    secrets = []
    for name in os.listdir(SECRETS):
        path = os.path.join(SECRETS, name)
        check(stat.S_IMODE(os.stat(path).st_mode) == 0o600, "secret files are private")
        secrets.append(open(path).read().strip())
    check(len(secrets) == 3 and all(len(s) > 16 for s in secrets), f"three secrets in the sink: {len(secrets)}")
    seen = json.dumps(transcript) + open(os.path.join(WORK, "mcp-stderr.log")).read()
    check(not any(s in seen for s in secrets), "no secret in any response, elicitation or log")
    with open(os.path.join(WORK, "transcript.json"), "w") as f:
        json.dump(transcript, f, indent=1)
    print(f"{passed} passed, 0 failed; transcript in {WORK}/transcript.json")


asyncio.run(main())
