// Reward models: a decoder trunk plus the scalar head of model/value.h read at
// the last token of each sequence (EOS), r = w·h_last + b. The losses of
// TRL's RewardTrainer (Bradley–Terry on pairs, binary cross-entropy on labelled
// completions), the batch that scores and backpropagates, and the model
// directory: an HF model directory plus score.safetensors (the head, named as
// transformers' *ForSequenceClassification: score.weight (1, C), score.bias
// (1)) and rm.json (how its rows were rendered). It never samples.
#ifndef AHA_TRAIN_RM_H
#define AHA_TRAIN_RM_H

#include "model/forward.h"
#include "model/model.h"
#include "model/safetensors.h"
#include "tok/tokenizer.h"
#include "train/rm_data.h"

typedef struct {
    Model m;
    float *head;              // (C + 1) w then b
    Tokenizer *tok;
    char template_name[32];   // prompts of text rows are rendered with it
    int eos;                  // appended to every scored sequence
    RmKind kind;              // what it was trained on
} RewardModel;

// Load dir: the trunk (model_load), the tokenizer, score.safetensors and
// rm.json. A directory without score.safetensors is refused ("no reward head").
// Returns 0, or -1 after err_set naming the file; nothing to free then.
int rm_load(RewardModel *rm, const char *dir, int with_grads);
// A new reward model from a causal LM directory: its trunk and tokenizer, the
// head w ~ Normal(0, 0.02) from seed, b = 0 (transformers' score init).
int rm_init(RewardModel *rm, const char *dir, const char *template_name, RmKind kind, uint64_t seed);
// Write dir (model files in dtype, the tokenizer of tokenizer_dir, the head, rm.json).
int rm_save(const RewardModel *rm, const char *dir, SafeDtype dtype, const char *tokenizer_dir);
void rm_free(RewardModel *rm);

// Buffers for forward and backward of up to rows sequences of up to T tokens.
typedef struct {
    ModelActs *acts;
    int rows, T;
    int *ids, *lens;          // (rows, T), (rows)
    float *values, *dvalues;  // (rows, T)
} RmBatch;

int rm_batch_init(RmBatch *b, Model *m, int rows, int T);
// Grow b (kept when it is large enough) for rows x T. 0 or -1.
int rm_batch_reserve(RmBatch *b, Model *m, int rows, int T);
void rm_batch_free(RmBatch *b);

// scores (n): r of each example at its last token; n <= b->rows, lengths <= b->T.
int rm_forward(Model *m, RmBatch *b, const float *head, const SftExample *const *ex, int n, float *scores);
// Backward of Σ dscores[i]·r_i through the preceding rm_forward on b: accumulates
// into m->grads and dhead (C + 1). Returns 0 or -1.
int rm_backward(Model *m, RmBatch *b, const float *head, const float *dscores, int n, float *dhead);
// Score n examples in batches of b->rows (b grown to fit). 0 or -1.
int rm_score(Model *m, RmBatch *b, const float *head, const SftExample *ex, int n, float *scores);

// Bradley–Terry with margin, summed over n pairs and divided by norm:
//   loss = (1/norm) Σ −log σ(r_c − r_r − m)
// writes dc = dLoss/dr_c = −σ(−(r_c − r_r − m))/norm and dr = −dc. margin may be NULL.
double rm_pair_loss(float *dc, float *dr, const float *rc, const float *rr, const float *margin, int n, double norm);
// Binary cross-entropy on logits r with labels y in {0, 1}:
//   loss = (1/norm) Σ softplus(r) − y r,  dLoss/dr = (σ(r) − y)/norm.
double rm_point_loss(float *d, const float *r, const float *label, int n, double norm);

#endif
