"""The MCP server of cascade checked with the official MCP client (PyPI `mcp`), over both transports.

Run by tools/test-mcp, which builds cascade, makes a data folder with a tenant, a document, an
admin key and a query key, and starts `cascade serve`. This script then, for stdio (`cascade mcp`)
and for streamable HTTP (`/mcp` with the tenant's key):
  initialises, lists the tools, calls each, reads a document resource by the URI a search returned,
  and checks in the ledger (through the HTTP API) that the `ask` it made was recorded once,
  and replayed (not billed again) when asked a second time with the same query id.
Every check that fails is printed; the exit status is the number of failures (0: all passed).

  python client_check.py BIN DATA URL ADMIN_KEY QUERY_KEY
"""

import asyncio
import json
import os
import sys
import urllib.request

from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client
from mcp.client.streamable_http import create_mcp_http_client, streamable_http_client

BIN, DATA, URL, ADMIN_KEY, QUERY_KEY = sys.argv[1:6]
# Extra arguments for `cascade mcp` (tools/test-mcp passes `--database URL` for its PostgreSQL pass).
EXTRA = sys.argv[6:]
# Query ids start with this (the PostgreSQL pass uses its own, so its asks are new, not replays).
PREFIX = os.environ.get("MCP_QUERY_PREFIX", "mcp")
failures = []


def check(condition, what):
    print(("ok   " if condition else "FAIL ") + what, flush=True)
    if not condition:
        failures.append(what)


def api(path, key):
    request = urllib.request.Request(URL + path, headers={"Authorization": "Bearer " + key})
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.load(response)


def text_of(result):
    return "\n".join(c.text for c in result.content if getattr(c, "type", "") == "text")


