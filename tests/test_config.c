// config.json parsing and writing: real-world shaped configs of each family,
// defaults, save -> load identity, and every refusal naming the field.
#include "test.h"

#include "base/err.h"
#include "base/fileio.h"
#include "model/io.h"

#include <string.h>
#include <unistd.h>

static const char *QWEN2 =
    "{\"architectures\":[\"Qwen2ForCausalLM\"],\"attention_dropout\":0.0,\"bos_token_id\":151643,"
    "\"eos_token_id\":151643,\"hidden_act\":\"silu\",\"hidden_size\":896,\"initializer_range\":0.02,"
    "\"intermediate_size\":4864,\"max_position_embeddings\":32768,\"max_window_layers\":21,"
    "\"model_type\":\"qwen2\",\"num_attention_heads\":14,\"num_hidden_layers\":24,\"num_key_value_heads\":2,"
    "\"rms_norm_eps\":1e-06,\"rope_scaling\":null,\"rope_theta\":1000000.0,\"sliding_window\":32768,"
    "\"tie_word_embeddings\":true,\"torch_dtype\":\"bfloat16\",\"use_cache\":true,\"use_sliding_window\":false,"
    "\"vocab_size\":151936}";

static const char *QWEN3 =
    "{\"architectures\":[\"Qwen3ForCausalLM\"],\"attention_bias\":false,\"bos_token_id\":151643,"
    "\"eos_token_id\":[151645,151643],\"head_dim\":128,\"hidden_act\":\"silu\",\"hidden_size\":1024,"
    "\"intermediate_size\":3072,\"max_position_embeddings\":40960,\"model_type\":\"qwen3\","
    "\"num_attention_heads\":16,\"num_hidden_layers\":28,\"num_key_value_heads\":8,\"rms_norm_eps\":1e-06,"
    "\"rope_scaling\":null,\"rope_theta\":1000000,\"tie_word_embeddings\":true,\"vocab_size\":151936}";

static const char *LLAMA_MIN =
    "{\"model_type\":\"llama\",\"vocab_size\":100,\"hidden_size\":32,\"num_hidden_layers\":2,"
    "\"num_attention_heads\":4,\"intermediate_size\":64}";

static void test_families(void) {
    ModelConfig c;
    CHECK(model_config_parse(&c, QWEN2, "q2/config.json") == 0, "%s", err_msg());
    CHECK(strcmp(c.model_type, "qwen2") == 0 && strcmp(c.architecture, "Qwen2ForCausalLM") == 0);
    CHECK(c.vocab_size == 151936 && c.hidden_size == 896 && c.n_layers == 24 && c.n_heads == 14);
    CHECK(c.n_kv_heads == 2 && c.head_dim == 64 && c.intermediate_size == 4864 && c.max_position == 32768);
    CHECK(c.rope_theta == 1e6 && c.rms_eps == 1e-6 && c.tie_embeddings == 1 && c.attn_bias == 1 && c.qk_norm == 0);
    CHECK(c.bos_token_id == 151643 && c.n_eos == 1 && c.eos_token_ids[0] == 151643);

    CHECK(model_config_parse(&c, QWEN3, "q3/config.json") == 0, "%s", err_msg());
    CHECK(c.head_dim == 128 && c.n_heads * c.head_dim != c.hidden_size, "explicit head_dim kept");
    CHECK(c.qk_norm == 1 && c.attn_bias == 0 && c.n_eos == 2 && c.eos_token_ids[1] == 151643);

    CHECK(model_config_parse(&c, LLAMA_MIN, "l/config.json") == 0, "%s", err_msg());
    CHECK(c.n_kv_heads == 4 && c.head_dim == 8 && c.rope_theta == 10000 && c.rms_eps == 1e-6);
    CHECK(c.tie_embeddings == 0 && c.attn_bias == 0 && c.bos_token_id == -1 && c.n_eos == 0);
    CHECK(c.max_position == 2048 && strcmp(c.architecture, "LlamaForCausalLM") == 0);
}

