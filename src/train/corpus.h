// Base-model pretraining text over the task generators: train-split problems in
// the R1-Zero template, each followed by a worked solution in one of three
// styles (hasty, careful, careful with a check). It writes text only; it never
// draws a test-split problem (task_generate refuses to, by content hash).
#ifndef AHA_TRAIN_CORPUS_H
#define AHA_TRAIN_CORPUS_H

#include <stddef.h>
#include <stdint.h>

#include "task/task.h"

// The solution styles the base model learns, whose mixture RL re-weights.
// For the sum task (the default):
//   HASTY    "about 4 * 5 = 20." (each term counted as 5): short, right only when
//            the terms happen to average 5.
//   CAREFUL  "step by step: 7 + 5 = 12. 12 + 8 = 20. 20 + 6 = 26.": a running
//            sum, one small addition per term; longer, exact.
//   CHECK    the hasty estimate, then "wait, let me check:" and the running sum,
//            which repairs the estimate ("26, not 20.").
// For arithmetic: hasty rounds each multi-digit operand to the nearest ten
// ("47 + 38 is about 50 + 40 = 90"), careful works in columns with carries and
// borrows (partial products for *), check is the estimate + "wait" + columns.
enum { CORPUS_HASTY = 0, CORPUS_CAREFUL = 1, CORPUS_CHECK = 2, CORPUS_N_STYLES = 3 };
extern const char *const corpus_style_names[CORPUS_N_STYLES];

// The languages of the words around a sum's arithmetic (the numbers and
// operators are the same in both): English, or Chinese, whose script the
// language reward and the mixing rate tell apart from Latin.
//   en  "about 4 * 5 = 20."   "step by step:"   "wait, let me check:"   "26, not 20."
//   zh  "大约 4 * 5 = 20."     "一步一步:"        "等等, 让我检查:"        "是 26, 不是 20."
enum { CORPUS_EN = 0, CORPUS_ZH = 1, CORPUS_N_LANGS = 2 };
extern const char *const corpus_lang_names[CORPUS_N_LANGS];

// Which language each phrase of a solution is written in: phrases numbered
// from 0 in order (a check solution has three: the estimate, the check and the
// verdict) are in lang[0] before switch_at and in lang[1] from it, so a
// solution can change language part way, as R1-Zero's chains of thought do.
typedef struct {
    int lang[2];
    int switch_at;
} CorpusVoice;

typedef struct {
    char task[32];                     // "sum" or "arithmetic" (the tasks with worked solutions)
    char template_name[32];            // r1zero
    uint64_t seed;                     // problem seed (train split)
    long n_docs;
    double style_p[CORPUS_N_STYLES];   // proportions (normalised when used)
    double difficulty_p[TASK_MAX_DIFFICULTY];  // share of each difficulty 1..5
    double p_zh;                       // sum: share of solutions begun in Chinese
    double p_switch;                   // sum: share of check solutions that change language part way
} CorpusConfig;

// task sum; hasty 0.75, careful 0.07, check 0.18; difficulty 1: 0.25, 2: 0.5,
// 3: 0.25 (3, 4 and 5 terms); 20000 docs; English only.
void corpus_defaults(CorpusConfig *c);

// The completion text (" <think> ... </think> <answer> R </answer>") of problem p
// in a style and voice (NULL: English), and the answer it ends with. Returns 0,
// or -1 (err_set) when the task has no worked solutions, a voice other than
// English is asked of a task without translations (only sum has them), or the
// text does not fit cap.
int corpus_solution(const Problem *p, int style, const CorpusVoice *voice, char *buf, size_t cap, long *answer);

// Counts of what corpus_write produced.
typedef struct {
    long docs;
    long by_style[CORPUS_N_STYLES];
    long correct_by_style[CORPUS_N_STYLES];   // final answer equals the gold
    long by_lang[CORPUS_N_LANGS];             // by the language a solution begins in
    long mixed;                               // solutions in both languages
    long bytes;                               // prompt + completion text
} CorpusStats;

// Write n_docs JSON lines {"id", "difficulty", "style", "lang", "prompt", "completion"}
// ("lang": "en", "zh", or "en+zh" / "zh+en" for a solution that switches)
// to path (atomically): prompt is the rendered template, completion the text
// after it. Problem i is train problem i of its difficulty. stats may be NULL.
int corpus_write(const CorpusConfig *c, const char *path, CorpusStats *stats);

#endif
