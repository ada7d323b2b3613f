// The list of commands (names, entry points, summaries and flag tables) and
// how one runs.
#include "cli/cli.h"

#include <stddef.h>
#include <stdlib.h>

const Command cli_commands[] = {
    {"init", cmd_init, "create a model directory with random weights (or convert one)", &init_cli},
    {"bench", cmd_bench, "time training and generation on the reference configurations", &bench_cli},
    {"logprobs", cmd_logprobs, "log-probs of token sequences under a model (JSONL in, JSONL out)", &logprobs_cli},
    {"sample", cmd_sample, "sample completions of a prompt (batched KV-cache sampler)", &sample_cli},
    {"reward", cmd_reward, "score JSONL completions with weighted reward functions", &reward_cli},
    {"grpo", cmd_grpo, "GRPO-family RL with verifiable rewards (presets r1zero, dapo, drgrpo, gspo, hicra, ppo)",
     &grpo_cli},
    {"report", cmd_report, "rebuild RUN_DIR/report.html (charts over steps, samples) from a run's logs", &report_cli},
    {"strategic-grams", cmd_strategic_grams, "extract a HICRA Strategic-Gram lexicon from successful completions",
     &strategic_grams_cli},
    {"tokenize", cmd_tokenize, "text on stdin -> JSON array of token ids (tokenizer.json BPE)", &tokenize_cli},
    {"detokenize", cmd_detokenize, "JSON array of token ids on stdin -> text", &detokenize_cli},
    {"train-tokenizer", cmd_train_tokenizer, "train a byte-level BPE on a corpus, write tokenizer.json",
     &train_tokenizer_cli},
    {"chat-template", cmd_chat_template, "render JSONL conversations with a model's chat template (Qwen2.5, Qwen3)",
     &chat_template_cli},
    {"task", cmd_task, "print generated problems (arithmetic, countdown, linear, knights) as JSONL", &task_cli},
    {"corpus", cmd_corpus, "write the base-model pretraining corpus (three solution styles) as JSONL", &corpus_cli},
    {"pretrain", cmd_pretrain, "train a BPE tokenizer and a tiny base model from scratch on the corpus", &pretrain_cli},
    {"sft", cmd_sft, "supervised fine-tuning on JSONL prompt/completion, messages or text rows", &sft_cli},
    {"rm", cmd_rm, "train a reward model on preference pairs or labelled completions, or score completions with one",
     &rm_cli},
    {"merge", cmd_merge, "merge LoRA adapters (PEFT format) into their base model: a plain model directory",
     &merge_cli},
    {"eval", cmd_eval, "pass@1 over k samples, cons@k, pass@k, length and reflection words on held-out problems",
     &eval_cli},
    {"rejection-sample", cmd_rejection_sample,
     "sample n completions per prompt, keep the verified ones as an SFT dataset (JSONL) with stats",
     &rejection_sample_cli},
    {"distill", cmd_distill, "a teacher's verified traces (rejection sampling) as a student's SFT set, one resumable run",
     &distill_cli},
    {"distill-vs-rl", cmd_distill_vs_rl,
     "the R1 paper's comparison in miniature: a student's base, its GRPO and its distillation from an RL teacher",
     &distill_vs_rl_cli},
    {"zero", cmd_zero, "R1-Zero on a laptop: GRPO from the bundled base model, evaluated before and after", &zero_cli},
    {"r1", cmd_r1,
     "the DeepSeek-R1 recipe in miniature: R1-Zero, cold start, reasoning RL, rejection SFT, all-scenario RL, "
     "distillation; one table",
     &r1_cli},
    {"toy", cmd_toy, "GRPO in miniature: a policy over strategies with hidden success rates", &toy_cli},
    {"version", cmd_version, "print the version and build options", &version_cli},
    {NULL, NULL, NULL, NULL},
};

int cli_run(const Command *c, int argc, char **argv) {
    void *cfg = malloc(c->options->size);
    if (!cfg) return cli_fail(c->name, "out of memory");
    int rc = cli_parse_options(c->name, argc, argv, c->options, cfg);
    rc = rc == 1 ? 0 : rc ? rc : c->run(cfg);
    free(cfg);
    return rc;
}
