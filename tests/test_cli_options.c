// Every option table of the program: opt_check_table passes on each (with the
// defaults the command starts from, and after each GRPO preset), every value of
// every enum setting has exactly one name that maps back to it, and each
// command's --help names every flag its table accepts. Then the checker itself
// must refuse broken tables, and the parser must word its errors by the flag.
#include "test.h"

#include "base/err.h"
#include "base/options.h"
#include "cli/cli.h"
#include "eval/eval.h"
#include "model/safetensors.h"
#include "rl/loss.h"
#include "rollout/rollout.h"
#include "task/task.h"
#include "train/grpo.h"
#include "train/pretrain.h"
#include "train/zero.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

// ---- every table passes its own check

static void check_table(const char *name, const OptDef *defs, const void *defaults) {
    CHECK(opt_check_table(defs, defaults) == 0, "%s: %s", name, err_msg());
}

static void test_library_tables(void) {
    static GrpoConfig g;
    static EvalConfig e;
    static ZeroConfig z;
    static PretrainConfig p;
    SampleSettings s;
    int threads = 0;
    grpo_defaults(&g), eval_defaults(&e), zero_defaults(&z), pretrain_defaults(&p), sample_settings_defaults(&s);
    check_table("grpo", grpo_options, &g);
    check_table("eval", eval_options, &e);
    check_table("zero", zero_options, &z);
    check_table("pretrain", pretrain_options, &p);
    check_table("sample settings", sample_settings_options, &s);
    check_table("threads", threads_options, &threads);
    // Every preset lands inside the table's ranges and choices.
    char names[256], *save = NULL;
    snprintf(names, sizeof names, "%s", grpo_preset_names());
    int n = 0;
    for (char *t = strtok_r(names, ", ", &save); t; t = strtok_r(NULL, ", ", &save), n++) {
        grpo_defaults(&g);
        CHECK(grpo_apply_preset(&g, t) == 0, "preset %s: %s", t, err_msg());
        check_table(t, grpo_options, &g);
    }
    CHECK(n == 6, "%d presets", n);
}

static void test_command_tables(void) {
    int n = 0;
    for (const Command *c = cli_commands; c->name; c++) {
        CHECK(c->options != NULL, "%s has no options table", c->name);
        if (!c->options) continue;
        void *d = calloc(1, c->options->size);
        if (c->options->defaults) c->options->defaults(d);
        check_table(c->name, c->options->defs, d);
        free(d);
        n++;
    }
    CHECK(n == 26, "%d commands with tables", n);
}

// ---- every enum value has a name

// Enum settings whose values are a C enum in a header: [first, last] is all of it.
static const struct {
    const char *key;
    int first, last;
    int seen;
} enum_ranges[] = {
    {"lr_schedule", LR_SCHEDULE_CONSTANT, LR_SCHEDULE_COSINE, 0},
    {"adv_scale", ADV_SCALE_GROUP, ADV_SCALE_NONE, 0},
    {"loss_agg", LOSS_AGG_SEQ_MEAN_TOKEN_MEAN, LOSS_AGG_BNPO, 0},
    {"kl", KL_K1, KL_K3, 0},
    {"ratio_level", RATIO_TOKEN, RATIO_SEQUENCE, 0},
    {"adv_estimator", ADV_ESTIMATOR_GRPO, ADV_ESTIMATOR_GAE, 0},
    {"split", TASK_SPLIT_TRAIN, TASK_SPLIT_TEST, 0},
    {"dtype", ST_F32, ST_BF16, 0},   // the dtypes aha init writes
};
#define N_RANGES (int)(sizeof enum_ranges / sizeof enum_ranges[0])
static int range_seen[N_RANGES];

