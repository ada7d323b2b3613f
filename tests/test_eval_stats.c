// eval/stats: pass@k and cons@k against hand-computed values; reflection words.
#include "eval/stats.h"
#include "test.h"

#include <string.h>

static double choose(int n, int k) {
    double r = 1;
    for (int i = 1; i <= k; i++) r = r * (n - k + i) / i;
    return r;
}

int main(void) {
    // n = 8, c = 2, k = 1: 2/8. k = 4: 1 - C(6,4)/C(8,4) = 1 - 15/70.
    CHECK_CLOSE(pass_at_k(8, 2, 1), 0.25, 1e-12, 1e-12);
    CHECK_CLOSE(pass_at_k(8, 2, 4), 1 - 15.0 / 70, 1e-12, 1e-12);
    CHECK(pass_at_k(8, 0, 8) == 0 && pass_at_k(8, 8, 1) == 1 && pass_at_k(8, 1, 8) == 1);
    CHECK(pass_at_k(10, 4, 7) == 1.0);   // n - c < k: every 7-subset has a correct one
    for (int n = 1; n <= 16; n++)
        for (int c = 0; c <= n; c++)
            for (int k = 1; k <= n; k++)
                CHECK_CLOSE(pass_at_k(n, c, k), 1 - choose(n - c, k) / choose(n, k), 1e-9, 1e-12);
    // Majority vote: "5" twice beats "7" once; ties go to the first seen.
    const char *a1[] = {"7", "5", NULL, "5"};
    int c1[] = {0, 1, 0, 1};
    CHECK(cons_at_k(a1, c1, 4) == 1);
    const char *a2[] = {"7", "5", "5", "7", "3"};
    int c2[] = {0, 1, 1, 0, 0};
    CHECK(cons_at_k(a2, c2, 5) == 0);
    const char *a3[] = {NULL, "", NULL};
    int c3[] = {0, 0, 0};
    CHECK(cons_at_k(a3, c3, 3) == 0);
    // Reflection words: whole words, any case, simple inflections.
    const char *t = "Wait, let me check. Checking again... but BUT butter; however I verified it. "
                    "No mistakes, no errors: retry? wrongly evaluated; Waiting. checkpoint";
    // wait, check, checking, but, BUT, however, verified, mistakes, errors, retry, evaluated, waiting = 12
    CHECK(reflection_count(t, strlen(t)) == 12, "got %d", reflection_count(t, strlen(t)));
    CHECK(reflection_count("", 0) == 0);
    // The Chinese counterparts, wherever they occur: 等等, 检查, 错误, 但是 and 不对 = 5;
    // 等 alone, 检 alone and 误 are not words of the list.
    const char *z = "大约 4 * 5 = 20. 等等, 让我检查: 有错误, 但是不对. 等一下, 检 误";
    CHECK(reflection_count(z, strlen(z)) == 5, "got %d", reflection_count(z, strlen(z)));
    const char *m = "wait, 等等 check 检查";
    CHECK(reflection_count(m, strlen(m)) == 4, "got %d", reflection_count(m, strlen(m)));
    return TEST_END();
}
