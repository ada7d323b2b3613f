// aha toy: GRPO on a bandit converges to the best strategy, for fixed seeds,
// within a bounded number of steps; bad options are refused.
#include "train/toy.h"
#include "test.h"

int main(void) {
    ToyOpts o;
    int worst = 0;
    for (uint64_t seed = 1; seed <= 20; seed++) {
        toy_defaults(&o);
        o.seed = seed;
        o.print_every = 0;
        ToyResult r;
        CHECK(toy_run(&o, &r, NULL) == 0);
        CHECK(r.best == 2);
        CHECK(r.converged_step > 0 && r.converged_step <= 150, "seed %llu converged at step %d",
              (unsigned long long)seed, r.converged_step);
        CHECK(r.prob[2] >= 0.95, "seed %llu final p(best) %.3f", (unsigned long long)seed, r.prob[2]);
        CHECK(r.mean_reward_last > r.mean_reward_first + 0.1, "seed %llu reward %.3f -> %.3f",
              (unsigned long long)seed, r.mean_reward_first, r.mean_reward_last);
        if (r.converged_step > worst) worst = r.converged_step;
    }
    printf("default bandit: slowest of 20 seeds reached p(best) >= 0.9 at step %d\n", worst);
    // Close rates (0.6 vs 0.7) need more steps but still pick the better arm.
    toy_defaults(&o);
    o.k = 3;
    o.rate[0] = 0.6; o.rate[1] = 0.7; o.rate[2] = 0.1;
    o.steps = 3000;
    o.group = 16;
    o.print_every = 0;
    int right = 0;
    for (uint64_t seed = 1; seed <= 10; seed++) {
        o.seed = seed;
        ToyResult r;
        toy_run(&o, &r, NULL);
        right += r.prob[1] > 0.9;
    }
    CHECK(right >= 8, "close arms: %d of 10 seeds picked the best", right);
    // Deterministic for a seed.
    ToyResult a, b;
    toy_defaults(&o);
    o.print_every = 0;
    toy_run(&o, &a, NULL);
    toy_run(&o, &b, NULL);
    CHECK(a.converged_step == b.converged_step && a.prob[0] == b.prob[0]);
    toy_defaults(&o);
    o.group = 1;
    CHECK(toy_run(&o, &a, NULL) == -1);
    o.group = 8;
    o.rate[1] = 1.5;
    CHECK(toy_run(&o, &a, NULL) == -1);
    return TEST_END();
}
