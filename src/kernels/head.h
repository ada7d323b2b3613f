// The fused output head: logits of a chunk of rows, log-prob of each row's
// target and entropy at temperature τ, and the backward of Σ g·logp. It works on
// one chunk at a time; the caller chunks so (rows × V) logits never grow past it.
#ifndef AHA_KERNELS_HEAD_H
#define AHA_KERNELS_HEAD_H

// M rows, C hidden, V vocab, s = 1/τ. A target y < 0 means "no target": its
// logp and entropy are 0 and its g must be 0.
//   z = h · Wᵀ;  lse_m = logsumexp(s·z_m);  logp_m = s·z_{m,y_m} − lse_m
//   entropy_m = lse_m − Σ_v softmax(s·z_m)_v · s·z_{m,v}
// logp, lse (M); entropy (M) or NULL; logits (M, V) scratch; h (M, C); w (V, C).
void head_forward(float *logp, float *entropy, float *lse, float *logits, const float *h, const float *w, const int *y, int M, int C, int V, float inv_temp);
// Recomputes the logits into `logits`, then with
//   dz_m = g_m · s · (onehot(y_m) − softmax(s·z_m))
// accumulates (+=) dh (M, C) += dz·W and dw (V, C) += dzᵀ·h. lse from head_forward.
void head_backward(float *dh, float *dw, float *logits, const float *g, const float *h, const float *w, const int *y, const float *lse, int M, int C, int V, float inv_temp);
// head_backward in two halves: logits (M, V) = h·Wᵀ, then the rest from logits
// that hold exactly that (as head_forward leaves them), which a caller holding
// the forward's logits can call alone to skip a third of the backward's work.
void head_logits(float *logits, const float *h, const float *w, int M, int C, int V);
void head_backward_logits(float *dh, float *dw, float *logits, const float *g, const float *h, const float *w, const int *y, const float *lse, int M, int C, int V, float inv_temp);
// The two halves of head_forward and head_backward_logits around their
// products, for callers that compute the products themselves (bf16):
// head_stats fills logp, entropy (or NULL) and lse from logits (M, V);
// head_dlogits turns logits into dz in place.
void head_stats(float *logp, float *entropy, float *lse, const float *logits, const int *y, int M, int V, float inv_temp);
void head_dlogits(float *logits, const float *g, const int *y, const float *lse, int M, int V, float inv_temp);
// Plain-loop twins computing one row at a time; logits_row (V) scratch.
void head_forward_ref(float *logp, float *entropy, float *lse, float *logits_row, const float *h, const float *w, const int *y, int M, int C, int V, float inv_temp);
void head_backward_ref(float *dh, float *dw, float *logits_row, const float *g, const float *h, const float *w, const int *y, const float *lse, int M, int C, int V, float inv_temp);

#endif
