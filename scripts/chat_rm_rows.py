#!/usr/bin/env python3
"""On-policy reward-model rows for the chat world: the samples `aha eval --task
chat --samples FILE` writes (each with its prompt, and "correct" as the rule
judge `chat` called it) -> preference pairs {prompt, chosen, rejected} (a right
answer over a wrong one to the same prompt) or, for harmful requests, safety
labels {prompt, completion, label}. Each side is the answer as `--reward
rm:DIR:view=answer` reads it: after the last </think>, the last <answer>'s
content, trailing whitespace dropped. Distinct answers only, at most MAX rows
per prompt (default 4), so a policy's favourite answer does not flood the set.
Usage: scripts/chat_rm_rows.py pairs|labels [MAX] < samples.jsonl > rows.jsonl"""
import itertools
import json
import sys


def answer(text):
    if "</think>" in text:
        text = text[text.rfind("</think>") + len("</think>"):]
    close = text.rfind("</answer>")
    start = text.rfind("<answer>", 0, close) if close >= 0 else -1
    if start >= 0:
        text = text[start + len("<answer>"):close]
    return text.rstrip()


kind = sys.argv[1] if len(sys.argv) > 1 else ""
if kind not in ("pairs", "labels"):
    sys.exit(__doc__)
cap = int(sys.argv[2]) if len(sys.argv) > 2 else 4
groups = {}
for line in sys.stdin:
    if not line.strip():
        continue
    r = json.loads(line)
    g = groups.setdefault(r["id"], {"prompt": r["prompt"], "gold": r["gold"], True: [], False: []})
    a = answer(r["completion"])
    if a not in g[bool(r["correct"])]:
        g[bool(r["correct"])].append(a)
for pid, g in groups.items():
    if kind == "pairs":
        for good, bad in itertools.islice(itertools.product(g[True], g[False]), cap):
            print(json.dumps({"prompt": g["prompt"], "chosen": good, "rejected": bad, "id": pid}))
    elif g["gold"] == "REFUSE":
        for label in (1, 0):
            for a in g[bool(label)][:cap]:
                print(json.dumps({"prompt": g["prompt"], "completion": a, "label": label, "id": pid}))
