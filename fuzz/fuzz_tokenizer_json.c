// libFuzzer target for the tokenizer.json loader: any bytes must load or fail with a
// message, never crash or leak; a tokenizer that loads must encode and decode a fixed
// text (and the fuzz input itself) without fault.
#include "base/err.h"
#include "tok/tokenizer.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    Tokenizer *tok = tok_load_mem((const char *)data, size, NULL, 0, "fuzz.json");
    if (!tok) {
        if (!err_msg()[0]) abort();   // a failure must say why
        return 0;
    }
    static const char text[] = "Hello <|im_end|> wörld 12345\n\t  \xF0\x9F\x98\x80 \xFF";
    const char *inputs[] = {text, (const char *)data};
    size_t lens[] = {sizeof text - 1, size < 512 ? size : 512};
    for (int k = 0; k < 2; k++) {
        int *ids, n;
        if (tok_encode(tok, inputs[k], lens[k], &ids, &n) == 0) {
            size_t len;
            free(tok_decode(tok, ids, n, &len));
            free(ids);
        }
    }
    tok_free(tok);
    return 0;
}