// A new enumerator makes -Wswitch flag these switches: give it a name in its
// choices table, then move the range above to include it.
static int enums_listed(GrpoLrSchedule s, AdvScale a, LossAgg l, KlEstimator k, RatioLevel r, AdvEstimator e) {
    int n = 0;
    switch (s) { case LR_SCHEDULE_CONSTANT: case LR_SCHEDULE_COSINE: n++; }
    switch (a) { case ADV_SCALE_GROUP: case ADV_SCALE_BATCH: case ADV_SCALE_NONE: n++; }
    switch (l) {
    case LOSS_AGG_SEQ_MEAN_TOKEN_MEAN: case LOSS_AGG_TOKEN_MEAN: case LOSS_AGG_SEQ_MEAN_TOKEN_SUM_NORM: case LOSS_AGG_BNPO: n++;
    }
    switch (k) { case KL_K1: case KL_K2: case KL_K3: n++; }
    switch (r) { case RATIO_TOKEN: case RATIO_SEQUENCE: n++; }
    switch (e) { case ADV_ESTIMATOR_GRPO: case ADV_ESTIMATOR_GAE: n++; }
    return n;
}

static void check_enum(const char *table, const OptDef *d) {
    int lo = d->choices[0].value, hi = lo, count = 0;
    for (const OptChoice *c = d->choices; c->name; c++, count++) {
        lo = c->value < lo ? c->value : lo, hi = c->value > hi ? c->value : hi;
        CHECK(!strcmp(opt_choice_name(d->choices, c->value), c->name), "%s.%s: %d names %s", table, d->key, c->value,
              opt_choice_name(d->choices, c->value));
        CHECK(opt_choice_value(d->choices, c->name, d->key) == c->value, "%s.%s: %s", table, d->key, c->name);
    }
    for (int i = 0; i < N_RANGES; i++) {
        if (strcmp(enum_ranges[i].key, d->key) != 0) continue;
        range_seen[i] = 1;
        lo = enum_ranges[i].first, hi = enum_ranges[i].last;
        for (const OptChoice *c = d->choices; c->name; c++)
            CHECK(c->value >= lo && c->value <= hi, "%s.%s: %s = %d is no value of the enum", table, d->key, c->name,
                  c->value);
    }
    // Names are unique (opt_check_table) and cover [lo, hi]: every value has one.
    for (int v = lo; v <= hi; v++)
        CHECK(strcmp(opt_choice_name(d->choices, v), "?") != 0, "%s.%s: value %d has no name", table, d->key, v);
    CHECK(count == hi - lo + 1, "%s.%s: %d names for %d values", table, d->key, count, hi - lo + 1);
}

static void walk_enums(const char *table, const OptDef *defs) {
    for (const OptDef *d = defs; d->key; d++) {
        if (d->type == OPT_GROUP) walk_enums(table, d->group);
        else if (d->type == OPT_ENUM) check_enum(table, d);
    }
}

static void test_enums(void) {
    walk_enums("grpo", grpo_options);
    for (const Command *c = cli_commands; c->name; c++)
        if (c->options) walk_enums(c->name, c->options->defs);
    for (int i = 0; i < N_RANGES; i++) CHECK(range_seen[i], "no table has the enum setting %s", enum_ranges[i].key);
    CHECK(enums_listed(LR_SCHEDULE_COSINE, ADV_SCALE_NONE, LOSS_AGG_BNPO, KL_K3, RATIO_SEQUENCE, ADV_ESTIMATOR_GAE) == 6);
}

// ---- --help names every flag

// Output to fd (1 or 2) goes to a temporary file from capture_begin until
// capture_end, which returns what was written (malloc'd).
typedef struct {
    int fd, saved;
    FILE *tmp;
} Capture;

static Capture capture_begin(int fd) {
    Capture c = {fd, -1, tmpfile()};
    fflush(fd == 1 ? stdout : stderr);
    c.saved = dup(fd);
    dup2(fileno(c.tmp), fd);
    return c;
}

static char *capture_end(Capture c) {
    fflush(c.fd == 1 ? stdout : stderr);
    dup2(c.saved, c.fd);
    close(c.saved);
    long n = ftell(c.tmp);
    char *text = calloc(1, (size_t)(n > 0 ? n : 0) + 1);
    rewind(c.tmp);
    if (n > 0 && fread(text, 1, (size_t)n, c.tmp) != (size_t)n) text[0] = 0;
    fclose(c.tmp);
    return text;
}

