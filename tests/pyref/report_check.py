"""Fixtures and checks for tests/test_report.sh (aha report).

  report_check.py make-run DIR [--drop KEY,...] [--null KEY@STEP,...] [--flat KEY,...]
      write a synthetic run directory: metrics.jsonl (50 steps, every key the
      trainer logs), samples.jsonl with hostile strings, config.json, zero.json
  report_check.py check-dom DOM RUN_DIR N_CHARTS
      check Chromium's parsed DOM of report.html against the run's own files:
      N_CHARTS charts, each drawn, every raw line an exact affine image of the
      logged values, tick labels on that same map, hostile text inert
  report_check.py check-png PNG WIDTH HEIGHT
      the screenshot's size from its header, and that chart colours were painted

Independent of aha: it reads the JSONL itself and knows nothing of the layout
beyond the class names the page promises (svg.chart, path.raw[data-key], ...).
"""
import json
import math
import os
import random
import re
import struct
import sys
from html.parser import HTMLParser

HOSTILE = "</script><b>&amp;"
HOSTILE_MORE = [
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(2)>",
    "</pre></div><iframe src=\"javascript:alert(3)\"></iframe>",
    "' onmouseover='alert(4)",
    "\x01\x07bell",
]
REWARD_FNS = ["accuracy", "format", "x\"<img src=y>"]
STEPS = 50


def metric_row(step, rng):
    t = step / STEPS
    acc = min(1.0, 0.1 + 0.7 * t + rng.uniform(-0.05, 0.05))
    length = 60 + 120 * t + rng.uniform(-8, 8)
    row = {
        "step": step,
        "reward": acc + 0.2 * (1 - t) + rng.uniform(-0.03, 0.03),
        "reward_std": 0.3 + rng.uniform(0, 0.1),
        "accuracy": acc,
        "frac_reward_zero_std": rng.uniform(0, 0.3),
        "completions/mean_length": length,
        "completions/min_length": length - 40 - rng.uniform(0, 10),
        "completions/max_length": length + 60 + rng.uniform(0, 10),
        "completions/clipped_ratio": max(0.0, 0.2 - 0.15 * t + rng.uniform(-0.02, 0.02)),
        "reflection_per_1k": 1.5 + 9 * t * t + rng.uniform(-0.5, 0.5),
        "planning_token_frac": 0.02 + 0.05 * t + rng.uniform(-0.005, 0.005),
        "semantic_entropy": 1.2 + 0.6 * t + rng.uniform(-0.1, 0.1),
        "entropy": 1.8 - 0.9 * t + rng.uniform(-0.05, 0.05),
        "kl": 0.002 * step + rng.uniform(0, 0.004),
        "clip_ratio/low_mean": 0.01 + rng.uniform(0, 0.01),
        "clip_ratio/high_mean": 0.03 + rng.uniform(0, 0.02),
        "policy_loss": rng.uniform(-0.1, 0.1),
        "grad_norm": 0.8 + rng.uniform(0, 0.6),
        "learning_rate": 1e-6 * min(1.0, step / 10),
        "step_time": 4.0 + rng.uniform(0, 1.5),
    }
    for k, fn in enumerate(REWARD_FNS):
        row["rewards/%s/mean" % fn] = acc if k == 0 else 0.5 + 0.4 * t + rng.uniform(-0.05, 0.05)
    return row


