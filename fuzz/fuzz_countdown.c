// libFuzzer target: the countdown expression parser and reward on arbitrary
// bytes, with a fixed task. Checks that a success reports sane literals.
#include "reward/countdown.h"
#include "reward/reward.h"

#include <stdint.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const char *s = (const char *)data;
    Rational v;
    __int128 lits[COUNTDOWN_MAX_NUMBERS];
    int nl = -1;
    int st = countdown_eval(s, size, &v, lits, &nl);
    if (nl < 0 || nl > COUNTDOWN_MAX_NUMBERS) abort();
    if (st == 0 && (v.den <= 0 || nl == 0)) abort();
    static const long numbers[4] = {1, 3, 4, 6};
    countdown_check(s, size, numbers, 4, 24);
    static cJSON *task;
    if (!task) task = cJSON_Parse("{\"numbers\": [1, 3, 4, 6], \"target\": 24}");
    RewardInput in = {.completion = s, .completion_len = size, .task = task, .completion_tokens = -1};
    double r = reward_countdown(&in, NULL);
    if (!(r == 0.0 || r == 0.1 || r == 1.0)) abort();
    return 0;
}
