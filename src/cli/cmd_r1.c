// aha r1: flags (and --config) in, train/r1.h does the work.
#include "cli/cli.h"
#include "base/err.h"
#include "cli/cli_opts.h"
#include "train/r1.h"

#include <stddef.h>

const CliOptions r1_cli = {
    r1_options, sizeof(R1Config), r1_defaults, "aha r1 [options]",
    "The DeepSeek-R1 recipe in miniature, from the bundled base model by default, each stage in its own directory of RUN (model, data, metrics, held-out evaluation, stage.json written last):\n\n"
    "  0-base           the base model, evaluated\n"
    "  0-zero           R1-Zero: GRPO from the base (verifier + format), the RL budget of stage 2\n"
    "  0-zero-language  the same with stage 2's language-consistency reward, the paper's ablation (--no-ablation: left out)\n"
    "  1-cold-start     rejection sampling of the base (correct, formatted, one language, untruncated), SFT of the base\n"
    "  2-reasoning-rl   GRPO from stage 1: verifier, format and the language-consistency reward\n"
    "  3-rejection-sft  rejection sampling of stage 2 plus general chat demonstrations, SFT of the base\n"
    "  4-all-scenario   helpfulness and safety reward models from stage 3 (chat pairs, hard pairs, labels, and stage 3's own judged answers), then GRPO from stage 3 on sums (rules) and chat prompts (format and the reward models)\n"
    "  5-distill        the student (models/aha-nano-bi) fine-tuned on stage 4's verified traces (aha distill)\n\n"
    "The bundled base (models/aha-tiny-bi) writes its chains of thought in English or Chinese and sometimes switches between them; RL prompts are sums of 3 to 5 terms (--difficulty 0 --max-difficulty 3) and held-out ones 3 to 7 terms, so the last two sizes are ones no stage trains on.\n\n"
    "Every stage is evaluated on the same held-out (test-split) problems at T 0.6, top-p 0.95 (pass@1, cons@k, pass@k, mean length, reflection words per 1k, language mixing, format rate, pass@1 by difficulty: for sums, by number of terms) and on held-out chat prompts judged by rule; RUN/r1.json has one row per stage, the table is printed, and RUN/report.html shows it with charts across the stages and of R1-Zero's training accuracy beside stage 2's.\n\n"
    "Per-stage settings are flags spelled --stageN.KEY (--stage2.steps 120), or sections of --config FILE ({\"stage2\": {\"steps\": 120}}). --resume RUN keeps the finished stages and continues an unfinished one (its sampled rows kept, its GRPO or SFT run from the newest checkpoint, bit for bit); --from-stage N --out RUN reruns stage N and after, reading the earlier stages' models from RUN.",
    NULL, offsetof(R1Config, seen)};

int cmd_r1(void *cfg) {
    if (r1_apply_config(cfg) != 0) return cli_usage("r1", "%s", err_msg());
    return cli_status("r1", r1_run(cfg));
}
