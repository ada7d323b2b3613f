// Reference chat-template renderer for aha's tests: Hugging Face's Jinja
// (@huggingface/jinja, what transformers.js renders chat templates with) on the
// chat_template of a tokenizer_config.json. Reads JSONL {"messages", and
// optionally "add_generation_prompt", "enable_thinking"} on stdin and prints
// one JSON string per line, the rendered text.
//   node chat_ref.mjs --config tokenizer_config.json
import { readFileSync } from "node:fs";
import { createInterface } from "node:readline";
import { Template } from "@huggingface/jinja";

const args = process.argv.slice(2);
const i = args.indexOf("--config");
if (i < 0) { console.error("chat_ref.mjs: --config PATH is required"); process.exit(2); }
const cfg = JSON.parse(readFileSync(args[i + 1], "utf8"));
const template = new Template(cfg.chat_template);
const token = (t) => (t && typeof t === "object" ? t.content : t) ?? "";

const rl = createInterface({ input: process.stdin, crlfDelay: Infinity });
const out = [];
for await (const line of rl) {
  if (!line.trim()) continue;
  const c = JSON.parse(line);
  // As transformers' apply_chat_template: the special tokens, the kwargs given.
  const ctx = { messages: c.messages, add_generation_prompt: c.add_generation_prompt ?? false,
                bos_token: token(cfg.bos_token), eos_token: token(cfg.eos_token) };
  if ("enable_thinking" in c) ctx.enable_thinking = c.enable_thinking;
  out.push(JSON.stringify(template.render(ctx)));
}
process.stdout.write(out.join("\n") + (out.length ? "\n" : ""));