// What `aha NAME --help` prints on stdout (malloc'd), and its exit status.
static char *help_of(const Command *c, int *rc) {
    char *argv[] = {(char *)c->name, "--help", NULL};
    Capture cap = capture_begin(1);
    *rc = cli_run(c, 2, argv);
    return capture_end(cap);
}

// flag appears in text as a whole flag ("--top" does not count inside "--top-p").
static int has_flag(const char *text, const char *flag) {
    size_t n = strlen(flag);
    for (const char *p = strstr(text, flag); p; p = strstr(p + 1, flag))
        if (!strchr("abcdefghijklmnopqrstuvwxyz0123456789-_", p[n]) || !p[n]) return 1;
    return 0;
}

static void check_flags(const char *cmd, const char *help, const OptDef *defs) {
    for (const OptDef *d = defs; d->key; d++) {
        if (d->type == OPT_GROUP) {
            check_flags(cmd, help, d->group);
            continue;
        }
        char flag[128];
        int k = snprintf(flag, sizeof flag, "--");
        for (const char *p = d->key; *p; p++) flag[k++] = *p == '_' ? '-' : *p;
        flag[k] = 0;
        CHECK(has_flag(help, flag), "aha %s --help does not name %s", cmd, flag);
        if (d->alias) CHECK(has_flag(help, d->alias), "aha %s --help does not name %s", cmd, d->alias);
        if (d->type == OPT_BOOL) {
            char no[140];
            snprintf(no, sizeof no, "--no-%s", flag + 2);
            CHECK(has_flag(help, no), "aha %s --help does not name %s", cmd, no);
        }
    }
}

// text with every run of white space made one space, in place.
static char *squeeze(char *text) {
    char *w = text;
    for (const char *r = text; *r; r++)
        if (!isspace((unsigned char)*r)) *w++ = *r;
        else if (w > text && w[-1] != ' ') *w++ = ' ';
    if (w > text && w[-1] == ' ') w--;
    *w = 0;
    return text;
}

// The about text between the usage and "options:" is wrapped at 80 columns
// (list lines, starting with two spaces, stay as written) and keeps every word.
static void check_about(const char *cmd, const char *help, const char *about) {
    const char *start = strstr(help, "\n\n"), *end = strstr(help, "\noptions:\n");
    CHECK(start && end && start < end, "aha %s --help: no about text before the options", cmd);
    if (!start || !end || start > end) return;
    for (const char *line = start + 2; line < end;) {
        const char *nl = strchr(line, '\n');
        CHECK(nl - line <= 80 || !strncmp(line, "  ", 2), "aha %s --help: a line of %d columns: %.*s", cmd,
              (int)(nl - line), (int)(nl - line), line);
        line = nl + 1;
    }
    char *printed = strndup(start + 2, (size_t)(end - start - 2)), *given = strdup(about);
    CHECK(!strcmp(squeeze(printed), squeeze(given)), "aha %s --help: the about text changed:\n%s\n%s", cmd, printed,
          given);
    free(printed);
    free(given);
}

static void test_help(void) {
    for (const Command *c = cli_commands; c->name; c++) {
        int rc;
        char *help = help_of(c, &rc), usage[64];
        snprintf(usage, sizeof usage, "usage: aha %s", c->name);
        CHECK(rc == 0, "aha %s --help exits %d", c->name, rc);
        CHECK(strstr(help, usage) != NULL, "aha %s --help has no usage line", c->name);
        check_flags(c->name, help, c->options->defs);
        check_about(c->name, help, c->options->about);
        free(help);
    }
    CHECK(!has_flag("--top-p x", "--top") && has_flag("a --top\n", "--top") && has_flag("--top", "--top"));
}

// ---- the checker refuses broken tables

