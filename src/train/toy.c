// GRPO on a four-armed bandit: the policy gradient of log softmax is
// onehot(a) - pi, weighted by each sample's group-relative advantage.
#include "train/toy.h"
#include "base/err.h"
#include "base/rng.h"
#include "rl/loss.h"

#include <math.h>
#include <string.h>

void toy_defaults(ToyOpts *o) {
    memset(o, 0, sizeof *o);
    o->k = 4;
    o->rate[0] = 0.2;
    o->rate[1] = 0.5;
    o->rate[2] = 0.8;
    o->rate[3] = 0.35;
    o->group = 8;
    o->lr = 0.5;
    o->steps = 200;
    o->seed = 1;
    o->print_every = 20;
}

static void softmax(double *p, const double *z, int k) {
    double m = z[0], s = 0;
    for (int i = 1; i < k; i++) m = fmax(m, z[i]);
    for (int i = 0; i < k; i++) s += p[i] = exp(z[i] - m);
    for (int i = 0; i < k; i++) p[i] /= s;
}

static void print_policy(FILE *out, int step, const double *p, int k, double reward) {
    fprintf(out, "step %4d  reward %.2f  ", step, reward);
    for (int i = 0; i < k; i++) {
        int bar = (int)lround(p[i] * 10);
        fprintf(out, " %c:%5.1f%% ", 'A' + i, 100 * p[i]);
        for (int j = 0; j < 10; j++) fputc(j < bar ? '#' : '.', out);
    }
    fputc('\n', out);
}

int toy_run(const ToyOpts *o, ToyResult *res, FILE *out) {
    if (o->k < 2 || o->k > TOY_MAX_K) return err_set("need 2 to %d strategies", TOY_MAX_K);
    if (o->group < 2 || o->group > 1024) return err_set("group size must be in 2..1024");
    if (o->steps < 1) return err_set("steps must be positive");
    if (!(o->lr > 0)) return err_set("learning rate must be positive");
    for (int i = 0; i < o->k; i++)
        if (!(o->rate[i] >= 0 && o->rate[i] <= 1)) return err_set("success rate %d must be in [0, 1]", i + 1);
    memset(res, 0, sizeof *res);
    res->converged_step = -1;
    for (int i = 1; i < o->k; i++)
        if (o->rate[i] > o->rate[res->best]) res->best = i;

    double z[TOY_MAX_K] = {0}, p[TOY_MAX_K];
    int act[1024];
    float rew[1024], adv[1024];
    Rng rng;
    rng_init(&rng, o->seed);
    int window = o->steps / 10 > 0 ? o->steps / 10 : 1;
    for (int step = 1; step <= o->steps; step++) {
        softmax(p, z, o->k);
        double mean_r = 0;
        for (int g = 0; g < o->group; g++) {
            double u = rng_uniform(&rng), c = 0;
            int a = o->k - 1;
            for (int i = 0; i < o->k; i++)
                if (u < (c += p[i])) { a = i; break; }
            act[g] = a;
            rew[g] = rng_uniform(&rng) < o->rate[a] ? 1.0f : 0.0f;
            mean_r += rew[g];
        }
        mean_r /= o->group;
        rl_advantages(adv, rew, 1, o->group, ADV_SCALE_GROUP, 1e-4f);
        // z += lr * (1/G) sum_g A_g (onehot(a_g) - p)
        double grad[TOY_MAX_K] = {0};
        for (int g = 0; g < o->group; g++)
            for (int i = 0; i < o->k; i++) grad[i] += adv[g] * ((i == act[g]) - p[i]) / o->group;
        for (int i = 0; i < o->k; i++) z[i] += o->lr * grad[i];
        if (step <= window) res->mean_reward_first += mean_r / window;
        if (step > o->steps - window) res->mean_reward_last += mean_r / window;
        softmax(p, z, o->k);
        if (res->converged_step < 0 && p[res->best] >= 0.9) res->converged_step = step;
        if (out && o->print_every > 0 && (step % o->print_every == 0 || step == 1)) print_policy(out, step, p, o->k, mean_r);
    }
    memcpy(res->prob, p, sizeof(double) * (size_t)o->k);
    return 0;
}