static void test_save_load(const char *dir) {
    const char *texts[] = {QWEN2, QWEN3, LLAMA_MIN};
    char path[600];
    snprintf(path, sizeof path, "%s/config.json", dir);
    for (int i = 0; i < 3; i++) {
        ModelConfig a, b;
        CHECK(model_config_parse(&a, texts[i], "in") == 0, "%s", err_msg());
        CHECK(model_config_save_dtype(&a, path, ST_BF16) == 0, "%s", err_msg());
        CHECK(model_config_load(&b, dir) == 0, "%s", err_msg());
        CHECK(memcmp(&a, &b, sizeof a) == 0, "config %d: save -> load changes it", i);
        char *t = file_read_all(path, NULL);
        CHECK(t && strstr(t, "\"torch_dtype\":\t\"bfloat16\"") && strstr(t, "\"rope_scaling\":\tnull"), "%s", t);
        free(t);
    }
    ModelConfig a;
    CHECK(model_config_parse(&a, LLAMA_MIN, "in") == 0);
    a.attn_bias = 1;
    CHECK(model_config_save(&a, path) == -1 && strstr(err_msg(), "attn_bias"), "%s", err_msg());
}

// Insert `field` into the minimal llama config and expect a refusal naming needle.
static void expect_bad(const char *field, const char *needle) {
    char text[1024];
    snprintf(text, sizeof text, "{%s%s%s", field, *field ? "," : "", LLAMA_MIN + 1);
    ModelConfig c;
    int rc = model_config_parse(&c, text, "m/config.json");
    CHECK(rc == -1, "accepted %s", field);
    CHECK(rc == 0 || (strstr(err_msg(), "m/config.json") && strstr(err_msg(), needle)), "'%s' lacks '%s'",
          err_msg(), needle);
}

static void test_refusals(void) {
    expect_bad("\"rope_scaling\":{\"rope_type\":\"yarn\",\"factor\":8}", "rope_scaling");
    expect_bad("\"rope_scaling\":{\"type\":\"linear\",\"factor\":2}", "linear");
    expect_bad("\"rope_scaling\":{\"rope_type\":\"llama3\",\"factor\":8}", "low_freq_factor");
    expect_bad("\"rope_scaling\":{\"rope_type\":\"llama3\",\"factor\":8,\"low_freq_factor\":4,"
               "\"high_freq_factor\":1,\"original_max_position_embeddings\":8192}", "high_freq_factor");
    expect_bad("\"rope_parameters\":{\"rope_type\":\"yarn\"}", "rope_parameters");
    expect_bad("\"mlp_bias\":true", "mlp_bias");
    expect_bad("\"attention_bias\":true", "attention_bias");
    expect_bad("\"hidden_act\":\"gelu\"", "hidden_act");
    expect_bad("\"use_sliding_window\":true", "use_sliding_window");
    expect_bad("\"num_key_value_heads\":3", "num_key_value_heads");
    expect_bad("\"head_dim\":7", "head_dim");
    expect_bad("\"eos_token_id\":[1,\"x\"]", "eos_token_id");
    expect_bad("\"bos_token_id\":-3", "bos_token_id");
    expect_bad("\"rms_norm_eps\":\"small\"", "rms_norm_eps");
    expect_bad("\"tie_word_embeddings\":1", "tie_word_embeddings");
    expect_bad("\"architectures\":\"Llama\"", "architectures");
    ModelConfig c;
    CHECK(model_config_parse(&c, "{\"model_type\":\"gpt2\"}", "m/config.json") == -1 &&
              strstr(err_msg(), "model_type") && strstr(err_msg(), "gpt2"),
          "%s", err_msg());
    CHECK(model_config_parse(&c, "{\"model_type\":\"llama\",\"vocab_size\":10}", "m/config.json") == -1 &&
              strstr(err_msg(), "hidden_size"),
          "%s", err_msg());
    CHECK(model_config_parse(&c, "{\"model_type\":\"llama\",", "m/config.json") == -1 &&
              strstr(err_msg(), "not valid JSON"),
          "%s", err_msg());
    CHECK(model_config_parse(&c,
                             "{\"model_type\":\"llama\",\"vocab_size\":10,\"hidden_size\":30,\"num_hidden_layers\":1,"
                             "\"num_attention_heads\":4,\"intermediate_size\":8}",
                             "m/config.json") == -1 &&
              strstr(err_msg(), "head_dim"),
          "%s", err_msg());
    CHECK(model_config_parse(&c, "{\"model_type\":\"llama\",\"vocab_size\":0,\"hidden_size\":32,"
                             "\"num_hidden_layers\":1,\"num_attention_heads\":4,\"intermediate_size\":8}",
                             "m/config.json") == -1 &&
              strstr(err_msg(), "vocab_size"),
          "%s", err_msg());
    CHECK(model_config_load(&c, "/nonexistent/dir/config.json") == -1 && strstr(err_msg(), "/nonexistent"));
    // Sizes whose products overflow are refused at parse time, naming the file and the fields.
    expect_bad("\"num_attention_heads\":40000,\"num_key_value_heads\":40000,\"head_dim\":100000",
               "num_attention_heads (40000) x head_dim (100000) is too large");
    expect_bad("\"vocab_size\":2000000000,\"hidden_size\":2000000000,\"head_dim\":8",
               "vocab_size 2000000000, hidden_size 2000000000");
    expect_bad("\"num_hidden_layers\":256,\"hidden_size\":2147483646,\"intermediate_size\":2147483647,\"head_dim\":8",
               "more than 1099511627776 parameters");
}

