"""A stand-in for a hosted LLM (the one part outside the machine), speaking the OpenAI
chat-completions protocol on loopback, so the dashboard's costs come from real LLM-tier rows.

It answers with the first passage that shares a content word with the question (citing it),
and says it cannot answer otherwise. Usage is reported like a real endpoint: prompt tokens of
the messages (4 characters per token), completion tokens of the reply.

  python fake_llm.py PORT_FILE     (writes the port it listens on to PORT_FILE)
"""

import http.server
import json
import re
import sys

STOP = {"how", "long", "does", "do", "the", "a", "an", "my", "can", "be", "is", "what", "on", "take", "many", "i"}


class Handler(http.server.BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))))
        text = "\n".join(m.get("content", "") for m in body.get("messages", []))
        user = body["messages"][-1]["content"]
        passages = re.findall(r"^\[(\d+)\][^\n]*:\n(.*?)(?=\n\n\[\d+\]|\n\nQuestion:|\Z)", user, re.S | re.M)
        question = user.rsplit("Question:", 1)[-1].lower() if "Question:" in user else user.lower()
        words = {w for w in re.findall(r"[a-z]+", question) if w not in STOP and len(w) > 3}
        reply = {"can_answer": False, "answer": "", "citations": [], "confidence": 0.0}
        for pid, passage in passages:
            if words & set(re.findall(r"[a-z]+", passage.lower())):
                reply = {"can_answer": True, "answer": passage.strip(), "citations": [int(pid)], "confidence": 0.9}
                break
        content = json.dumps(reply)
        out = json.dumps({
            "id": "fake-1", "object": "chat.completion", "model": body.get("model", "fake"),
            "choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": content}}],
            "usage": {"prompt_tokens": len(text) // 4 + 1, "completion_tokens": len(content) // 4 + 1},
        }).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(out)))
        self.end_headers()
        self.wfile.write(out)


server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
with open(sys.argv[1], "w") as f:
    f.write(str(server.server_address[1]))
server.serve_forever()
