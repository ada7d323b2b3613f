// Reference tokenizer for aha's tests: transformers.js (the @lenml/tokenizers port) on a
// tokenizer.json given by path. Reads JSONL {"b64": raw bytes} on stdin, decodes the bytes
// as the WHATWG TextDecoder does (invalid UTF-8 -> U+FFFD) and prints one line per input:
// {"ids": encode(text, add_special_tokens=false), "dec": decode(ids)}.
//   node ref.mjs --tokenizer PATH [--bench FILE] [--reps N]
//   --bench: encode FILE's text (one call per line) and print {"cpu_mb_per_s": ...} instead.
import { readFileSync, statSync, existsSync } from "node:fs";
import { join, dirname } from "node:path";
import { createInterface } from "node:readline";
import { TokenizerLoader } from "@lenml/tokenizers";

const args = process.argv.slice(2);
const opt = (name) => { const i = args.indexOf(name); return i >= 0 ? args[i + 1] : null; };
let path = opt("--tokenizer");
if (!path) { console.error("ref.mjs: --tokenizer PATH is required"); process.exit(2); }
if (statSync(path).isDirectory()) path = join(path, "tokenizer.json");
const cfgPath = join(dirname(path), "tokenizer_config.json");
const tokenizerJSON = JSON.parse(readFileSync(path, "utf8"));
const tokenizerConfig = existsSync(cfgPath) ? JSON.parse(readFileSync(cfgPath, "utf8")) : {};
const t0 = performance.now();
const tok = TokenizerLoader.fromPreTrained({ tokenizerJSON, tokenizerConfig });
const loadMs = performance.now() - t0;
const utf8 = new TextDecoder("utf-8", { fatal: false, ignoreBOM: true });

const bench = opt("--bench");
if (bench) {
  const lines = readFileSync(bench, "utf8").split(/(?<=\n)/);
  const bytes = Buffer.byteLength(lines.join(""), "utf8");
  const reps = Number(opt("--reps") ?? 3);
  // CPU time (user + system) of the process, as the machine may be shared.
  let best = Infinity, n = 0;
  for (let r = 0; r < reps; r++) {
    const s = process.cpuUsage();
    n = 0;
    for (const l of lines) n += tok.encode(l, { add_special_tokens: false }).length;
    const d = process.cpuUsage(s);
    best = Math.min(best, (d.user + d.system) / 1e6);
  }
  console.log(JSON.stringify({ bytes, tokens: n, cpu_seconds: best, cpu_mb_per_s: bytes / 1e6 / best, load_wall_ms: Math.round(loadMs) }));
} else {
  const rl = createInterface({ input: process.stdin, crlfDelay: Infinity });
  const out = [];
  for await (const line of rl) {
    if (!line.trim()) continue;
    const text = utf8.decode(Buffer.from(JSON.parse(line).b64, "base64"));
    const ids = tok.encode(text, { add_special_tokens: false });
    out.push(JSON.stringify({ ids, dec: tok.decode(ids) }));
  }
  process.stdout.write(out.join("\n") + (out.length ? "\n" : ""));
}
