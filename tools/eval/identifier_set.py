#!/usr/bin/env python3
"""Writes corpora/sqlite-docs/identifiers: a BEIR-format set of identifier lookups generated from
the SQLite documentation's own structure, with no question written or judged by hand.

Each query is a name a user pastes from code or an error: the first `sqlite3_*` keyword of each
C-interface page (that page is relevant), `PRAGMA name` for each pragma anchor of pragma.html,
and `name()` for each function entry of lang_corefunc.html. This is the query type where keyword
search is expected to be strong (exact rare tokens) and MiniLM weak, the opposite of the
hand-written sets, so it checks that the default fusion does not lose to keywords either.
Judgments are incomplete by construction (only the defining page counts), which lowers every
mode's score alike.

  python3 tools/eval/identifier_set.py [CORPUS_DIR] [OUT_DIR]
"""

import glob
import json
import os
import re
import sys

corpus = sys.argv[1] if len(sys.argv) > 1 else "corpora/sqlite-docs"
out = sys.argv[2] if len(sys.argv) > 2 else os.path.join(corpus, "identifiers")

queries, qrels = [], []


def add(text, doc):
    qid = "i%03d" % (len(queries) + 1)
    queries.append({"_id": qid, "text": text})
    qrels.append((qid, doc))


for path in sorted(glob.glob(os.path.join(corpus, "c3ref", "*.html"))):
    keywords = re.search(r"<!-- keywords: ([^>]*?)-->", open(path, encoding="utf-8").read())
    names = [w for w in (keywords.group(1).split() if keywords else []) if w.startswith("sqlite3_")]
    if names:
        add(names[0], "c3ref/" + os.path.basename(path))
pragma = open(os.path.join(corpus, "pragma.html"), encoding="utf-8").read()
for name in sorted(set(re.findall(r'<a name="pragma_([a-z_0-9]+)"></a>', pragma))):
    add("PRAGMA " + name, "pragma.html")
corefunc = open(os.path.join(corpus, "lang_corefunc.html"), encoding="utf-8").read()
for name in sorted(set(re.findall(r'<a name="([a-z_0-9]+)"></a>\s*<dt>', corefunc))):
    add(name + "()", "lang_corefunc.html")

os.makedirs(os.path.join(out, "qrels"), exist_ok=True)
with open(os.path.join(out, "queries.jsonl"), "w") as f:
    for q in queries:
        f.write(json.dumps(q) + "\n")
with open(os.path.join(out, "qrels", "test.tsv"), "w") as f:
    f.write("query-id\tcorpus-id\tscore\n")
    for qid, doc in qrels:
        f.write("%s\t%s\t1\n" % (qid, doc))
with open(os.path.join(out, "corpus-path"), "w") as f:
    f.write(os.path.relpath(corpus, out) + "\n")
print("%d identifier queries written to %s" % (len(queries), out))
