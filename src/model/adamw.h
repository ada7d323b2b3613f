// AdamW with decoupled weight decay and bias correction, global-norm gradient
// clipping, gradient-accumulation scaling and learning-rate schedules, over a
// model's flat parameter layout. Moments live in one arena shaped like the
// parameters, in fp32 or (adamw_8bit) blockwise 8-bit. Refuses to update on a
// non-finite gradient norm.
#ifndef AHA_ADAMW_H
#define AHA_ADAMW_H

#include <stddef.h>

#include "base/arena.h"
#include "base/options.h"
#include "model/model.h"

// How the moments are stored (the `optim` setting; names as Hugging Face's
// TrainingArguments.optim).
typedef enum {
    OPTIM_ADAMW = 0,    // fp32 moments: 8 bytes per parameter
    OPTIM_ADAMW_8BIT,   // m and v in 8 bits per block of 256 (quant8.h): 2 bytes and change per parameter
} OptimKind;
extern const OptChoice OPTIM_CHOICES[];

typedef enum {
    LR_CONSTANT = 0,   // lr
    LR_WARMUP,         // lr * min(1, t / warmup), then constant
    LR_COSINE,         // warmup, then cosine from lr down to lr * min_lr_ratio at total_steps
} LrSchedule;

typedef struct {
    double lr;            // peak learning rate
    double beta1, beta2;
    double eps;
    double weight_decay;  // decoupled; never applied to RMSNorm weights or biases
    double clip_norm;     // global L2 norm limit; <= 0 disables clipping
    LrSchedule schedule;
    long warmup_steps;
    long total_steps;     // LR_COSINE: the step at which the decay reaches its floor
    double min_lr_ratio;  // LR_COSINE floor as a fraction of lr
    OptimKind optim;
} AdamWConfig;

// lr 1e-3, betas (0.9, 0.999), eps 1e-8, weight_decay 0.01, clip 1.0, constant.
AdamWConfig adamw_defaults(void);

typedef struct {
    AdamWConfig cfg;
    size_t n;              // floats, = model n_params
    Arena arena;
    float *m;              // (n) first moment (OPTIM_ADAMW; NULL in 8 bits)
    float *v;              // (n) second moment
    // OPTIM_ADAMW_8BIT: codes of m (signed map) and v (unsigned map), and the
    // absmax of each block; tensor k's blocks start at block0[k].
    uint8_t *qm, *qv;      // (n)
    float *am, *av;        // (n_blocks)
    size_t *block0;        // (n_tensors)
    size_t n_blocks;
    long step;             // updates taken
    int n_tensors;
    unsigned char *decay;  // (n_tensors) 1 where weight decay applies
    double *partial;       // (n chunks) per-chunk squared sums, for a thread-independent norm
    size_t n_chunks;
} AdamW;

// Zeroed state for model m (which fixes the layout). Returns 0 or -1.
int adamw_init(AdamW *opt, const Model *m, const AdamWConfig *cfg);
void adamw_free(AdamW *opt);

// The learning rate of update number t (1-based: the first update is t = 1).
double adamw_lr(const AdamWConfig *cfg, long t);

// sqrt(sum g^2) over all n floats, in double, independent of thread count.
double adamw_grad_norm(AdamW *opt, const float *grads);

// One update from m->grads. The effective gradient is grads * grad_scale
// (1/k after k accumulated backward passes), clipped so its global norm is at
// most clip_norm: g *= clip_norm / (norm + 1e-6) when that factor is < 1, as
// torch.nn.utils.clip_grad_norm_ does. Then with t = step + 1, lr = adamw_lr(t):
//   p -= lr * wd * p                 (decayed tensors only)
//   m = b1 m + (1 - b1) g;  v = b2 v + (1 - b2) g^2
//   p -= lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps)
// Grads are left untouched. Returns the pre-clip norm of the scaled gradient;
// when it is not finite nothing is updated and step does not advance.
double adamw_step(AdamW *opt, Model *m, float grad_scale);

// The update of adamw_step (same lr, betas, bias correction, step count) on a
// loose array outside the model's layout, such as a value head: call it right
// after adamw_step, which advanced the step. The gradient is scaled by
// grad_scale (pass the same clip factor for one global norm); decay 0 or 1.
void adamw_update_array(const AdamW *opt, float *p, const float *g, float *m, float *v, size_t n, float grad_scale,
                        int decay);
// Bytes of the state for n parameters in n_tensors tensors (the memory plan).
size_t adamw_state_bytes(OptimKind kind, size_t n, int n_tensors);
// Save / load m, v (F32, tensor names "m.<name>", "v.<name>"; in 8 bits U8
// codes under those names and F32 "m_absmax.<name>", "v_absmax.<name>") and
// the step count in a safetensors file. Loading checks the layout and the
// optimizer match. 0 or -1.
int adamw_state_save(const AdamW *opt, const Model *m, const char *path);
int adamw_state_load(AdamW *opt, const Model *m, const char *path);

#endif
