// Reward functions other than math: format, tag_count, countdown (parser and
// scoring), language, overlong, repetition, cosine; the registry, spec parsing,
// batch scoring and JSON input mapping. Every expected value is worked by hand.
#include "reward/countdown.h"
#include "reward/reward.h"
#include "base/err.h"
#include "test.h"

#include <stdlib.h>
#include <string.h>

static RewardInput input(const char *completion, int prefilled) {
    RewardInput in = {.completion = completion, .completion_len = strlen(completion),
                      .completion_tokens = -1, .prefilled_think = prefilled};
    return in;
}

typedef struct {
    const char *completion;
    int prefilled;
    double format, tag_count;
    const char *why;
} FormatCase;

static void test_format(void) {
    static const FormatCase cases[] = {
        {"<think>a</think><answer>b</answer>", 0, 1, 1, "R1 layout"},
        {"  <think>a</think>\n<answer>b</answer>\n", 0, 1, 1, "whitespace around tags"},
        {"<think></think><answer></answer>", 0, 1, 1, "empty contents are still the layout"},
        {"<think>a</think><answer>b</answer> extra", 0, 0, 1, "text after </answer>"},
        {"text <think>a</think><answer>b</answer>", 0, 0, 1, "text before <think>"},
        {"<think>a</think> so <answer>b</answer>", 0, 0, 1, "text between blocks"},
        {"<think>a</think><think>b</think><answer>c</answer>", 0, 0, 0.5, "doubled think block"},
        {"<think>a</think>", 0, 0, 0.5, "missing answer"},
        {"<answer>b</answer>", 0, 0, 0.5, "missing think"},
        {"<answer>b</answer><think>a</think>", 0, 0, 1, "blocks in the wrong order"},
        {"<think>a<answer>b</answer></think>", 0, 0, 1, "answer inside think"},
        {"<think><think></think><answer></answer></answer>", 0, 0, 0.5, "tag spam"},
        {"<think>a</think><answer>b</answer></answer>", 0, 0, 0.75, "doubled closing answer"},
        {"<think>a</think><answer>b", 0, 0, 0.75, "truncated answer"},
        {"", 0, 0, 0, "empty completion"},
        {"a</think><answer>b</answer>", 1, 1, 1, "prefilled <think>"},
        {"\na</think>\n<answer>b</answer>", 1, 1, 1, "prefilled with newlines"},
        {"<think>a</think><answer>b</answer>", 1, 0, 0.75, "prefilled and written again"},
        {"a</think><answer>b</answer>", 0, 0, 0.75, "missing <think> without prefill"},
        {"", 1, 0, 0.25, "prefilled, nothing generated"},
        {"a</think>", 1, 0, 0.5, "prefilled, no answer"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        RewardInput in = input(cases[i].completion, cases[i].prefilled);
        double f = reward_format(&in, NULL), t = reward_tag_count(&in, NULL);
        CHECK(f == cases[i].format, "format case %zu (%s): got %g want %g", i, cases[i].why, f,
              cases[i].format);
        CHECK(t == cases[i].tag_count, "tag_count case %zu (%s): got %g want %g", i, cases[i].why, t,
              cases[i].tag_count);
    }
}

typedef struct {
    const char *numbers;  // JSON array
    long target;
    const char *completion;
    double want;
    const char *why;
} CountdownCase;

static double countdown_score(const char *numbers, long target, const char *completion, size_t n) {
    char json[256];
    snprintf(json, sizeof json, "{\"numbers\": %s, \"target\": %ld}", numbers, target);
    cJSON *task = cJSON_Parse(json);
    RewardInput in = input(completion, 0);
    in.completion_len = n;
    in.task = task;
    double r = reward_countdown(&in, NULL);
    cJSON_Delete(task);
    return r;
}

static void test_countdown(void) {
    static const CountdownCase cases[] = {
        {"[3,5,2]", 16, "<answer>(3+5)*2</answer>", 1.0, "correct"},
        {"[3,5,2]", 16, "<answer>2*(5+3)</answer>", 1.0, "any order of numbers"},
        {"[3,5,2]", 16, "<think>try</think><answer>(3 + 5) \xc3\x97 2</answer>", 1.0, "unicode times"},
        {"[3,5,2]", 16, "<answer>(3+5)\\times 2</answer>", 1.0, "LaTeX times"},
        {"[8,2,3]", 12, "<answer>8\xc3\xb7" "2*3</answer>", 1.0, "unicode divide"},
        {"[3,5,2]", 16, "<answer>3*5+2</answer>", 0.1, "wrong value"},
        {"[3,5,2]", 16, "<answer>(3+5)*2 = 16</answer>", 0.1, "equation, not an expression"},
        {"[3,5,2]", 13, "<answer>5+5+3</answer>", 0.1, "reused number"},
        {"[3,5,2]", 8, "<answer>3+5</answer>", 0.1, "missing number"},
        {"[3,5,2]", 17, "<answer>3*5+2+0</answer>", 0.1, "extra number"},
        {"[3,5,2]", 17, "<answer>3*5+2</answer>", 1.0, "all numbers once"},
        {"[3,5,5]", 3, "<answer>3/(5-5)</answer>", 0.1, "division by zero is wrong"},
        {"[1,3,4,6]", 24, "<answer>6/(1-3/4)</answer>", 1.0, "needs exact fractions"},
        {"[7,2,2]", 7, "<answer>7/2*2</answer>", 1.0, "no integer division"},
        {"[1,3]", 0, "<answer>1/3-1/3</answer>", 0.1, "numbers used twice"},
        {"[3,5,2]", 16, "<answer>((3+5)*2</answer>", 0.1, "unbalanced open"},
        {"[3,5,2]", 16, "<answer>(3+5))*2</answer>", 0.1, "unbalanced close"},
        {"[3,5,2]", 16, "<answer>99999999999999999999999999999999999999999999*3+5+2</answer>", 0.1,
         "huge literal"},
        {"[5,3,2]", 0, "<answer>-5+3+2</answer>", 0.1, "unary minus not allowed"},
        {"[5,3,2]", 0, "<answer>3+2-5</answer>", 1.0, "zero target"},
        {"[3,5,2]", 16, "<answer>__import__('os')</answer>", 0.1, "code is not an expression"},
        {"[3,5,2]", 16, "<answer>3.0+5*2+3</answer>", 0.1, "decimal literal"},
        {"[3,5,2]", 15, "<answer>3**5</answer>", 0.1, "power operator"},
        {"[3,5,2]", 16, "(3+5)*2", 0.0, "no answer tag"},
        {"[3,5,2]", 16, "<think><answer>(3+5)*2</answer></think>", 0.0, "answer only inside think"},
        {"[3,5,2]", 16, "<answer></answer>", 0.1, "empty answer"},
        {"[3,5,2]", 16, "<answer>3*5+2</answer> <answer>(3+5)*2</answer>", 1.0, "last answer wins"},
        {"[3,5,2]", 16, "<answer>(3+5)*2</answer> <answer>3*5+2</answer>", 0.1, "last answer loses"},
        {"[10,10,10,10,10]", 50, "<answer>10+10+10+10+10</answer>", 1.0, "five equal numbers"},
        {"[100,7,3]", 3, "<answer>(100-7*3*0)</answer>", 0.1, "literal not given"},
        {"[100,7,3]", 2100, "<answer>( ( (100) ) ) * (3 * (7))</answer>", 1.0, "redundant parentheses"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const CountdownCase *c = &cases[i];
        double r = countdown_score(c->numbers, c->target, c->completion, strlen(c->completion));
        CHECK(r == c->want, "countdown case %zu (%s): got %g want %g", i, c->why, r, c->want);
    }
    // The evaluator alone: precedence, left associativity, exact values.
    struct { const char *e; long num, den; } evals[] = {
        {"1+2*3", 7, 1}, {"(1+2)*3", 9, 1}, {"8/4/2", 1, 1}, {"8-4-2", 2, 1}, {"1/3", 1, 3},
        {"2/4", 1, 2}, {"7-10", -3, 1}, {" 6 / ( 1 - 3 / 4 ) ", 24, 1},
    };
    for (size_t i = 0; i < sizeof evals / sizeof evals[0]; i++) {
        Rational v = {0, 1};
        __int128 lits[COUNTDOWN_MAX_NUMBERS];
        int nl, st = countdown_eval(evals[i].e, strlen(evals[i].e), &v, lits, &nl);
        CHECK(st == 0 && v.num == evals[i].num && v.den == evals[i].den, "eval \"%s\"", evals[i].e);
    }
    // Nesting: 64 levels parse, 65 do not; 10 kB of parentheses never recurse deeply.
    char deep[200000];
    for (int depth = 64; depth <= 65; depth++) {
        int k = 0;
        for (int i = 0; i < depth; i++) deep[k++] = '(';
        deep[k++] = '1';
        for (int i = 0; i < depth; i++) deep[k++] = ')';
        Rational v;
        __int128 lits[COUNTDOWN_MAX_NUMBERS];
        int nl, st = countdown_eval(deep, (size_t)k, &v, lits, &nl);
        CHECK((st == 0) == (depth == 64), "nesting depth %d gives %d", depth, st);
    }
    size_t k = 0;
    k += (size_t)sprintf(deep, "<answer>");
    for (int i = 0; i < 10000; i++) deep[k++] = '(';
    k += (size_t)sprintf(deep + k, "3+5)*2</answer>");
    CHECK(countdown_score("[3,5,2]", 16, deep, k) == 0.1, "10 kB of parentheses");
    k = (size_t)sprintf(deep, "<answer>");
    for (int i = 0; i < 20000; i++) k += (size_t)sprintf(deep + k, "3+");
    k += (size_t)sprintf(deep + k, "3</answer>");
    CHECK(countdown_score("[3,5,2]", 16, deep, k) == 0.1, "20k literals: too many numbers");
    const char bad_utf8[] = "<answer>(3+5)\xff*2</answer>";
    CHECK(countdown_score("[3,5,2]", 16, bad_utf8, sizeof bad_utf8 - 1) == 0.1, "invalid UTF-8");
    // Configuration errors are NaN with a message.
    RewardInput in = input("<answer>1</answer>", 0);
    CHECK(isnan(reward_countdown(&in, NULL)), "no task is NaN");
    CHECK(isnan(countdown_score("[1.5,2]", 3, "<answer>1</answer>", 18)), "non-integer numbers");
    CHECK(strstr(err_msg(), "numbers") != NULL, "message names the field: %s", err_msg());
}

typedef struct {
    const char *completion;
    int prefilled;
    const char *lang;
    double want;
    const char *why;
} LangCase;

static void test_language(void) {
    static const LangCase cases[] = {
        {"<think>this is English</think><answer>1</answer>", 0, "en", 1.0, "all English"},
        {"<think>\xe8\xbf\x99\xe6\x98\xaf\xe4\xb8\xad\xe6\x96\x87</think>", 0, "en", 0.0, "all Chinese, en"},
        {"<think>\xe8\xbf\x99\xe6\x98\xaf\xe4\xb8\xad\xe6\x96\x87</think>", 0, "zh", 1.0, "all Chinese, zh"},
        {"<think>hello \xe4\xb8\x96\xe7\x95\x8c</think>", 0, "en", 1.0 / 3, "one word and two Han"},
        {"<think>hello \xe4\xb8\x96\xe7\x95\x8c</think>", 0, "zh", 2.0 / 3, "two Han of three words"},
        {"<think>hello\xe4\xb8\x96</think>", 0, "en", 0.5, "script change splits a word"},
        {"<think>123 !!! ...</think>", 0, "en", 0.0, "no words at all"},
        {"<think>\xd0\x9f\xd1\x80\xd0\xb8\xd0\xb2\xd0\xb5\xd1\x82 world</think>", 0, "en", 0.5, "Cyrillic and Latin, en"},
        {"<think>\xd0\x9f\xd1\x80\xd0\xb8\xd0\xb2\xd0\xb5\xd1\x82 world</think>", 0, "ru", 0.5, "Cyrillic and Latin, ru"},
        {"abc def</think><answer>\xe4\xb8\x96</answer>", 1, "en", 1.0, "prefilled: only the think block"},
        {"hello \xe4\xb8\x96\xe7\x95\x8c", 0, "en", 1.0 / 3, "no think tags: whole text"},
        {"<think>hello</think><answer>\xe4\xb8\x96\xe7\x95\x8c</answer>", 0, "en", 1.0, "answer not counted"},
        {"<think>\xe4\xb8\xad\xff\xfe\xe6\x96\x87</think>", 0, "zh", 1.0, "invalid UTF-8 is a separator"},
        {"<think>\xe3\x81\x93\xe3\x82\x8c\xe3\x81\xaf\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e</think>", 0, "ja",
         1.0, "kana run and three Han, ja"},
        {"<think>\xe3\x81\x93\xe3\x82\x8c\xe3\x81\xaf\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e</think>", 0, "zh",
         0.75, "kana run is not Chinese"},
        {"<think>caf\xc3\xa9 na\xc3\xafve</think>", 0, "en", 1.0, "accented Latin"},
        {"<think>\xea\xb0\x80\xeb\x82\x98 ok</think>", 0, "ko", 0.5, "Hangul word and Latin word"},
        {"<think>\xe4\xb8\xad", 0, "zh", 1.0, "unclosed think runs to the end"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        RewardParams p = {0};
        int n = 0;
        strcpy(p.key[n], "lang");
        strcpy(p.value[n++], cases[i].lang);
        p.n = n;
        RewardInput in = input(cases[i].completion, cases[i].prefilled);
        double r = reward_language(&in, &p);
        CHECK_CLOSE(r, cases[i].want, 1e-12, 1e-12);
        if (fabs(r - cases[i].want) > 1e-12) fprintf(stderr, "  language case %zu (%s)\n", i, cases[i].why);
    }
    RewardInput in = input("<think>abc</think>", 0);
    RewardParams p = {.n = 1, .key = {"lang"}, .value = {"xx"}};
    CHECK(isnan(reward_language(&in, &p)), "unknown language is a configuration error");
    CHECK(reward_language(&in, NULL) == 1.0, "default language is en");
    // target= names the language as lang= does, and wins over it.
    RewardInput zh = input("<think>hello \xe4\xb8\x96\xe7\x95\x8c</think>", 0);
    RewardParams tp = {.n = 2, .key = {"lang", "target"}, .value = {"en", "zh"}};
    CHECK_CLOSE(reward_language(&zh, &tp), 2.0 / 3, 1e-12, 1e-12);
    RewardSpec ts;
    memset(&ts, 0, sizeof ts);
    CHECK(reward_parse_spec(&ts, "language:1:target=zh") == 0, "target is a text option: %s", err_msg());
    // Mixing: words in two or more scripts in the chain of thought only.
    static const struct {
        const char *text;
        int prefilled, want;
    } mix[] = {
        {"<think>about 4 * 5 = 20. \xe7\xad\x89\xe7\xad\x89, 17.</think><answer>17</answer>", 0, 1},
        {"<think>about 4 * 5 = 20. wait, 17.</think><answer>\xe5\xaf\xb9</answer>", 0, 0},
        {"<think>\xe5\xa4\xa7\xe7\xba\xa6 20. 17 + 3 = 20.</think>", 0, 0},
        {"<think>7 + 5 = 12.</think>", 0, 0},
        {"x \xd0\x9f</think>", 1, 1},
    };
    for (size_t i = 0; i < sizeof mix / sizeof mix[0]; i++)
        CHECK(language_mixed(mix[i].text, strlen(mix[i].text), mix[i].prefilled) == mix[i].want, "mixing case %zu", i);
}

static void test_overlong(void) {
    RewardParams p = {.n = 2, .key = {"max", "cache"}, .value = {"100", "20"}};
    struct { long tokens; double want; } cases[] = {
        {0, 0.0}, {80, 0.0}, {81, -0.05}, {90, -0.5}, {99, -0.95}, {100, -1.0}, {101, -1.0}, {5000, -1.0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        RewardInput in = input("x", 0);
        in.completion_tokens = cases[i].tokens;
        CHECK_CLOSE(reward_overlong(&in, &p), cases[i].want, 1e-12, 1e-12);
        // Defaults: max = max_new_tokens, cache = max / 5 -> the same numbers.
        in.max_new_tokens = 100;
        CHECK_CLOSE(reward_overlong(&in, NULL), cases[i].want, 1e-12, 1e-12);
    }
    RewardInput in = input("x", 0);
    in.max_new_tokens = 100;
    CHECK(isnan(reward_overlong(&in, NULL)), "unknown token count is a configuration error");
    in.completion_tokens = 5;
    in.max_new_tokens = 0;
    CHECK(isnan(reward_overlong(&in, NULL)), "no max is a configuration error");
}

static double repetition(const char *text, const char *ngram, const char *maxp) {
    RewardParams p = {.n = 2, .key = {"ngram", "max_penalty"}};
    strcpy(p.value[0], ngram);
    strcpy(p.value[1], maxp);
    RewardInput in = input(text, 0);
    return reward_repetition(&in, &p);
}

static void test_repetition(void) {
    CHECK_CLOSE(repetition("a b c a b c", "3", "-1"), -0.25, 1e-12, 1e-12);  // 4 trigrams, 3 unique
    CHECK_CLOSE(repetition("A b C a B c", "3", "-1"), -0.25, 1e-12, 1e-12);  // case-insensitive
    CHECK(repetition("a b", "3", "-1") == 0.0, "fewer words than n");
    CHECK(repetition("", "3", "-1") == 0.0, "empty text");
    CHECK(repetition("the cat sat on the mat", "3", "-1") == 0.0, "no repeated trigram");
    CHECK_CLOSE(repetition("x x x x x", "3", "-1"), -2.0 / 3, 1e-12, 1e-12);  // 3 trigrams, 1 unique
    CHECK_CLOSE(repetition("a a b", "1", "-0.5"), -0.5 / 3, 1e-12, 1e-12);   // 3 unigrams, 2 unique
    CHECK_CLOSE(repetition("  a\tb\n\nc  a b c ", "3", "-1"), -0.25, 1e-12, 1e-12);  // any whitespace
    CHECK_CLOSE(repetition("ab c abc", "2", "-1"), 0.0, 1e-12, 1e-12);  // "ab c" vs "c abc": distinct
    CHECK(isnan(repetition("a b c", "3", "0.5")), "positive max_penalty is refused");
    size_t n = 100000;
    char *big = malloc(2 * n + 1);
    for (size_t i = 0; i < n; i++) big[2 * i] = 'w', big[2 * i + 1] = ' ';
    big[2 * n] = 0;
    CHECK_CLOSE(repetition(big, "3", "-1"), -(1.0 - 1.0 / (double)(n - 2)), 1e-12, 1e-12);
    free(big);
}

static void test_cosine(void) {
    RewardParams p = {.n = 1, .key = {"max_len"}, .value = {"100"}};
    struct { const char *text; long tokens; double want; } cases[] = {
        {"\\boxed{5}", 0, 1.0},     {"\\boxed{5}", 100, 0.5},   {"\\boxed{5}", 50, 0.75},
        {"\\boxed{5}", 200, 0.5},   {"\\boxed{6}", 0, -1.0},    {"\\boxed{6}", 100, -0.5},
        {"\\boxed{6}", 50, -0.75},  {"no answer", 25, -0.5 - 0.25 * (1 + cos(M_PI / 4))},
        {"\\boxed{5}", 25, 0.5 + 0.25 * (1 + cos(M_PI / 4))},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        RewardInput in = input(cases[i].text, 0);
        in.answer = "5";
        in.completion_tokens = cases[i].tokens;
        CHECK_CLOSE(reward_cosine(&in, &p), cases[i].want, 1e-12, 1e-12);
    }
    RewardParams q = {.n = 3, .key = {"max_len", "min_correct", "max_correct"}, .value = {"100", "0", "2"}};
    RewardInput in = input("\\boxed{5}", 0);
    in.answer = "5";
    in.completion_tokens = 50;
    CHECK_CLOSE(reward_cosine(&in, &q), 1.0, 1e-12, 1e-12);
    in.answer = NULL;
    CHECK(isnan(reward_cosine(&in, &p)), "no gold answer");
}

static void test_registry(void) {
    RewardSpec spec = {0};
    CHECK(reward_parse_spec(&spec, "math") == 0 && spec.terms[0].weight == 1.0, "default weight");
    CHECK(reward_parse_spec(&spec, "format:0.5") == 0 && spec.terms[1].weight == 0.5, "weight");
    CHECK(reward_parse_spec(&spec, "overlong:-2:max=100,cache=10") == 0, "options");
    CHECK(spec.terms[2].weight == -2 && reward_param_double(&spec.terms[2].params, "cache", 0) == 10,
          "option value");
    CHECK(reward_parse_spec(&spec, "language:1:lang=zh") == 0, "text option");
    CHECK(strcmp(reward_param_string(&spec.terms[3].params, "lang", "en"), "zh") == 0, "lang value");
    RewardSpec target = {0};
    CHECK(reward_parse_spec(&target, "language:target=en") == 0 &&
              strcmp(reward_param_string(&target.terms[0].params, "target", ""), "en") == 0,
          "target= is a text option, as README writes it: %s", err_msg());
    CHECK(spec.n == 4, "four terms");
    CHECK(reward_parse_spec(&spec, "nope") == -1 && strstr(err_msg(), "known: math"), "unknown name lists known");
    CHECK(reward_parse_spec(&spec, "math:abc") == -1, "bad weight");
    CHECK(reward_parse_spec(&spec, "math:") == -1, "empty weight");
    CHECK(reward_parse_spec(&spec, "overlong:1:bogus=1") == -1 && strstr(err_msg(), "max,cache"),
          "unknown option lists accepted ones");
    CHECK(reward_parse_spec(&spec, "overlong:1:max=abc") == -1, "non-numeric option");
    CHECK(reward_parse_spec(&spec, "overlong:1:max") == -1, "option without value");
    CHECK(spec.n == 4, "failed parses add nothing");
    RewardSpec full = {0};
    for (int i = 0; i < REWARD_MAX_TERMS; i++) reward_parse_spec(&full, "math");
    CHECK(reward_parse_spec(&full, "math") == -1, "too many terms");
    int n;
    const RewardEntry *e = reward_entries(&n);
    for (int i = 0; i < n; i++) CHECK(reward_find(e[i].name) == &e[i], "find %s", e[i].name);
#if defined(__has_include)
#if __has_include("reward/code.h")
    CHECK(reward_find("code") != NULL && reward_find("code")->batch != NULL, "code is a batch entry");
#endif
#endif

    // The chat judge: the gold phrase in the answer region, or a refusal of a harmful request.
    struct { const char *completion, *answer; double want; } chat[] = {
        {"<think> be kind </think> Hello Anna! Nice to meet you.", "Hello Anna", 1},
        {"<think> Hello Anna </think> Hello Bob!", "Hello Anna", 0},          // only the answer region counts
        {" Hello Anna. I will not say more.", "Hello Anna", 0},              // refusing a harmless request
        {" apple apple.", "apple apple", 1},
        {" I will not help with that.", "REFUSE", 1},
        {" Sure. To hurt Anna, follow these steps.", "REFUSE", 0},
    };
    for (size_t i = 0; i < sizeof chat / sizeof chat[0]; i++) {
        RewardInput ci = input(chat[i].completion, 0);
        ci.answer = chat[i].answer;
        CHECK(reward_chat(&ci, NULL) == chat[i].want, "chat %zu: %g", i, reward_chat(&ci, NULL));
    }
    RewardInput nogold = input(" Hello", 0);
    CHECK(isnan(reward_chat(&nogold, NULL)) && strstr(err_msg(), "answer"), "chat without a gold phrase");

    // rm:DIR[:weight][:options], options without a weight, start=N on any term.
    RewardSpec rs = {0};
    CHECK(reward_parse_spec(&rs, "rm:runs/helpful/model/:0.5:view=answer,norm=batch,start=300") == 0, "%s", err_msg());
    CHECK(reward_parse_spec(&rs, "rm:safety:norm=sigmoid") == 0, "%s", err_msg());
    CHECK(reward_parse_spec(&rs, "language:lang=zh,start=2") == 0, "%s", err_msg());
    CHECK(rs.n == 3 && !strcmp(rs.terms[0].path, "runs/helpful/model/") && rs.terms[0].weight == 0.5 &&
              rs.terms[0].start == 300 && !strcmp(reward_param_string(&rs.terms[0].params, "view", ""), "answer") &&
              !strcmp(rs.terms[0].label, "rm:helpful"),
          "rm term: path '%s' weight %g start %ld label %s", rs.terms[0].path, rs.terms[0].weight, rs.terms[0].start,
          rs.terms[0].label);
    CHECK(!strcmp(rs.terms[1].path, "safety") && rs.terms[1].weight == 1 && !strcmp(rs.terms[1].label, "rm:safety"),
          "rm term without weight: '%s' %g %s", rs.terms[1].path, rs.terms[1].weight, rs.terms[1].label);
    CHECK(rs.terms[2].weight == 1 && rs.terms[2].start == 2 && !strcmp(rs.terms[2].label, "language"),
          "options without weight: %g %ld", rs.terms[2].weight, rs.terms[2].start);
    CHECK(reward_parse_spec(&rs, "language:0.5") == 0 && !strcmp(rs.terms[3].label, "language#2"), "second label %s",
          rs.terms[3].label);
    CHECK(reward_parse_spec(&rs, "rm") == -1 && strstr(err_msg(), "rm:DIR"), "rm without a directory");
    CHECK(reward_parse_spec(&rs, "rm:d:1:bogus=1") == -1 && strstr(err_msg(), "view,norm,batch"), "rm option");
    CHECK(reward_parse_spec(&rs, "math:1:start=1.5") == -1 && strstr(err_msg(), "start"), "fractional start");
    CHECK(reward_parse_spec(&rs, "math:1:start=-1") == -1, "negative start");
    // A term before its start scores 0 and is not run; an rm term not opened is an error.
    RewardSpec st = {0};
    reward_parse_spec(&st, "math:1:start=2");
    RewardInput one = input("\\boxed{7}", 0);
    one.answer = "7";
    double tot, cmp;
    st.step = 1;
    CHECK(reward_score_batch(&st, &one, 1, &tot, &cmp) == 0 && tot == 0 && cmp == 0, "before start: %g", tot);
    st.step = 2;
    CHECK(reward_score_batch(&st, &one, 1, &tot, &cmp) == 0 && tot == 1 && cmp == 1, "from start: %g", tot);
    RewardSpec closed = {0};
    reward_parse_spec(&closed, "rm:somewhere");
    CHECK(reward_score_batch(&closed, &one, 1, &tot, &cmp) == -1 && strstr(err_msg(), "not open"), "closed rm: %s",
          err_msg());

    // Weighted sum and components: 2*math + 0.5*format.
    RewardSpec s2 = {0};
    reward_parse_spec(&s2, "math:2");
    reward_parse_spec(&s2, "format:0.5");
    RewardInput in[3] = {input("<think>a</think><answer>7</answer>", 0), input("\\boxed{7}", 0),
                         input("<think>a</think><answer>8</answer>", 0)};
    for (int i = 0; i < 3; i++) in[i].answer = "7";
    double total[3], comp[6];
    CHECK(reward_score_batch(&s2, in, 3, total, comp) == 0, "batch scores");
    double want_total[3] = {2.5, 2.0, 0.5}, want_comp[6] = {1, 1, 1, 0, 0, 1};
    for (int i = 0; i < 3; i++) CHECK(total[i] == want_total[i], "total %d = %g", i, total[i]);
    for (int i = 0; i < 6; i++) CHECK(comp[i] == want_comp[i], "component %d = %g", i, comp[i]);
    // A batch equals its items scored one at a time.
    for (int i = 0; i < 3; i++) {
        double t1, c1[2];
        CHECK(reward_score_batch(&s2, &in[i], 1, &t1, c1) == 0 && t1 == total[i], "batch of one %d", i);
    }
    in[1].answer = NULL;
    CHECK(reward_score_batch(&s2, in, 3, total, NULL) == -1, "missing gold fails the batch");
    CHECK(strstr(err_msg(), "math") && strstr(err_msg(), "input 1"), "message names term and input: %s",
          err_msg());
}

static void test_json_input(void) {
    char buf[64];
    RewardInput in;
    cJSON *o = cJSON_Parse("{\"completion\": \"x\", \"answer\": 42, \"tokens\": 7, \"max_new_tokens\": 9,"
                           " \"prefilled_think\": true, \"finish\": \"length\", \"numbers\": [1]}");
    CHECK(reward_input_from_json(&in, o, buf, sizeof buf) == 0, "parses");
    CHECK(strcmp(in.answer, "42") == 0 && in.completion_tokens == 7 && in.max_new_tokens == 9, "fields");
    CHECK(in.prefilled_think == 1 && in.finish == REWARD_FINISH_LENGTH && in.task == o, "flags");
    cJSON_Delete(o);
    o = cJSON_Parse("{\"completion\": \"x\", \"answer\": 0.5}");
    CHECK(reward_input_from_json(&in, o, buf, sizeof buf) == 0 && strcmp(in.answer, "0.5") == 0, "0.5");
    CHECK(in.completion_tokens == -1 && in.answer != NULL, "tokens unknown by default");
    cJSON_Delete(o);
    const char *bad[] = {"{\"answer\": \"1\"}", "{\"completion\": 3}", "{\"completion\": \"x\", \"answer\": [1]}",
                         "{\"completion\": \"x\", \"finish\": \"eos\"}", "[1]",
                         "{\"completion\": \"x\", \"tokens\": 1.5}"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        o = cJSON_Parse(bad[i]);
        CHECK(reward_input_from_json(&in, o, buf, sizeof buf) == -1, "refuses %s", bad[i]);
        cJSON_Delete(o);
    }
}

int main(void) {
    test_format();
    test_countdown();
    test_language();
    test_overlong();
    test_repetition();
    test_cosine();
    test_registry();
    test_json_input();
    return TEST_END();
}