typedef struct {
    int n, on, pick;
    double x;
    char s[4];
    int inner;
} T;

static const OptChoice abc[] = {{"a", 0}, {"b", 1}, {"c", 2}, {NULL, 0}};
static const OptChoice dup_name[] = {{"a", 0}, {"a", 1}, {NULL, 0}};
static const OptChoice dup_value[] = {{"a", 0}, {"b", 0}, {NULL, 0}};
static const OptChoice empty_name[] = {{"a", 0}, {"", 1}, {NULL, 0}};

#define END {NULL, 0, 0, 0, 0, 0, NULL, NULL, NULL, NULL, 0}
#define N_(alias, flags) {"n", OPT_INT, offsetof(T, n), 0, 1, 5, NULL, "n", NULL, alias, flags}
#define ON {"on", OPT_BOOL, offsetof(T, on), 0, 0, 1, NULL, "on", NULL, NULL, 0}
#define PICK(ch) {"pick", OPT_ENUM, offsetof(T, pick), 0, 0, 0, ch, "pick", NULL, NULL, 0}
#define X_(lo, hi) {"x", OPT_DOUBLE, offsetof(T, x), 0, lo, hi, NULL, "x", NULL, NULL, 0}
#define STR {"s", OPT_STRING, offsetof(T, s), sizeof(((T *)0)->s), 0, 0, NULL, "s", NULL, NULL, OPT_POSITIONAL}

static const OptDef inner_n[] = {{"n", OPT_INT, 0, 0, 0, 9, NULL, "inner n", NULL, NULL, 0}, END};
static const OptDef inner_ok[] = {{"inner", OPT_INT, 0, 0, 0, 9, NULL, "inner", NULL, "-i", 0}, END};

static const OptDef good[] = {N_("-n", 0), ON, PICK(abc), X_(0, 1), STR, OPT_GROUP_ENTRY(T, inner, inner_ok), END};
static const OptDef bad_dup_group[] = {N_(NULL, 0), OPT_GROUP_ENTRY(T, inner, inner_n), END};
static const OptDef bad_dup_alias[] = {N_("-i", 0), OPT_GROUP_ENTRY(T, inner, inner_ok), END};
static const OptDef bad_alias_shadows[] = {N_("--on", 0), ON, END};
static const OptDef bad_alias_bare[] = {N_("n", 0), END};
static const OptDef bad_key[] = {{"max-n", OPT_INT, offsetof(T, n), 0, 1, 5, NULL, "n", NULL, NULL, 0}, END};
static const OptDef sec_key[] = {{"sec.max_n", OPT_INT, offsetof(T, n), 0, 1, 5, NULL, "n", NULL, NULL, 0}, END};
static const OptDef bad_sec[] = {{"sec..n", OPT_INT, offsetof(T, n), 0, 1, 5, NULL, "n", NULL, NULL, 0}, END};
static const OptDef bad_sec_end[] = {{"sec.", OPT_INT, offsetof(T, n), 0, 1, 5, NULL, "n", NULL, NULL, 0}, END};
static const OptDef bad_no[] = {ON, {"no_on", OPT_BOOL, offsetof(T, n), 0, 0, 1, NULL, "no", NULL, NULL, 0}, END};
static const OptDef bad_dup_name[] = {PICK(dup_name), END};
static const OptDef bad_dup_value[] = {PICK(dup_value), END};
static const OptDef bad_empty_name[] = {PICK(empty_name), END};
static const OptDef bad_range[] = {X_(1, 0), END};
static const OptDef required_n[] = {N_(NULL, OPT_REQUIRED), END};

static void expect_refused(const char *what, const OptDef *defs, const T *d, const char *needle) {
    CHECK(opt_check_table(defs, d) == -1 && strstr(err_msg(), needle), "%s: %s", what, err_msg());
}