async def exercise(session, label, admin, query_id):
    info = await session.initialize()
    check(info.server_info.name == "cascade", f"{label}: initialize names the server cascade")
    tools = {t.name: t for t in (await session.list_tools()).tools}
    expected = {"search_knowledge_base", "ask", "record_feedback", "record_workflow_run"} | (
        {"list_escalations", "get_usage", "list_verdicts"} if admin else set())
    check(set(tools) == expected, f"{label}: tools are {sorted(expected)} (got {sorted(tools)})")
    check(tools["ask"].input_schema.get("required") == ["question"], f"{label}: ask requires a question")

    # Search: passages with citations and resource URIs.
    found = await session.call_tool("search_knowledge_base", {"query": "how long do refunds take", "k": 3})
    check(not found.is_error, f"{label}: search succeeds")
    passages = (found.structured_content or {}).get("passages", [])
    check(len(passages) >= 1, f"{label}: search returns passages ({len(passages)})")
    check(any("14 days" in p["text"] for p in passages), f"{label}: the refund passage is found")
    check(all(p["citation"] and p["resource_uri"].startswith("cascade://documents/") for p in passages),
          f"{label}: every passage has a citation and a resource URI")
    check("citation:" in text_of(found), f"{label}: the text content cites its passages")

    # The document behind a citation, as a resource.
    resources = (await session.list_resources()).resources
    check(any(str(r.uri).startswith("cascade://documents/") for r in resources), f"{label}: documents are listed as resources")
    if passages:
        read = await session.read_resource(passages[0]["resource_uri"])
        body = "\n".join(getattr(c, "text", "") for c in read.contents)
        check("14 days" in body, f"{label}: reading the cited resource returns the document text")

    # Bad arguments are a tool error the agent can act on, not a crash.
    bad = await session.call_tool("search_knowledge_base", {"query": "refunds", "k": 100000})
    check(bad.is_error and "between 1 and" in text_of(bad), f"{label}: an out-of-range k is a tool error saying the range")
    unknown = await session.call_tool("ask", {"question": "refunds?", "colour": "red"})
    check(unknown.is_error and "colour" in text_of(unknown), f"{label}: an unknown argument is named in the error")

    # Ask: the full cascade, metered.
    asked = await session.call_tool("ask", {"question": "How long do refunds take?", "query_id": query_id})
    check(not asked.is_error, f"{label}: ask succeeds ({text_of(asked)[:120]!r})")
    outcome = asked.structured_content or {}
    check(outcome.get("query_id") == query_id, f"{label}: ask reports its query id")
    check(outcome.get("tier") in ("rule", "rag", "llm", "escalated"), f"{label}: ask reports the tier ({outcome.get('tier')})")
    again = await session.call_tool("ask", {"question": "How long do refunds take?", "query_id": query_id})
    check((again.structured_content or {}).get("replayed") is True, f"{label}: the same query id is replayed, not billed again")
    ledger = api(f"/v1/queries/{query_id}", ADMIN_KEY)["ledger"]
    queries = [row for row in ledger if row["kind"] == "query"]
    check(len(queries) == 1, f"{label}: the ask has exactly one query row in the ledger ({len(queries)})")
    if queries:
        check(queries[0]["tier"] == outcome.get("tier") and queries[0]["tenant"] == "acme",
              f"{label}: the ledger row has the tier and tenant the tool reported")

    # The customer's verdict: once per query; the same verdict again is a replay, the other refused.
    if outcome.get("tier") in ("rule", "rag", "llm"):
        rated = await session.call_tool("record_feedback", {"query_id": query_id, "helpful": True, "comment": "thanks"})
        check(not rated.is_error and (rated.structured_content or {}).get("outcome") == "confirmed",
              f"{label}: record_feedback confirms the resolution ({text_of(rated)[:120]!r})")
        again = await session.call_tool("record_feedback", {"query_id": query_id, "helpful": True})
        check((again.structured_content or {}).get("replayed") is True, f"{label}: the same verdict again is a replay")
        other = await session.call_tool("record_feedback", {"query_id": query_id, "helpful": False})
        check(other.is_error and "already" in text_of(other), f"{label}: the other verdict is refused")
    else:
        refused = await session.call_tool("record_feedback", {"query_id": query_id, "helpful": True})
        check(refused.is_error, f"{label}: an escalated question takes no verdict")

    # A workflow run: started, steps metered once each, ended; recorded once per run id.
    run_id = query_id + "-run"
    started = await session.call_tool("record_workflow_run", {
        "run_id": run_id, "workflow": "refund-approval",
        "steps": [{"step_id": "s1", "name": "classify", "tier": "llm", "model": "gpt-4o-mini",
                   "tokens_in": 1000, "tokens_out": 100}]})
    check(not started.is_error and (started.structured_content or {}).get("status") == "running",
          f"{label}: record_workflow_run starts a run with its steps ({text_of(started)[:120]!r})")
    ended = await session.call_tool("record_workflow_run", {
        "run_id": run_id, "workflow": "refund-approval",
        "steps": [{"step_id": "s1", "name": "classify", "tier": "llm", "model": "gpt-4o-mini",
                   "tokens_in": 1000, "tokens_out": 100},
                  {"step_id": "s2", "name": "refund", "tier": "tool", "cost": "0.002"}],
        "status": "succeeded", "output": {"decision": "approve"}})
    run = ended.structured_content or {}
    check(not ended.is_error and run.get("status") == "succeeded" and run.get("billable") is True
          and len(run.get("steps", [])) == 2,
          f"{label}: record_workflow_run ends it; a retried step is recorded once ({text_of(ended)[:160]!r})")
    bad = await session.call_tool("record_workflow_run", {"run_id": run_id + "-x", "workflow": "a b"})
    check(bad.is_error and "workflow" in text_of(bad), f"{label}: a bad workflow name is a tool error naming it")

    # Escalations (admin): an unanswerable question appears in the queue.
    if admin:
        await session.call_tool("ask", {"question": "Zorblax quantum flux capacitor warranty on Mars colonies?",
                                        "query_id": query_id + "-esc"})
        listed = await session.call_tool("list_escalations", {})
        check(not listed.is_error, f"{label}: list_escalations succeeds")
        ids = [e["query_id"] for e in (listed.structured_content or {}).get("escalations", [])]
        check(query_id + "-esc" in ids, f"{label}: the escalated question is listed")
        verdicts = await session.call_tool("list_verdicts", {"min_verdicts": 1})
        content = verdicts.structured_content or {}
        check(not verdicts.is_error and isinstance(content.get("verdicts"), list)
              and "recommended_threshold" in content.get("threshold", {}),
              f"{label}: list_verdicts gives the verdicts and the threshold they support ({text_of(verdicts)[:160]!r})")
        bad = await session.call_tool("list_verdicts", {"max_false_resolution": 2})
        check(bad.is_error and "max_false_resolution" in text_of(bad), f"{label}: a bad target is a tool error naming it")
        usage = await session.call_tool("get_usage", {})
        runs = {w["workflow"]: w for w in (usage.structured_content or {}).get("workflows", [])}
        check(not usage.is_error and runs.get("refund-approval", {}).get("succeeded", 0) >= 1
              and "Workflow refund-approval" in text_of(usage),
              f"{label}: get_usage shows runs by workflow beside the questions ({text_of(usage)[:160]!r})")
    else:
        denied = await session.call_tool("list_escalations", {})
        check(denied.is_error, f"{label}: list_escalations is refused for a query key")
        denied = await session.call_tool("get_usage", {})
        check(denied.is_error, f"{label}: get_usage is refused for a query key")
        denied = await session.call_tool("list_verdicts", {})
        check(denied.is_error, f"{label}: list_verdicts is refused for a query key")


async def main():
    params = StdioServerParameters(
        command=BIN, args=["mcp", "--tenant", "acme", "--data", DATA, "--embedder", "hashing", *EXTRA])
    async with stdio_client(params) as (read, write):
        async with ClientSession(read, write) as session:
            await exercise(session, "stdio", admin=True, query_id=f"{PREFIX}-stdio-1")

    for key, admin, label in ((ADMIN_KEY, True, "http admin"), (QUERY_KEY, False, "http query key")):
        client = create_mcp_http_client(headers={"Authorization": "Bearer " + key})
        async with client:
            async with streamable_http_client(URL + "/mcp", http_client=client) as streams:
                read, write = streams[0], streams[1]
                async with ClientSession(read, write) as session:
                    await exercise(session, label, admin=admin, query_id=f"{PREFIX}-{'admin' if admin else 'query'}-1")

    # Without a key: refused before any MCP message is read.
    request = urllib.request.Request(URL + "/mcp", data=b"{}", method="POST", headers={"Content-Type": "application/json"})
    try:
        urllib.request.urlopen(request, timeout=10)
        check(False, "http: a request without a key is refused")
    except urllib.error.HTTPError as error:
        check(error.code == 401, f"http: a request without a key is refused with 401 (got {error.code})")

    print(f"{len(failures)} failure(s)" if failures else "all MCP checks passed")
    sys.exit(min(len(failures), 100))


asyncio.run(main())