def make_run(d, drop, nulls, flat):
    os.makedirs(d, exist_ok=True)
    rng = random.Random(1234)
    with open(os.path.join(d, "metrics.jsonl"), "w") as f:
        for step in range(1, STEPS + 1):
            row = metric_row(step, rng)
            for k in drop:
                row.pop(k, None)
            for k in flat:   # nearly constant: ticks a few 1e-6 apart on a value near 5.756
                row[k] = 5.7559 + rng.uniform(0, 2e-5)
            for k, s in nulls:
                if s == step:
                    row[k] = None
            f.write(json.dumps(row) + "\n")
    with open(os.path.join(d, "samples.jsonl"), "wb") as f:
        for step in range(1, STEPS + 1):
            for j in range(4):
                good = (step * 4 + j) % 3 != 0
                completion = "<think>step %d sample %d: 3 + 4 = 7, wait, let me check %s</think> <answer>%d</answer>" % (
                    step, j, HOSTILE if j == 0 else HOSTILE_MORE[(step + j) % len(HOSTILE_MORE)], 7 if good else 8)
                if j == 1:   # @BAD@ becomes bytes that are not UTF-8
                    completion = "<answer>unclosed " + HOSTILE + " </think> stray @BAD@ <think>"
                if j == 2:   # long, multi-byte: the page cuts it on a character boundary
                    completion = "<think>" + "\u00e9\u6f22" * 2000 + "</think>"
                f.write(json.dumps({
                    "step": step, "prompt": "What is 3 + 4? " + HOSTILE + " Show your work in <think> </think>.",
                    "completion": completion, "answer": "7" + HOSTILE_MORE[1],
                    "reward": 1.0 if good else 0.0, "accuracy": 1.0 if good else 0.0, REWARD_FNS[2]: 0.5,
                    "advantage": 0.7 if good else -1.2, "tokens": 40 + j, "finish": "stop" + HOSTILE_MORE[0],
                }).encode().replace(b"@BAD@", b"\xff\xc3(\xed\xa0\x80\xe2\x82") + b"\n")
    with open(os.path.join(d, "config.json"), "w") as f:
        json.dump({"preset": "r1zero", "model": "models/tiny" + HOSTILE, "steps": STEPS, "lr": 1e-6,
                   "group_size": 8, "rewards": ["accuracy", "format"], "beta": 0.0}, f, indent=2)
    with open(os.path.join(d, "zero.json"), "w") as f:
        json.dump({"before": {"pass@1": 0.12, "cons@k": 0.2, "mean_length": 61.5, "reflection_per_1k": 1.4, "k": 8},
                   "after": {"pass@1": 0.58, "cons@k": 0.7, "mean_length": 171.0, "reflection_per_1k": 9.9, "k": 8,
                             "note" + HOSTILE: "x"}}, f)


class Node:
    def __init__(self, tag, attrs, parent):
        self.tag, self.attrs, self.parent, self.children = tag, dict(attrs), parent, []

    def text(self):
        return "".join(c if isinstance(c, str) else c.text() for c in self.children)

    def iter(self):
        for c in self.children:
            if isinstance(c, Node):
                yield c
                yield from c.iter()

    def classes(self):
        return (self.attrs.get("class") or "").split()


VOID = {"meta", "link", "br", "hr", "img", "input", "source", "wbr", "area", "base", "col", "embed", "track"}


