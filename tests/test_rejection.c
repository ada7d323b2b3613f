// train/rejection's filter: the first failed check is the reason, bounds only
// when set, --require names parsed (unknown ones refused with the list),
// whitespace-trimmed duplicates and the per-prompt cap.
#include "base/err.h"
#include "test.h"
#include "train/rejection.h"

#include <string.h>

// A sample that passes every check.
static SampleFacts good(void) {
    return (SampleFacts){.correct = 1, .truncated = 0, .tokens = 40, .format = 1, .language = 1, .repetition = 0.1};
}

static void test_verdict(void) {
    RejectChecks c = {.require = 1u << REJECT_VERIFIER | 1u << REJECT_FORMAT | 1u << REJECT_TRUNCATION,
                      .min_language = 0.95, .max_repetition = 1.0};
    SampleFacts f = good();
    CHECK(reject_verdict(&c, &f) == REJECT_NONE, "a good sample is kept");
    f.correct = 0;
    CHECK(reject_verdict(&c, &f) == REJECT_VERIFIER, "wrong answer");
    f.format = 0;
    CHECK(reject_verdict(&c, &f) == REJECT_VERIFIER, "the first failed check is the reason");
    f = good(), f.format = 0;
    CHECK(reject_verdict(&c, &f) == REJECT_FORMAT, "format");
    f = good(), f.truncated = 1;
    CHECK(reject_verdict(&c, &f) == REJECT_TRUNCATION, "truncated");
    // A check not required never rejects.
    f = good(), f.language = 0.2;
    CHECK(reject_verdict(&c, &f) == REJECT_NONE, "language not required");
    c.require |= 1u << REJECT_LANGUAGE;
    CHECK(reject_verdict(&c, &f) == REJECT_LANGUAGE, "language required");
    f.language = 0.95;
    CHECK(reject_verdict(&c, &f) == REJECT_NONE, "language at the threshold passes");
    // Bounds: off at 0 / 1, inclusive when set.
    f = good(), f.tokens = 1, f.repetition = 0.99;
    CHECK(reject_verdict(&c, &f) == REJECT_NONE, "bounds off");
    c.min_tokens = 10, c.max_tokens = 40, c.max_repetition = 0.5;
    CHECK(reject_verdict(&c, &f) == REJECT_MIN_TOKENS, "too short");
    f.tokens = 10;
    CHECK(reject_verdict(&c, &f) == REJECT_REPETITION, "repetitive");
    f.repetition = 0.5;
    CHECK(reject_verdict(&c, &f) == REJECT_NONE, "at both bounds passes");
    f.tokens = 41;
    CHECK(reject_verdict(&c, &f) == REJECT_MAX_TOKENS, "too long");
}

static void test_parse(void) {
    OptList l = {2, {"verifier,format", "no_truncation"}};
    unsigned r = 0;
    CHECK(reject_parse_checks(&l, &r) == 0, "%s", err_msg());
    CHECK(r == (1u << REJECT_VERIFIER | 1u << REJECT_FORMAT | 1u << REJECT_TRUNCATION), "bits %x", r);
    OptList dashed = {1, {"no-truncation,,language"}};
    CHECK(reject_parse_checks(&dashed, &r) == 0 && r == (1u << REJECT_TRUNCATION | 1u << REJECT_LANGUAGE),
          "dashed and empty names: %x", r);
    OptList none = {0};
    CHECK(reject_parse_checks(&none, &r) == 0 && r == 0, "no checks");
    OptList bad = {1, {"verifier,formatt"}};
    CHECK(reject_parse_checks(&bad, &r) == -1, "unknown name refused");
    CHECK(strstr(err_msg(), "'formatt'") && strstr(err_msg(), REJECT_CHECK_NAMES), "message: %s", err_msg());
    OptList dup = {1, {"duplicate"}};
    CHECK(reject_parse_checks(&dup, &r) == -1, "a selection reason is no check");
}

static void test_select(void) {
    const char *text[] = {"a", " b", "a ", "c", "b\n", "d", "e"};
    RejectReason reason[7] = {REJECT_NONE, REJECT_NONE, REJECT_NONE, REJECT_FORMAT, REJECT_NONE, REJECT_NONE,
                              REJECT_NONE};
    reject_select(text, reason, 7, 3);
    RejectReason want[7] = {REJECT_NONE, REJECT_NONE, REJECT_DUPLICATE, REJECT_FORMAT, REJECT_DUPLICATE, REJECT_NONE,
                            REJECT_MAX_KEEP};
    for (int i = 0; i < 7; i++) CHECK(reason[i] == want[i], "sample %d: %d, want %d", i, reason[i], want[i]);
    // A rejected sample does not make a later equal one a duplicate.
    const char *t2[] = {"x", "x"};
    RejectReason r2[2] = {REJECT_VERIFIER, REJECT_NONE};
    reject_select(t2, r2, 2, 1);
    CHECK(r2[1] == REJECT_NONE, "kept after a rejected twin");
    CHECK(!strcmp(reject_reason_names[REJECT_TRUNCATION], "no_truncation") &&
              !strcmp(reject_reason_names[REJECT_MAX_KEEP], "max_keep"),
          "reason names");
}

int main(void) {
    test_verdict();
    test_parse();
    test_select();
    return TEST_END();
}
