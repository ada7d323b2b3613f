#!/usr/bin/env python3
"""Rows of `aha task code` (stdin) -> SFT rows for `aha sft` (stdout): the
prompt and its reference solution in a ```python fence, each row repeated
REPEAT times (default 1). Used to teach a tiny model to emit fenced programs.
Usage: aha task code -n 4 | scripts/code_sft_rows.py [REPEAT] > sft.jsonl"""
import json
import sys

repeat = int(sys.argv[1]) if len(sys.argv) > 1 else 1
rows = [json.loads(line) for line in sys.stdin if line.strip()]
for _ in range(repeat):
    for r in rows:
        print(json.dumps({"prompt": r["prompt"], "completion": "```python\n" + r["solution"] + "```"}))