class TreeBuilder(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.root = Node("#root", [], None)
        self.cur = self.root

    def handle_starttag(self, tag, attrs):
        n = Node(tag, attrs, self.cur)
        self.cur.children.append(n)
        if tag not in VOID:
            self.cur = n

    def handle_startendtag(self, tag, attrs):
        self.cur.children.append(Node(tag, attrs, self.cur))

    def handle_endtag(self, tag):
        n = self.cur
        while n is not None and n.tag != tag:
            n = n.parent
        if n is not None and n.parent is not None:
            self.cur = n.parent

    def handle_data(self, data):
        self.cur.children.append(data)


failures = []


def check(cond, msg):
    if not cond:
        failures.append(msg)
    return cond


def path_runs(d):
    """'M1 2 L3 4 M5 6' -> [[(1,2),(3,4)], [(5,6)]]"""
    runs = []
    for cmd, x, y in re.findall(r"([ML])\s*(-?[\d.]+)[ ,](-?[\d.]+)", d):
        if cmd == "M":
            runs.append([])
        runs[-1].append((float(x), float(y)))
    return runs


def affine_fit(u, v):
    """least squares v = a*u + b; returns a, b, max |residual|"""
    n = len(u)
    mu, mv = sum(u) / n, sum(v) / n
    suu = sum((x - mu) ** 2 for x in u)
    a = sum((x - mu) * (y - mv) for x, y in zip(u, v)) / suu
    b = mv - a * mu
    return a, b, max(abs(a * x + b - y) for x, y in zip(u, v))


def check_dom(dom_path, run_dir, n_charts):
    p = TreeBuilder()
    with open(dom_path, encoding="utf-8") as f:
        p.feed(f.read())
    nodes = list(p.root.iter())
    rows = [json.loads(l) for l in open(os.path.join(run_dir, "metrics.jsonl")) if l.strip()]

    # Hostile text stayed text.
    for bad in ("script", "iframe", "img", "textarea"):
        check(not any(n.tag == bad for n in nodes), "a <%s> element was injected" % bad)
    check(not any(k.startswith("on") for n in nodes for k in n.attrs), "an on* attribute was injected")
    check(not any(k in ("src", "href") for n in nodes for k in n.attrs), "the page fetches or links something")
    completions = [n for n in nodes if n.tag == "pre" and "completion" in n.classes()]
    check(len(completions) >= 4, "expected early and late completions, found %d" % len(completions))
    texts = [c.text() for c in completions]
    check(any(HOSTILE in t for t in texts), "hostile completion text not shown verbatim")
    check(any("stray \ufffd" in t for t in texts), "invalid UTF-8 not shown as U+FFFD")
    check(any(HOSTILE_MORE[1] in n.text() for n in nodes if n.tag == "code"), "hostile gold answer not verbatim")
    thinks = [n for c in completions for n in c.iter() if "think" in n.classes()]
    answers = [n for c in completions for n in c.iter() if "answer" in n.classes()]
    check(any(re.fullmatch(r"[78]", a.text()) for a in answers), "no highlighted <answer> span holding the answer")
    check(any("let me check" in t.text() for t in thinks), "no highlighted <think> span")
    check(any("more bytes" in t for t in texts), "the long completion was not cut")
    early = [n for n in nodes if "samples-early" in n.classes()]
    late = [n for n in nodes if "samples-late" in n.classes()]
    check(early and "step 1" in early[0].text(), "early samples are not from step 1")
    check(late and "step %d" % len(rows) in late[0].text(), "late samples are not from the last step")

    # Charts.
    svgs = [n for n in nodes if n.tag == "svg" and "chart" in n.classes()]
    check(len(svgs) == n_charts, "expected %d charts, found %d" % (n_charts, len(svgs)))
    for svg in svgs:
        name = svg.attrs.get("data-chart")
        frame = [n for n in svg.iter() if n.tag == "path" and "frame" in n.classes()]
        if not check(frame, "%s: no axes" % name):
            continue
        fx0, fy0, fy1, fx1 = map(float, re.findall(r"-?[\d.]+", frame[0].attrs["d"]))
        raws = [n for n in svg.iter() if n.tag == "path" and "raw" in n.classes()]
        check(raws and all(r.attrs.get("d", "").strip() for r in raws), "%s: a line with an empty path" % name)
        check(any(n.tag == "path" and "smooth" in n.classes() and n.attrs.get("d") for n in svg.iter()),
              "%s: no smoothing line" % name)
        yticks = [(float(t.text()), float(l.attrs["y1"])) for g in svg.iter() if "y" in g.classes()
                  for l, t in zip([c for c in g.children if isinstance(c, Node) and c.tag == "line"],
                                  [c for c in g.children if isinstance(c, Node) and c.tag == "text"])]
        xticks = [(float(t.text()), float(l.attrs["x1"])) for g in svg.iter() if "x" in g.classes()
                  for l, t in zip([c for c in g.children if isinstance(c, Node) and c.tag == "line"],
                                  [c for c in g.children if isinstance(c, Node) and c.tag == "text"
                                   and re.fullmatch(r"[-\d.e+]+", c.text())])]
        check(len(yticks) >= 3 and len(xticks) >= 3, "%s: too few tick labels" % name)
        for r in raws:
            key = r.attrs["data-key"]
            pts = [(row["step"], row[key]) for row in rows
                   if isinstance(row.get(key), (int, float)) and math.isfinite(row[key])]
            runs = path_runs(r.attrs["d"])
            flat = [q for run in runs for q in run]
            if not check(len(flat) == len(pts), "%s/%s: %d points drawn, %d logged" % (name, key, len(flat), len(pts))):
                continue
            have = [isinstance(row.get(key), (int, float)) for row in rows]
            want = sum(1 for i, h in enumerate(have) if h and (i == 0 or not have[i - 1]))
            check(len(runs) == want, "%s/%s: %d line segments, the log has %d runs" % (name, key, len(runs), want))
            ax, bx, ex = affine_fit([s for s, _ in pts], [q[0] for q in flat])
            ay, by, ey = affine_fit([v for _, v in pts], [q[1] for q in flat])
            check(ax > 0 and ex <= 0.1, "%s/%s: x is not an increasing affine map of the step (err %.3g)" % (name, key, ex))
            check(ay < 0 and ey <= 0.1, "%s/%s: y is not a flipped affine map of the value (err %.3g)" % (name, key, ey))
            check(all(fx0 - 0.01 <= x <= fx1 + 0.01 and fy0 - 0.01 <= y <= fy1 + 0.01 for x, y in flat),
                  "%s/%s: a point outside the plot area" % (name, key))
            # The tick labels sit where the same map puts their values.
            check(all(abs(ay * v + by - y) <= 0.3 for v, y in yticks), "%s/%s: y tick labels disagree" % (name, key))
            check(all(abs(ax * v + bx - x) <= 0.3 for v, x in xticks), "%s/%s: x tick labels disagree" % (name, key))
    return [s.attrs.get("data-chart") for s in svgs]


def check_png(path, width, height):
    with open(path, "rb") as f:
        head = f.read(24)
    check(head[:8] == b"\x89PNG\r\n\x1a\n" and head[12:16] == b"IHDR", "%s is not a PNG" % path)
    w, h = struct.unpack(">II", head[16:24])
    check((w, h) == (width, height), "screenshot is %dx%d, expected %dx%d" % (w, h, width, height))
    import numpy as np
    from PIL import Image   # Debian python3-pil
    px = np.asarray(Image.open(path).convert("RGB"), dtype=np.int32)   # (H, W, 3)
    # Pixels near the first and second series colours (#2563eb, #dc2626): the lines were painted.
    def near(ref):
        return int((np.abs(px - np.array(ref)).sum(axis=2) < 60).sum())
    blue, red = near((37, 99, 235)), near((220, 38, 38))
    check(blue > 3000 and red > 300, "too few painted line pixels (blue %d, red %d)" % (blue, red))
    print("png %dx%d, blue %d, red %d" % (w, h, blue, red))


def main(argv):
    cmd = argv[1]
    if cmd == "make-run":
        drop, nulls, flat = [], [], []
        args = argv[3:]
        for i in range(0, len(args), 2):
            if args[i] == "--drop":
                drop = args[i + 1].split(",")
            elif args[i] == "--null":
                nulls = [(k, int(s)) for k, s in (x.split("@") for x in args[i + 1].split(","))]
            elif args[i] == "--flat":
                flat = args[i + 1].split(",")
        make_run(argv[2], drop, nulls, flat)
        return 0
    if cmd == "check-dom":
        names = check_dom(argv[2], argv[3], int(argv[4]))
        print("charts:", " ".join(names))
    elif cmd == "check-png":
        check_png(argv[2], int(argv[3]), int(argv[4]))
    for m in failures:
        print("FAIL:", m)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
