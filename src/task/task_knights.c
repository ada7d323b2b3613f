// Knights and knaves: knights always tell the truth, knaves always lie. Draw who
// is what, give each inhabitant one statement that is true exactly when the
// speaker is a knight, and keep the puzzle only if a brute force over all 2^n
// assignments finds exactly one consistent with every statement.
#include "task/task.h"

#include <stdio.h>
#include <string.h>

#define KK_MAX 7
static const char *names[KK_MAX] = {"Alice", "Bob", "Carol", "Dave", "Eve", "Frank", "Grace"};

// A statement: IS "p is a knight/knave"; AND / OR of two such literals; SAME "p
// and q are of the same kind".
typedef enum { ST_IS, ST_AND, ST_OR, ST_SAME } StKind;
typedef struct {
    StKind kind;
    int p, q;       // people
    int kp, kq;     // claimed kinds of p, q (1 knight, 0 knave); unused for SAME
} Statement;

static int st_true(const Statement *s, unsigned who) {   // who: bit i = person i is a knight
    int a = (who >> s->p) & 1, b = (who >> s->q) & 1;
    switch (s->kind) {
    case ST_IS: return a == s->kp;
    case ST_AND: return a == s->kp && b == s->kq;
    case ST_OR: return a == s->kp || b == s->kq;
    case ST_SAME: return a == b;
    }
    return 0;
}

static int consistent(const Statement *st, int n, unsigned who) {
    for (int i = 0; i < n; i++)
        if (st_true(&st[i], who) != (int)((who >> i) & 1)) return 0;
    return 1;
}

// "Bob is a knight" / "I am a knave".
static int fmt_literal(char *buf, size_t cap, int speaker, int p, int k) {
    const char *kind = k ? "knight" : "knave";
    return p == speaker ? snprintf(buf, cap, "I am a %s", kind) : snprintf(buf, cap, "%s is a %s", names[p], kind);
}

static void fmt_statement(char *buf, size_t cap, int speaker, const Statement *s) {
    char a[48], b[48];
    fmt_literal(a, sizeof a, speaker, s->p, s->kp);
    fmt_literal(b, sizeof b, speaker, s->q, s->kq);
    switch (s->kind) {
    case ST_IS: snprintf(buf, cap, "%s.", a); break;
    case ST_AND: snprintf(buf, cap, "%s and %s.", a, b); break;
    case ST_OR: snprintf(buf, cap, "%s or %s.", a, b); break;
    case ST_SAME:
        if (s->q == speaker) snprintf(buf, cap, "%s and I are of the same kind.", names[s->p]);
        else snprintf(buf, cap, "%s and %s are of the same kind.", names[s->p], names[s->q]);
        break;
    }
}

static int other(Rng *rng, int n, int not) {
    int v = (int)rng_below(rng, (uint64_t)n - 1);
    return v >= not ? v + 1 : v;
}

// A random statement by `speaker` about the others (literals may name the speaker
// only inside AND/OR/SAME, where they are not self-contradictory by themselves).
static void draw_statement(Rng *rng, int n, int speaker, Statement *s) {
    s->kind = (StKind)rng_below(rng, n >= 3 ? 4 : 2);
    if (n < 3 && s->kind == ST_AND) s->kind = ST_SAME;   // two people: IS or SAME
    s->kp = (int)rng_below(rng, 2);
    s->kq = (int)rng_below(rng, 2);
    if (s->kind == ST_IS) {
        s->p = other(rng, n, speaker);
        s->q = s->p;
        return;
    }
    s->p = (int)rng_below(rng, (uint64_t)n);
    s->q = other(rng, n, s->p);
    if (s->kind == ST_SAME && s->p == speaker) s->p = s->q, s->q = speaker;   // "X and I"
}

int task_make_knights(Rng *rng, int difficulty, Problem *p, char *canon, size_t cap) {
    int n = difficulty + 2;
    if (n > KK_MAX) n = KK_MAX;
    unsigned truth = (unsigned)rng_below(rng, 1u << n);
    Statement st[KK_MAX];
    for (int i = 0; i < n; i++) {
        int tries = 0;
        do draw_statement(rng, n, i, &st[i]);
        while (st_true(&st[i], truth) != (int)((truth >> i) & 1) && ++tries < 64);
        if (tries >= 64) return -1;
    }
    int solutions = 0;
    for (unsigned who = 0; who < (1u << n); who++) solutions += consistent(st, n, who);
    if (solutions != 1) return -1;

    char *w = p->prompt;
    size_t room = sizeof p->prompt;
    int k = snprintf(w, room,
                     "A very special island is inhabited only by knights and knaves. Knights always tell the "
                     "truth, and knaves always lie. You meet %d inhabitants: ", n);
    for (int i = 0; i < n; i++)
        k += snprintf(w + k, room - (size_t)k, "%s%s", names[i], i == n - 1 ? ". " : i == n - 2 ? " and " : ", ");
    int c = 0;
    for (int i = 0; i < n; i++) {
        char s[160];
        fmt_statement(s, sizeof s, i, &st[i]);
        k += snprintf(w + k, room - (size_t)k, "%s says: \"%s\" ", names[i], s);
        c += snprintf(canon + c, cap - (size_t)c, "%d:%s|", i, s);
    }
    char example[KK_MAX + 1];
    for (int i = 0; i < n; i++) {
        example[i] = i % 2 ? 'N' : 'K';
        p->answer[i] = (truth >> i) & 1 ? 'K' : 'N';
    }
    example[n] = p->answer[n] = 0;
    snprintf(w + k, room - (size_t)k,
             "Who is a knight and who is a knave? Answer with one letter per inhabitant in the order they "
             "were introduced, K for knight and N for knave (for example %s).",
             example);
    return 0;
}