static void test_check_refuses(void) {
    T d = {3, 0, 1, 0.5, "ab", 4};
    CHECK(opt_check_table(good, &d) == 0, "%s", err_msg());
    expect_refused("key in a group twice", bad_dup_group, &d, "n: the key appears more than once");
    expect_refused("alias twice", bad_dup_alias, &d, "alias -i");
    expect_refused("alias naming another key", bad_alias_shadows, &d, "alias --on");
    expect_refused("alias not a flag", bad_alias_bare, &d, "alias n");
    expect_refused("key not snake_case", bad_key, &d, "max-n: a key is snake_case");
    CHECK(opt_check_table(sec_key, &d) == 0, "a key with a section: %s", err_msg());
    expect_refused("two dots", bad_sec, &d, "sec..n: a key is snake_case");
    expect_refused("a dot at the end", bad_sec_end, &d, "sec.: a key is snake_case");
    T v = d;
    char *argv[] = {"cmd", "--sec.max-n", "4"};
    CHECK(opt_parse_argv(&v, sec_key, 3, argv, NULL) == 0 && v.n == 4, "--sec.max-n 4: %s", err_msg());
    expect_refused("key colliding with --no-on", bad_no, &d, "no_on");
    expect_refused("choice name twice", bad_dup_name, &d, "choices a and a collide");
    expect_refused("choice value twice", bad_dup_value, &d, "choices a and b collide");
    expect_refused("empty choice name", bad_empty_name, &d, "empty name");
    expect_refused("empty range", bad_range, &d, "x: range");
    T low = d, high = d, pick = d, s = d;
    low.n = 0, high.x = 1.5, pick.pick = 7;
    memcpy(s.s, "abcd", 4);   // no room for the terminator
    expect_refused("int default below min", good, &low, "n: default 0 is outside");
    expect_refused("double default above max", good, &high, "x: default 1.5 is outside");
    expect_refused("enum default no choice", good, &pick, "pick: default 7");
    expect_refused("string default too long", good, &s, "s: the default does not fit");
    CHECK(opt_check_table(required_n, &low) == 0, "a required setting has no default to check: %s", err_msg());
}

// ---- the parser words errors by the flag and takes switches bare

static int parse(T *t, const char *line) {
    char buf[256], *argv[16] = {"cmd"};
    int argc = 1;
    snprintf(buf, sizeof buf, "%s", line);
    for (char *save = NULL, *a = strtok_r(buf, " ", &save); a && argc < 15; a = strtok_r(NULL, " ", &save))
        argv[argc++] = a;
    *t = (T){3, 0, 1, 0.5, "", 4};
    return opt_parse_argv(t, good, argc, argv, NULL);
}

static void test_parse(void) {
    T t;
    CHECK(parse(&t, "-n 5 --on --pick=c xy -i 2") == 0 && t.n == 5 && t.on && t.pick == 2 && !strcmp(t.s, "xy") &&
              t.inner == 2,
          "%s", err_msg());
    CHECK(parse(&t, "--on ab") == 0 && t.on == 1 && !strcmp(t.s, "ab"), "a bare switch leaves the next word: %s",
          err_msg());
    CHECK(parse(&t, "--on false") == 0 && t.on == 0, "%s", err_msg());
    CHECK(parse(&t, "--on --no-on") == 0 && t.on == 0, "%s", err_msg());
    CHECK(parse(&t, "--on=false") == 0 && t.on == 0, "%s", err_msg());
    CHECK(parse(&t, "--n 9") == -1 && !strcmp(err_msg(), "--n must be an integer in [1, 5], got '9'"), "%s", err_msg());
    CHECK(parse(&t, "-n x") == -1 && !strcmp(err_msg(), "-n must be an integer in [1, 5], got 'x'"), "%s", err_msg());
    CHECK(parse(&t, "--pick d") == -1 && !strcmp(err_msg(), "--pick must be a, b or c, got 'd'"), "%s", err_msg());
    CHECK(parse(&t, "--x 2") == -1 && !strcmp(err_msg(), "--x must be a number in [0, 1], got '2'"), "%s", err_msg());
    CHECK(parse(&t, "--bogus 1") == -1 && !strcmp(err_msg(), "unknown option '--bogus'"), "%s", err_msg());
    CHECK(parse(&t, "--no-n") == -1 && !strcmp(err_msg(), "unknown option '--no-n'"), "%s", err_msg());
    CHECK(parse(&t, "--n") == -1 && !strcmp(err_msg(), "--n needs a value"), "%s", err_msg());
    CHECK(parse(&t, "a b") == -1 && !strcmp(err_msg(), "unexpected argument 'b'"), "%s", err_msg());
    CHECK(parse(&t, "--s abcd") == -1 && strstr(err_msg(), "--s is 4 bytes"), "%s", err_msg());
    // A file's errors name the file and the key.
    CHECK(opt_set(&t, good, "n", "0", "cfg.json") == -1 && !strcmp(err_msg(), "cfg.json: n must be an integer in [1, 5], got '0'"),
          "%s", err_msg());
    CHECK(opt_set(&t, good, "pick", "z", "cfg.json") == -1 && !strcmp(err_msg(), "cfg.json: pick must be a, b or c, got 'z'"),
          "%s", err_msg());
}

