#!/usr/bin/env python3
"""Writes Tests/EmbeddingsTests/Fixtures/tokenizer-reference.json: token ids that Hugging Face
`tokenizers` (the reference implementation) gives for tricky texts with all-MiniLM-L6-v2's
tokenizer.json. Run from a venv with `pip install tokenizers`:

    python tools/reference/make-tokenizer-fixture.py models/all-MiniLM-L6-v2/tokenizer.json
"""
import json
import sys

from tokenizers import Tokenizer

TEXTS = [
    "This is an example sentence",
    "How do I enable WAL mode?",
    "Café naïve résumé coöperate Ångström façade",
    "ÉCOLE Über STRASSE straße",
    "İstanbul ΣΊΣΥΦΟΣ ὈΔΥΣΣΕΎΣ",
    "emoji 🙂👍🏽 and 🇫🇷 flags ✨",
    "日本語のテキストと中文字符混合 English",
    "한국어 텍스트",
    "sqlite3_open_v2(\"file.db\", &db, SQLITE_OPEN_READWRITE, NULL);",
    "SELECT * FROM t WHERE x >= 10 AND y <> 'a''b' -- comment",
    "path/to/file.txt C:\\Users\\me https://www.sqlite.org/wal.html#ckpt",
    "tab\there\nnewline\r\ncarriage  double  space\u00a0nbsp",
    "zero\u200bwidth\u200djoiner\ufeffbom soft\u00adhyphen",
    "control\u0001chars\u0007bell\u007fdel",
    "replacement \ufffd char",
    "numbers 3.14159 1,000,000 42nd 1e-12 0x1F",
    "supercalifragilisticexpialidocious antidisestablishmentarianism",
    "a" * 120,
    "long " + "word " * 400,
    "mixed---dashes…ellipsis «quotes» “curly” ‘single’ — em – en",
    "$100 + 50% = ^_^ | ~tilde~ `backtick` {braces} [brackets]",
    "Ελληνικά και русский текст",
    "",
    "   ",
]


def main() -> None:
    tok = Tokenizer.from_file(sys.argv[1])
    tok.no_truncation()
    tok.no_padding()
    cases = []
    for text in TEXTS:
        full = tok.encode(text, add_special_tokens=False).ids
        tok.enable_truncation(256)
        truncated = tok.encode(text).ids
        tok.no_truncation()
        cases.append({"text": text, "ids": full, "encoded_256": truncated})
    out = "Tests/EmbeddingsTests/Fixtures/tokenizer-reference.json"
    with open(out, "w", encoding="utf-8") as f:
        json.dump({"generator": "tokenizers " + __import__("tokenizers").__version__, "cases": cases}, f, ensure_ascii=False, indent=1)
    print(f"wrote {len(cases)} cases to {out}")


if __name__ == "__main__":
    main()