// Llama 3.2 1B's rope: values computed with transformers' llama3 formula
// (torch, float64) — 0 and 14 high-frequency (kept), 15..17 blended, 18+ divided.
static const char *LLAMA32 =
    "{\"architectures\":[\"LlamaForCausalLM\"],\"model_type\":\"llama\",\"vocab_size\":128256,"
    "\"hidden_size\":2048,\"intermediate_size\":8192,\"num_hidden_layers\":16,\"num_attention_heads\":32,"
    "\"num_key_value_heads\":8,\"head_dim\":64,\"max_position_embeddings\":131072,\"rms_norm_eps\":1e-05,"
    "\"rope_theta\":500000.0,\"rope_scaling\":{\"factor\":32.0,\"high_freq_factor\":4.0,\"low_freq_factor\":1.0,"
    "\"original_max_position_embeddings\":8192,\"rope_type\":\"llama3\"},\"tie_word_embeddings\":true,"
    "\"bos_token_id\":128000,\"eos_token_id\":[128001,128008,128009],\"mlp_bias\":false,\"attention_bias\":false}";

static void test_llama3_rope(const char *dir) {
    ModelConfig c, back;
    CHECK(model_config_parse(&c, LLAMA32, "l32") == 0, "%s", err_msg());
    CHECK(c.rope_factor == 32 && c.rope_low_freq_factor == 1 && c.rope_high_freq_factor == 4 &&
          c.rope_original_max_position == 8192 && c.n_eos == 3);
    double f[32];
    model_rope_inv_freq(&c, f);
    static const struct { int i; double v; } want[] = {
        {0, 1.0}, {1, 0.6636012376960885}, {14, 0.0032114459947525913}, {15, 0.0012905479282092638},
        {16, 0.00042955679655936815}, {17, 9.70828780262767e-05}, {18, 1.9461638184831125e-05},
        {31, 9.418306725434909e-08}};
    for (size_t k = 0; k < sizeof want / sizeof want[0]; k++) CHECK_CLOSE(f[want[k].i], want[k].v, 1e-12, 0);
    char path[600];
    snprintf(path, sizeof path, "%s/config.json", dir);
    CHECK(model_config_save(&c, path) == 0 && model_config_load(&back, path) == 0, "%s", err_msg());
    CHECK(memcmp(&c, &back, sizeof c) == 0, "llama3 rope scaling survives save -> load");
}

static void test_inv_freq(void) {
    ModelConfig c;
    AHA_ASSERT(model_config_parse(&c, QWEN3, "q3") == 0);
    double f[64];
    model_rope_inv_freq(&c, f);
    CHECK(f[0] == 1.0);
    CHECK_CLOSE(f[1], 1.0 / pow(1e6, 2.0 / 128), 1e-15, 0);
    CHECK_CLOSE(f[63], 1.0 / pow(1e6, 126.0 / 128), 1e-15, 0);
}

int main(void) {
    char dir[256];
    snprintf(dir, sizeof dir, "%s/aha-cfg-%d", getenv("TEST_TMP") ? getenv("TEST_TMP") : "/tmp", (int)getpid());
    AHA_ASSERT(mkdir_p(dir) == 0);
    test_families();
    test_save_load(dir);
    test_refusals();
    test_inv_freq();
    test_llama3_rope(dir);
    char p[300];
    snprintf(p, sizeof p, "%s/config.json", dir);
    unlink(p);
    rmdir(dir);
    return TEST_END();
}