// ---- the engine refuses a missing OPT_REQUIRED setting, and zeroes the rest

static const OptDef inner_required[] = {{"inner", OPT_INT, 0, 0, 0, 9, NULL, "inner", NULL, NULL, OPT_REQUIRED}, END};
static const OptDef required[] = {N_(NULL, OPT_REQUIRED),
                                  {"s", OPT_STRING, offsetof(T, s), sizeof(((T *)0)->s), 0, 0, NULL, "s", NULL, NULL,
                                   OPT_POSITIONAL | OPT_REQUIRED},
                                  ON, X_(0, 1), OPT_GROUP_ENTRY(T, inner, inner_required), END};
static const CliOptions required_cli = {required, sizeof(T), NULL, "cmd", "about", NULL, 0};

// cli_parse_options on the words of line; *err receives stderr (malloc'd).
static int cli_parse(T *t, const char *line, char **err) {
    char buf[256], *argv[16] = {"cmd"};
    int argc = 1;
    snprintf(buf, sizeof buf, "%s", line);
    for (char *save = NULL, *a = strtok_r(buf, " ", &save); a && argc < 15; a = strtok_r(NULL, " ", &save))
        argv[argc++] = a;
    memset(t, 0x5a, sizeof *t);   // the parse must zero what the flags leave
    Capture cap = capture_begin(2);
    int rc = cli_parse_options("cmd", argc, argv, &required_cli, t);
    *err = capture_end(cap);
    return rc;
}

static void expect_usage(const char *line, const char *needle) {
    T t;
    char *err;
    int rc = cli_parse(&t, line, &err);
    CHECK(rc == 2 && strstr(err, needle) && strstr(err, "see 'aha cmd --help'"), "'%s': rc %d, %s", line, rc, err);
    free(err);
}

static void test_required(void) {
    expect_usage("", "aha cmd: --n is required");
    expect_usage("--inner 1 ab", "aha cmd: --n is required");
    expect_usage("--n 2 --inner 1", "aha cmd: missing S (or --s)");
    expect_usage("--n 2 --inner 1 --s=", "aha cmd: missing S (or --s)");   // an empty string is not given
    expect_usage("--n 2 ab", "aha cmd: --inner is required");               // in a group too
    T t;
    char *err;
    int rc = cli_parse(&t, "--n 2 ab --inner 0", &err);
    CHECK(rc == 0 && !*err, "all given: rc %d, %s", rc, err);
    CHECK(t.n == 2 && !strcmp(t.s, "ab") && t.inner == 0 && t.on == 0 && t.pick == 0 && t.x == 0,
          "no defaults function: the settings not given are zero");
    free(err);
}

int main(void) {
    test_library_tables();
    test_command_tables();
    test_enums();
    test_help();
    test_check_refuses();
    test_parse();
    test_required();
    return TEST_END();
}
